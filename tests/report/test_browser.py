"""The report page in a real browser: offline, error-free, drawn, right, and filterable.

Debian's Chromium driven by Playwright opens the page written by
``telelake report --html`` for the known lake of ``conftest.py`` from a
``file://`` URL. Vega draws every chart as SVG; each mark carries an
``aria-label`` ("field: value; ...") naming what it shows, which is what the
tests read back. Those numbers are checked against the lake's hand-counted
facts and against the SQL of each report, never against the page's own data.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from telelake.analytics.engine import Engine
from telelake.analytics.reports import get_report, run_report
from telelake.config import load_settings
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.lake.local import LocalStore
from telelake.report.build import render_lake

EVIL = '<script>alert("x")</script>'
# Every spelling of the two people of the pseudonymised lake: first and last
# names and @handles.
REAL_NAMES = ("Alessandra", "Wonderly", "alessa_w", "Bartholomew", "bart_h")
# The charts about a person (on a person's page they show that person) and the
# charts of the whole chat (hidden there), for the reports the known lake fills.
PERSON_CHARTS = {
    "messages_per_user_per_day", "top_posters", "reply_pairs:network", "reply_pairs:answers",
    "reply_pairs:answered_by", "response_times", "conversations:starters", "people",
    "person_activity",
}  # fmt: skip
WHOLE_CHAT_CHARTS = {
    "messages_per_day", "messages_per_hour_weekday_week", "daily_active_users",
    "messages_by_content_type", "activity_heatmap", "replies_and_threads",
    "replies_and_threads:wait", "conversations", "longest_silences", "engagement",
    "engagement:stickiness", "retention_cohorts", "edits",
}  # fmt: skip


def watch(page: Any) -> tuple[list[str], list[str]]:
    """The URLs ``page`` requests and its console errors and warnings, as they happen."""
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return requests, errors


@pytest.fixture(scope="module")
def page_file(report_lake: Path) -> Path:
    target = report_lake / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "telelake", "report", "--lake", str(report_lake),
         "--html", str(target), "--quiet"],
        capture_output=True, text=True, timeout=60, cwd=report_lake,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture(scope="module")
def opened(chromium: Any, page_file: Path) -> Iterator[tuple[Any, list[str], list[str]]]:
    """The page, the URLs it requested and its console errors, at desktop width."""
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    requests, errors = watch(page)
    page.goto(page_file.as_uri())
    page.wait_for_selector("body[data-rendered]")
    yield page, requests, errors
    page.close()


def kpi(page: Any, name: str) -> int:
    return int(page.get_attribute(f'#kpis .kpi[data-kpi="{name}"]', "data-value"))


def marks(page: Any, chart: str) -> list[dict[str, str]]:
    """What each drawn mark of ``chart`` says it shows: its aria-label as a dict."""
    labels = page.eval_on_selector_all(
        f'.chart[data-chart="{chart}"] svg [aria-roledescription]:not(g)',
        "items => items.map(item => item.getAttribute('aria-label'))",
    )
    out = []
    for label in labels:
        fields = (part.split(": ", 1) for part in label.split("; "))
        out.append({key: value for key, value in fields})
    return out


def bars(page: Any, chart: str, category: str, value: str) -> dict[str, int]:
    return {mark[category]: int(mark[value].replace(",", "")) for mark in marks(page, chart)}


def per_day(page: Any) -> dict[str, int]:
    """The bars of the messages-per-day chart, by ISO day."""
    found = bars(page, "messages_per_day", "context_date (year-month-date)", "messages")
    return {datetime.strptime(day, "%b %d, %Y").date().isoformat(): n for day, n in found.items()}


def sql_rows(lake: Path, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with Engine(str(lake / "enriched")) as engine:
        result = run_report(engine, get_report(name))
    return result.columns, result.rows


def choose_person(page: Any, typed: str) -> None:
    page.fill("#person", typed)
    page.dispatch_event("#person", "change")


def test_page_loads_offline_without_errors(opened: Any, page_file: Path) -> None:
    page, requests, errors = opened
    assert requests == [page_file.as_uri()]
    assert errors == []
    assert page.title() == "telelake report"
    options = [o.text_content() for o in page.query_selector_all("#chat option")]
    assert options == ["All chats", "Alpha <b>&", "Beta"]  # by messages, titles as typed


def test_an_empty_lake_gives_a_quiet_page(chromium: Any, tmp_path: Path) -> None:
    page_file = tmp_path / "empty.html"
    page_file.write_text(
        render_lake(load_settings(overrides={"lake": str(tmp_path)}, env={})), encoding="utf-8"
    )
    page = chromium.new_page()
    _, errors = watch(page)
    try:
        page.goto(page_file.as_uri())
        page.wait_for_selector('body[data-rendered="empty"]')
        assert errors == []
        assert "The lake has no messages yet." in page.inner_text("main")
    finally:
        page.close()


def test_every_chart_is_drawn_with_a_size(opened: Any) -> None:
    page, _, _ = opened
    charts = page.query_selector_all(".chart[data-chart]")
    names = [chart.get_attribute("data-chart") for chart in charts]
    # The four original reports come first; a report with no rows (joins,
    # reactions, terms in this lake) has no chart box, only "No rows yet."
    assert names[:3] == [
        "messages_per_day",
        "messages_per_user_per_day",
        "messages_per_hour_weekday_week",
    ]
    assert set(names) == PERSON_CHARTS | WHOLE_CHAT_CHARTS
    for chart in charts:
        name = chart.get_attribute("data-chart")
        svgs = chart.query_selector_all("svg.marks")
        assert len(svgs) == 1, name
        box = svgs[0].bounding_box()
        assert box["width"] > 100 and box["height"] > 20, name
        assert marks(page, name) or name == "reply_pairs:network", name  # something is drawn
    assert "No rows yet." in page.inner_text('section[data-report="members_joined_left"]')


def test_numbers_shown_are_the_lakes(opened: Any, report_lake: Path) -> None:
    page, _, _ = opened
    # Counted by hand from the lake (conftest): 4 on the 6th, none on the 7th, 3 on the 8th.
    assert kpi(page, "messages") == 7
    assert kpi(page, "days") == 2
    assert kpi(page, "replies") == 1
    assert per_day(page) == {"2024-05-06": 4, "2024-05-08": 3}
    # ... and equal to what the SQL of each report returns.
    _, daily = sql_rows(report_lake, "messages_per_day")
    assert {str(day): n for day, n in daily} == per_day(page)
    table = page.query_selector_all('.table[data-report="messages_per_day"] tbody tr')
    shown = [tuple(td.text_content() for td in row.query_selector_all("td")) for row in table]
    assert shown == [(str(day), str(n)) for day, n in daily]

    posters = bars(page, "top_posters", "user_name", "messages")
    assert posters == {EVIL: 3, "张伟": 3, "O'Brien": 1}  # names shown as typed, not run
    columns, top = sql_rows(report_lake, "top_posters")
    totals: Counter[str] = Counter()
    for row in top:
        record = dict(zip(columns, row, strict=True))
        totals[record["user_first_name"]] += record["messages"]
    assert posters == dict(totals)

    cells = {
        (int(m["weekday"]), int(m["hour"])): int(m["messages"])
        for m in marks(page, "activity_heatmap")
    }
    assert cells == {
        (1, 9): 2, (1, 18): 1, (1, 20): 1, (3, 9): 1, (3, 10): 1, (3, 23): 1,
    }  # fmt: skip
    # The name holding a script tag is text in an SVG <text>, never markup.
    labels = page.eval_on_selector_all(
        '.chart[data-chart="top_posters"] svg text', "ts => ts.map(t => t.textContent)"
    )
    assert EVIL in labels
    assert page.evaluate("() => typeof window.alert_called") == "undefined"
    assert page.query_selector("main script") is None


def test_chat_and_date_selectors_change_what_is_shown(opened: Any) -> None:
    page, _, _ = opened
    try:
        page.select_option("#chat", str(-100))
        page.wait_for_selector('body[data-rendered^="-100 "]')
        assert kpi(page, "messages") == 5
        assert bars(page, "top_posters", "user_name", "messages") == {EVIL: 3, "张伟": 2}
        page.fill("#from", "2024-05-08")
        page.dispatch_event("#from", "change")
        page.wait_for_selector('body[data-rendered="-100 2024-05-08 2024-05-08 everyone"]')
        assert kpi(page, "messages") == 2
        assert bars(page, "top_posters", "user_name", "messages") == {"张伟": 2}
        # The original per-day report covers all chats; the date range applies.
        assert per_day(page) == {"2024-05-08": 3}
        page.click("#reset")
        page.select_option("#chat", "all")
        page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08 everyone"]')
        assert kpi(page, "messages") == 7
        assert per_day(page) == {"2024-05-06": 4, "2024-05-08": 3}
    finally:
        page.select_option("#chat", "all")
        page.click("#reset")
        page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08 everyone"]')


def test_dragging_across_a_time_chart_zooms_in(opened: Any) -> None:
    page, _, _ = opened
    # The plot area of the per-day bars (Vega's frame background) spans
    # 2024-05-06 00:00 to 2024-05-09 00:00 UTC: three days.
    plot = page.query_selector('.chart[data-chart="messages_per_day"] svg path.background')
    box = plot.bounding_box()
    y = box["y"] + box["height"] - 5  # low, where the bars of both days are
    page.mouse.move(box["x"] + box["width"] * 0.15, y)  # over the first day's bar
    page.wait_for_function("() => document.getElementById('tip').textContent.includes('May 06')")
    assert "May 06, 2024" in page.inner_text("#tip")  # hover shows the day and its value
    assert "messages: 4" in page.inner_text("#tip")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=4)  # into the second day
    page.mouse.up()
    page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-07 everyone"]')
    assert kpi(page, "messages") == 4
    assert per_day(page) == {"2024-05-06": 4}
    page.click("#reset")
    page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08 everyone"]')
    assert kpi(page, "messages") == 7


def test_the_network_view_joins_who_answers_whom(opened: Any) -> None:
    page, _, errors = opened
    # By hand (conftest): the only reply is 张伟's message 4 answering message 3
    # of the script-tag name, so two people, one pair; O'Brien answered no one.
    chart = '.chart[data-chart="reply_pairs:network"]'
    nodes = page.eval_on_selector_all(
        f"{chart} .mark-symbol.people path",
        "ps => ps.map(p => p.getAttribute('transform'))",
    )
    labels = page.eval_on_selector_all(
        f"{chart} .mark-text text",
        "ts => ts.map(t => [t.textContent, t.getAttribute('transform')])",
    )
    edges = page.eval_on_selector_all(
        f"{chart} .mark-path path", "ps => ps.map(p => p.getAttribute('d'))"
    )
    assert len(nodes) == 2 and len(labels) == 2 and len(edges) == 1

    def point(text: str) -> tuple[float, float]:
        x, y = re.findall(r"-?[\d.]+(?:e-?\d+)?", text)[:2]
        return round(float(x), 1), round(float(y), 1)

    # Each name sits 10 px above its node; long names are cut with an ellipsis.
    where: dict[str, tuple[float, float]] = {}
    for text, transform in labels:
        x, y = point(transform)
        person = "张伟" if text == "张伟" else EVIL if EVIL.startswith(text.rstrip("…")) else text
        where[person] = (x, round(y + 10, 1))
    assert set(where) == {"张伟", EVIL}
    assert sorted(where.values()) == sorted(point(node) for node in nodes)
    # The one line joins exactly those two people.
    ends = re.fullmatch(r"M([^L]+)L(.+)", edges[0])
    assert ends is not None
    assert {point(ends.group(1)), point(ends.group(2))} == set(where.values())
    # A chat with no replies (Beta) has no network.
    try:
        page.select_option("#chat", str(-200))
        page.wait_for_selector('body[data-rendered^="-200 "]')
        assert page.inner_text(chart).endswith("No data in this range.")
        assert page.query_selector(f"{chart} svg") is None
    finally:
        page.select_option("#chat", "all")
        page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08 everyone"]')
    assert errors == []


def test_a_persons_page_shows_that_person_everywhere(opened: Any) -> None:
    page, _, errors = opened
    try:
        choose_person(page, "张伟")  # user 2
        page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08 2"]')
        card = page.query_selector("#person-card")
        assert card.is_visible()
        assert card.query_selector("h2").text_content() == "张伟"
        facts = {
            tile.get_attribute("data-fact"): tile.query_selector("b").text_content()
            for tile in card.query_selector_all(".kpi[data-fact]")
        }
        # By hand: 1 message in Beta on the 6th, 2 in Alpha on the 8th, the
        # first a reply to message 3 (6th 18:00 -> 8th 09:15: 39 h 15 min =
        # 2,355 minutes); nobody answered them.
        assert facts == {
            "messages": "3", "replies sent": "1", "replies received": "0",
            "reactions received": "0", "first message": "2024-05-06",
            "last message": "2024-05-08", "median minutes to answer": "2,355",
        }  # fmt: skip
        assert "Alpha <b>&" in card.inner_text() and "Beta" in card.inner_text()

        shown = {
            box.get_attribute("data-chart")
            for box in page.query_selector_all(".chart[data-chart]")
            if box.is_visible()
        }
        assert shown == PERSON_CHARTS
        for name in WHOLE_CHAT_CHARTS:
            assert not page.is_visible(f'.chart[data-chart="{name}"]'), name
        assert bars(page, "top_posters", "user_name", "messages") == {"张伟": 3}
        assert bars(page, "messages_per_user_per_day", "user_name", "messages") == {"张伟": 3}
        assert bars(page, "person_activity", "week of", "messages") == {"May 06, 2024": 3}
        assert bars(page, "response_times", "user_name", "median seconds to answer") == {
            "张伟": 39 * 3600 + 15 * 60
        }
        # Whom they answer, and who answers them: nobody.
        assert bars(page, "reply_pairs:answers", "replied_to_user_name", "replies") == {EVIL: 1}
        assert page.inner_text('.chart[data-chart="reply_pairs:answered_by"]').endswith(
            "No data in this range."
        )
        # The headline numbers stay the whole lake's.
        assert kpi(page, "messages") == 7
        # Another person, picked by "name (id)" from the list.
        choose_person(page, "O'Brien (3)")
        page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08 3"]')
        assert bars(page, "top_posters", "user_name", "messages") == {"O'Brien": 1}
        assert page.inner_text('.chart[data-chart="reply_pairs:network"]').endswith(
            "No data in this range."
        )
        page.click("#everyone")
        page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08 everyone"]')
        assert not page.is_visible("#person-card")
        assert page.is_visible('.chart[data-chart="messages_per_day"]')
    finally:
        if page.is_visible("#everyone"):
            page.click("#everyone")
        page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08 everyone"]')
    assert errors == []


def test_a_pseudonymised_lake_shows_no_names_anywhere(chromium: Any, tmp_path: Path) -> None:
    settings = load_settings(
        {"lake": str(tmp_path), "pseudonymize": True, "pseudonym_key": "k" * 32}, env={}
    )
    ingestor = Ingestor(settings, LocalStore(settings.raw_url))
    chat = {"id": -1001, "type": "supergroup", "title": "Book club"}
    people = [
        {"id": 11, "is_bot": False, "first_name": "Alessandra", "last_name": "Wonderly",
         "username": "alessa_w"},
        {"id": 12, "is_bot": False, "first_name": "Bartholomew", "username": "bart_h"},
    ]  # fmt: skip
    sent = 1714989600  # 2024-05-06 10:00 UTC
    for n in range(6):
        text = "hi @alessa_w, Bartholomew here" if n == 3 else f"message {n}"
        message: dict[str, Any] = {"message_id": n + 1, "from": people[n % 2], "chat": chat,
                                   "date": sent + 60 * n, "text": text}  # fmt: skip
        if n == 3:
            message["entities"] = [{"type": "mention", "offset": 3, "length": 9}]
        if n:
            message["reply_to_message"] = {"message_id": n, "chat": chat, "date": sent}
        ingestor.accept(orjson.dumps({"update_id": n + 1, "message": message}))
    reaction = {"chat": chat, "message_id": 4, "user": people[0], "date": sent + 600,
                "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}  # fmt: skip
    ingestor.accept(orjson.dumps({"update_id": 50, "message_reaction": reaction}))
    run(Layers.open(settings), workers=1)
    html = render_lake(settings)
    for name in REAL_NAMES:
        assert name not in html, name
    page_file = tmp_path / "report.html"
    page_file.write_text(html, encoding="utf-8")
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    _, errors = watch(page)
    try:
        page.goto(page_file.as_uri())
        page.wait_for_selector("body[data-rendered]")
        shown = page.inner_text("body")
        for name in REAL_NAMES:
            assert name not in shown, name
        names = page.eval_on_selector_all(
            '.chart[data-chart="reply_pairs:network"] .mark-text text',
            "nodes => nodes.map(n => n.textContent)",
        )
        assert len(names) == 2 and all(n.startswith("user-") for n in names)
        assert errors == []
    finally:
        page.close()


def test_a_phone_sees_the_page_without_sideways_scrolling(chromium: Any, page_file: Path) -> None:
    page = chromium.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=1)
    _, errors = watch(page)
    try:
        page.goto(page_file.as_uri())
        page.wait_for_selector("body[data-rendered]")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        box = page.query_selector('.chart[data-chart="messages_per_day"] svg.marks').bounding_box()
        assert 250 < box["width"] <= 375
        assert errors == []
    finally:
        page.close()


def test_screenshot_is_not_blank(opened: Any, png_spread: Any) -> None:
    page, _, _ = opened
    shot = page.query_selector('section[data-report="messages_per_day"]').screenshot()
    width, height, variance, colours = png_spread(shot)
    assert width > 300 and height > 200
    assert variance > 50 and colours > 5

"""The report page in a real browser: offline, error-free, drawn, right, and filterable.

Debian's Chromium driven by Playwright opens the page written by
``telelake report --html`` for the known lake of ``conftest.py`` from a
``file://`` URL. The numbers read back from the page are checked against the
lake's hand-counted facts and against the SQL of each report.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telelake.analytics.engine import Engine
from telelake.analytics.reports import get_report, run_report
from telelake.config import load_settings
from telelake.report.build import render_lake

EVIL = '<script>alert("x")</script>'


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
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(page_file.as_uri())
    page.wait_for_selector("body[data-rendered]")
    yield page, requests, errors
    page.close()


def kpi(page: Any, name: str) -> int:
    return int(page.get_attribute(f'.kpi[data-kpi="{name}"]', "data-value"))


def bars(page: Any, chart: str) -> dict[str, int]:
    return {
        rect.get_attribute("data-day"): int(rect.get_attribute("data-value"))
        for rect in page.query_selector_all(f'.chart[data-chart="{chart}"] rect[data-day]')
    }


def sql_rows(lake: Path, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with Engine(str(lake / "enriched")) as engine:
        result = run_report(engine, get_report(name))
    return result.columns, result.rows


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
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
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
    # the four original reports' two charts and heatmap, then activity, types,
    # posters, local heatmap, replies (two); no joins or reactions in this lake
    names = [chart.get_attribute("data-chart") for chart in charts]
    assert names[:3] == [
        "messages_per_day",
        "messages_per_user_per_day",
        "messages_per_hour_weekday_week",
    ]
    assert len(names) == 9
    for chart in charts:
        box = chart.query_selector("svg").bounding_box()
        assert box["width"] > 100 and box["height"] > 20, chart.get_attribute("data-chart")


def test_numbers_shown_are_the_lakes(opened: Any, report_lake: Path) -> None:
    page, _, _ = opened
    # Counted by hand from the lake (conftest): 4 on the 6th, none on the 7th, 3 on the 8th.
    assert kpi(page, "messages") == 7
    assert bars(page, "messages_per_day") == {"2024-05-06": 4, "2024-05-07": 0, "2024-05-08": 3}
    # ... and equal to what the SQL of each report returns.
    _, per_day = sql_rows(report_lake, "messages_per_day")
    assert {str(day): n for day, n in per_day} == {
        d: n for d, n in bars(page, "messages_per_day").items() if n
    }
    table = page.query_selector_all('.table[data-report="messages_per_day"] tbody tr')
    shown = [tuple(td.text_content() for td in row.query_selector_all("td")) for row in table]
    assert shown == [(str(day), str(n)) for day, n in per_day]

    posters = {
        rect.get_attribute("data-label"): int(rect.get_attribute("data-value"))
        for rect in page.query_selector_all('.chart[data-chart="top_posters"] rect')
    }
    assert posters == {EVIL: 3, "张伟": 3, "O'Brien": 1}  # names shown as typed, not run
    columns, top = sql_rows(report_lake, "top_posters")
    totals: Counter[str] = Counter()
    for row in top:
        record = dict(zip(columns, row, strict=True))
        totals[record["user_first_name"]] += record["messages"]
    assert posters == dict(totals)

    cells = {
        (int(c.get_attribute("data-weekday")), int(c.get_attribute("data-hour"))): int(
            c.get_attribute("data-value")
        )
        for c in page.query_selector_all('.chart[data-chart="activity_heatmap"] rect.cell')
    }
    assert len(cells) == 7 * 24
    assert {key: n for key, n in cells.items() if n} == {
        (1, 9): 2, (1, 18): 1, (1, 20): 1, (3, 9): 1, (3, 10): 1, (3, 23): 1,
    }  # fmt: skip
    assert page.evaluate("() => typeof window.alert_called") == "undefined"


def test_chat_and_date_selectors_change_what_is_shown(opened: Any) -> None:
    page, _, _ = opened
    try:
        page.select_option("#chat", str(-100))
        page.wait_for_selector('body[data-rendered^="-100 "]')
        assert kpi(page, "messages") == 5
        page.fill("#from", "2024-05-08")
        page.dispatch_event("#from", "change")
        page.wait_for_selector('body[data-rendered="-100 2024-05-08 2024-05-08"]')
        assert kpi(page, "messages") == 2
        # The original per-day report covers all chats; the date range applies.
        assert bars(page, "messages_per_day") == {"2024-05-08": 3}
        page.click("#reset")
        page.select_option("#chat", "all")
        page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08"]')
        assert kpi(page, "messages") == 7
    finally:
        page.select_option("#chat", "all")
        page.click("#reset")


def test_dragging_across_a_time_chart_zooms_in(opened: Any) -> None:
    page, _, _ = opened
    overlay = page.query_selector('.chart[data-chart="messages_per_day"] rect.overlay')
    box = overlay.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)  # over the first day
    assert "2024-05-06" in page.inner_text("#tip")  # hover shows the day's value
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=4)  # to the second day
    page.mouse.up()
    page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-07"]')
    assert kpi(page, "messages") == 4
    page.click("#reset")
    page.wait_for_selector('body[data-rendered="all 2024-05-06 2024-05-08"]')


def test_a_phone_sees_the_page_without_sideways_scrolling(chromium: Any, page_file: Path) -> None:
    page = chromium.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=1)
    try:
        page.goto(page_file.as_uri())
        page.wait_for_selector("body[data-rendered]")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        box = page.query_selector('.chart[data-chart="messages_per_day"] svg').bounding_box()
        assert 250 < box["width"] <= 375
    finally:
        page.close()


def test_screenshot_is_not_blank(opened: Any, png_spread: Any) -> None:
    page, _, _ = opened
    shot = page.query_selector('section[data-report="messages_per_day"]').screenshot()
    width, height, variance, colours = png_spread(shot)
    assert width > 300 and height > 200
    assert variance > 50 and colours > 5

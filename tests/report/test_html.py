"""The HTML page: self-contained, escaped, well-formed, its CSP naming exactly its own code."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from telelake.analytics.engine import Engine, Result
from telelake.analytics.reports import REPORTS, Report, get_report, run_report
from telelake.errors import UsageError
from telelake.lake import tables
from telelake.report import dataset
from telelake.report.html import asset, render_html, write_html

EVIL = '<script>alert("x")</script>'
QUOTED = 'O\'Brien "Bob" & co'
CJK = "张伟 😀"

VOID = {"meta", "br", "img", "link", "input", "hr", "area", "base", "col", "source", "wbr"}


class StrictParser(HTMLParser):
    """Records tags and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> StrictParser:
    parser = StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


def sections(name: str = EVIL) -> list[tuple[Report, Result]]:
    day1, day2 = date(2024, 1, 7), date(2024, 1, 9)
    return [
        (
            get_report("messages_per_day"),
            Result(["context_date", "message_amount"], [(day2, 5), (day1, 3)]),
        ),
        (
            get_report("messages_per_user_per_day"),
            Result(
                ["user_id", "user_first_name", "context_date", "message_amount"],
                [(1, name, day2, 4), (2, QUOTED, day2, 1), (3, CJK, day1, 3)],
            ),
        ),
        (
            get_report("average_length_per_user_per_day"),
            Result(
                ["user_id", "user_first_name", "context_date", "average_message_length"],
                [(1, name, day2, 12), (2, QUOTED, day2, None)],
            ),
        ),
        (
            get_report("messages_per_hour_weekday_week"),
            Result(
                [
                    "parsed_date_hour",
                    "parsed_date_weekday",
                    "parsed_date_weeknum",
                    "message_amount",
                ],
                [(10, 7, 1, 2), (0, 1, 2, 6)],
            ),
        ),
    ]


def blocks(page: str, tag: str) -> list[tuple[str, str]]:
    """(attributes, content) of every ``<tag>`` element, content byte for byte."""
    return re.findall(rf"<{tag}([^>]*)>(.*?)</{tag}>", page, re.S)


def payload(page: str) -> dict:
    [(_, text)] = [b for b in blocks(page, "script") if 'id="telelake-data"' in b[0]]
    return json.loads(text)


def rows_of(entry: dict) -> list[list]:
    """A report's rows from the page's columns (a list, or distinct values and indexes)."""
    columns = [col if isinstance(col, list) else [col["d"][i] for i in col["i"]]
               for col in entry["data"]]  # fmt: skip
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_page_is_well_formed_with_a_section_per_report() -> None:
    page = render_html(sections(), title="Group <report>", subtitle="since 2024")
    parser = parse(page)
    assert page.startswith("<!DOCTYPE html>")
    assert (
        "meta",
        {"name": "viewport", "content": "width=device-width, initial-scale=1"},
    ) in parser.starts
    found = [
        a["data-report"] for tag, a in parser.starts if "data-report" in a and tag == "section"
    ]
    assert found == [report.name for report in REPORTS[:4]]
    charts = [attrs.get("data-chart") for tag, attrs in parser.starts if tag == "div"]
    assert [c for c in charts if c] == [
        "messages_per_day",
        "messages_per_user_per_day",
        "messages_per_hour_weekday_week",
    ]  # the averages are a table
    assert "Group <report>" in "".join(parser.text)  # the title, escaped then decoded


def test_csp_allows_exactly_the_pages_own_style_and_script() -> None:
    page = render_html(sections(), title="t")
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    [(_, style)] = blocks(page, "style")
    code = [text for attrs, text in blocks(page, "script") if "application/json" not in attrs]
    assert len(code) == 1
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == sha(style)
    assert directives["script-src"] == sha(code[0])
    assert "unsafe" not in policy and "http" not in policy and "data:" not in policy


def test_nothing_is_loaded_from_anywhere() -> None:
    page = render_html(sections(), title="t")
    parser = parse(page)
    for tag, attrs in parser.starts:
        assert tag not in {"link", "img", "iframe", "object", "embed"}
        assert tag != "script" or "src" not in attrs
        for key in ("src", "href", "xlink:href", "action"):
            value = attrs.get(key) or ""
            assert not re.match(r"\s*(https?:|//|data:|javascript:)", value, re.I), (tag, value)
    # Vega's own SVG references (clip paths: url(#id)) stay in the document.
    outside_runtime = page.replace(asset("vega.min.js"), "")
    assert "url(" not in outside_runtime and "@import" not in outside_runtime
    # The page's own script; the Vega runtime (which can load data and compile
    # expressions) is held by the CSP: no connect-src, no 'unsafe-eval' (test_browser.py
    # checks that the page makes no request and logs no error).
    code = asset("report.js")
    for risky in ("fetch(", "XMLHttpRequest", "WebSocket", "innerHTML", "eval(", "Function(",
                  "import(", "sendBeacon", "document.write"):  # fmt: skip
        assert risky not in code, risky


def test_user_text_is_escaped_everywhere() -> None:
    page = render_html(sections(), title="t")
    # Outside the one script of the page, no markup from the lake survives.
    assert page.lower().count("<script") == 2
    data = next(text for attrs, text in blocks(page, "script") if "application/json" in attrs)
    assert "<" not in data and ">" not in data and "&" not in data
    rows = rows_of(payload(page)["reports"]["messages_per_user_per_day"])
    assert {row[1] for row in rows} == {EVIL, QUOTED, CJK}  # the data keeps names as typed


def test_chat_titles_are_escaped_in_the_selector() -> None:
    chats = Result(
        ["chat_id", "chat_title", "chat_type", "messages", "posters", "first_day", "last_day"],
        [(-100, EVIL, "group", 3, 1, date(2024, 1, 7), date(2024, 1, 7)), (-200, None, "x", 1, 1,
         date(2024, 1, 7), date(2024, 1, 7))],
    )  # fmt: skip
    page = render_html([(get_report("chats"), chats)], title="t")
    options = [a for tag, a in parse(page).starts if tag == "option"]
    assert [o["value"] for o in options] == ["all", "-100", "-200"]
    assert '<option value="-100">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</option>' in page
    assert ">chat -200</option>" in page


def test_payload_holds_the_rows_and_the_date_range() -> None:
    page = render_html(sections(), title="t", timezone="America/Sao_Paulo")
    data = payload(page)
    assert data["first_day"] == "2024-01-07" and data["last_day"] == "2024-01-09"
    assert data["timezone"] == "America/Sao_Paulo"
    per_day = data["reports"]["messages_per_day"]
    assert per_day["columns"] == ["context_date", "message_amount"]
    assert rows_of(per_day) == [["2024-01-09", 5], ["2024-01-07", 3]]
    assert per_day["cut"] is False


def test_per_user_rows_are_bounded_to_the_top_users(monkeypatch: pytest.MonkeyPatch) -> None:
    day = date(2024, 1, 7)
    # user i wrote i messages: the 25 busiest are users 76..100
    per_user = Result(
        ["user_id", "user_first_name", "context_date", "message_amount"],
        [(i, f"u{i}", day, i) for i in range(1, 101)],
    )
    lengths = Result(
        ["user_id", "user_first_name", "context_date", "average_message_length"],
        [(i, f"u{i}", day, 10) for i in range(1, 101)],
    )
    data = dataset.build_payload(
        [(get_report("messages_per_user_per_day"), per_user),
         (get_report("average_length_per_user_per_day"), lengths)]
    )  # fmt: skip
    for name in dataset.USER_REPORTS:
        kept = data["reports"][name]
        assert sorted(row[0] for row in rows_of(kept)) == list(range(76, 101))
        assert kept["cut"] is True and kept["total_rows"] == 100
    monkeypatch.setattr(dataset, "MAX_PAGE_ROWS", 2)
    many = Result(["context_date", "message_amount"], [(date(2024, 1, d), d) for d in (1, 3, 2)])
    cut = dataset.build_payload([(get_report("messages_per_day"), many)])
    assert rows_of(cut["reports"]["messages_per_day"]) == [["2024-01-03", 3], ["2024-01-02", 2]]
    assert cut["reports"]["messages_per_day"]["cut"] is True


def test_sql_is_shown_escaped_in_details() -> None:
    page = render_html(sections(), title="t")
    text = "".join(parse(page).text)
    for report, _ in sections():
        assert report.sql in text


def test_empty_results_render_without_charts() -> None:
    empty = [(report, Result(["x"], [])) for report in REPORTS]
    page = render_html(empty, title="t")
    parser = parse(page)
    assert not [a for tag, a in parser.starts if tag == "div" and "data-chart" in a]
    assert page.count("No rows yet.") == len(REPORTS)
    assert "The lake has no messages yet." in page


def test_write_html_replaces_the_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    write_html(target, "<p>新しい</p>")
    assert target.read_text(encoding="utf-8") == "<p>新しい</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temp file left
    with pytest.raises(UsageError):
        write_html(tmp_path / "missing" / "report.html", "x")


def test_a_lake_with_hostile_names_renders_safely(tmp_path: Path) -> None:
    rows = [
        {"message_id": 1, "user_id": 1, "user_first_name": EVIL, "text": "hi", "date": 1704621600,
         "chat_id": -1, "chat_title": EVIL},
        {"message_id": 2, "user_id": 2, "user_first_name": QUOTED, "text": "yo",
         "date": 1704673800, "chat_id": -1, "chat_title": QUOTED},
    ]  # fmt: skip
    for day, chunk in (("2024-01-07", rows[:1]), ("2024-01-08", rows[1:])):
        folder = tmp_path / "telegram" / f"context_date={day}"
        folder.mkdir(parents=True)
        columns = {
            field.name: pa.array([row.get(field.name) for row in chunk], type=field.type)
            for field in tables.arrow_schema(tables.MESSAGES)
        }
        pq.write_table(
            pa.table(columns, schema=tables.arrow_schema(tables.MESSAGES)),
            folder / "part-00000.parquet",
        )
    with Engine(str(tmp_path)) as engine:
        page = render_html([(r, run_report(engine, r)) for r in REPORTS], title="Lake")
    parse(page)
    assert page.lower().count("<script") == 2
    rows = rows_of(payload(page)["reports"]["messages_per_user_per_day"])
    assert EVIL in {row[1] for row in rows}


@given(names=st.lists(st.text(), min_size=1, max_size=5))
def test_any_name_survives_the_json_block_unchanged(names: list[str]) -> None:
    result = Result(
        ["user_id", "user_first_name", "context_date", "message_amount"],
        [(i, name, date(2024, 1, 7), 1) for i, name in enumerate(names)],
    )
    text = dataset.script_json(
        dataset.build_payload([(get_report("messages_per_user_per_day"), result)])
    )
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    rows = rows_of(json.loads(text)["reports"]["messages_per_user_per_day"])
    assert [row[1] for row in rows] == names

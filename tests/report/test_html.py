"""The HTML report: one self-contained, escaped, well-formed page with a chart per report."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telelake.analytics.engine import Engine, Result
from telelake.analytics.reports import REPORTS, Report, get_report, run_report
from telelake.errors import UsageError
from telelake.etl import schema
from telelake.report.html import render_html, write_html

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


def test_page_is_well_formed_and_has_one_svg_per_chart() -> None:
    page = render_html(sections(), title="Group <report>", subtitle="since 2024")
    parser = parse(page)
    tags = [tag for tag, _ in parser.starts]
    assert page.startswith("<!DOCTYPE html>")
    assert tags.count("svg") == 3  # per day, top users, heatmap; the averages are a table
    assert tags.count("details") == 4 and tags.count("table") == 4
    assert (
        "meta",
        {"name": "viewport", "content": "width=device-width, initial-scale=1"},
    ) in parser.starts
    assert "Group <report>" in "".join(parser.text)  # the title, escaped then decoded


def test_nothing_is_loaded_from_anywhere() -> None:
    page = render_html(sections(), title="t")
    parser = parse(page)
    for tag, attrs in parser.starts:
        assert tag not in {"script", "link", "img", "iframe", "object", "embed"}
        for key in ("src", "href", "xlink:href", "action"):
            value = attrs.get(key) or ""
            assert not re.match(r"\s*(https?:|//|data:|javascript:)", value, re.I), (tag, value)
    assert "url(" not in page and "@import" not in page
    assert "default-src 'none'" in page


def test_user_text_is_escaped_everywhere() -> None:
    page = render_html(sections(), title="t")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "O&#x27;Brien &quot;Bob&quot; &amp; co" in page
    assert CJK in page
    text = "".join(parse(page).text)
    assert EVIL in text and QUOTED in text  # shown to the reader as typed


def test_charts_carry_the_numbers() -> None:
    page = render_html(sections(), title="t")
    text = "".join(parse(page).text)
    # Days without messages are drawn as empty bars between the first and last day.
    assert "2024-01-07: 3 messages" in text
    assert "2024-01-08: 0 messages" in text
    assert "2024-01-09: 5 messages" in text
    assert f"{EVIL}: 4 messages" in text  # top users, full name in the tooltip
    assert "Sun 10:00-10:59 UTC: 2 messages" in text
    assert "Mon 00:00-00:59 UTC: 6 messages" in text
    assert "Mon 10:00-10:59 UTC: 0 messages" in text


def test_sql_is_shown_escaped_in_details() -> None:
    page = render_html(sections(), title="t")
    text = "".join(parse(page).text)
    for report in REPORTS:
        assert report.sql in text


def test_long_results_are_cut_and_say_so() -> None:
    many = Result(["context_date", "message_amount"], [(date(2024, 1, d), d) for d in range(1, 31)])
    page = render_html([(get_report("messages_per_day"), many)], title="t", max_rows=10)
    assert "first 10 of 30 rows" in page
    assert page.count("<tr>") == 11  # header + 10


def test_empty_results_render_without_charts() -> None:
    empty = [(report, Result(["x"], [])) for report in REPORTS]
    page = render_html(empty, title="t")
    parse(page)
    assert "<svg" not in page
    assert page.count("No rows yet.") == 4


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
        {"message_id": 1, "user_id": 1, "user_first_name": EVIL, "text": "hi", "date": 1704621600},
        {
            "message_id": 2,
            "user_id": 2,
            "user_first_name": QUOTED,
            "text": "yo",
            "date": 1704673800,
        },
    ]
    for day, chunk in (("2024-01-07", rows[:1]), ("2024-01-08", rows[1:])):
        folder = tmp_path / "telegram" / f"context_date={day}"
        folder.mkdir(parents=True)
        columns = {
            field.name: pa.array([row.get(field.name) for row in chunk], type=field.type)
            for field in schema.MESSAGES_SCHEMA
        }
        pq.write_table(
            pa.table(columns, schema=schema.MESSAGES_SCHEMA), folder / "part-00000.parquet"
        )
    with Engine(str(tmp_path)) as engine:
        page = render_html([(r, run_report(engine, r)) for r in REPORTS], title="Lake")
    parser = parse(page)
    assert "<script" not in page.lower()
    assert EVIL in "".join(parser.text)
    assert [tag for tag, _ in parser.starts].count("svg") == 3

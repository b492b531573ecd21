"""Output formats: CSV parses back (RFC 4180), JSON lines parse, the table shows data as data."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telelake.analytics.engine import Engine, Result
from telelake.analytics.output import write_result
from telelake.errors import UsageError

TRICKY = 'comma, "quote" and\nnewline\r\nand CRLF'

RESULT = Result(
    columns=["id", "name", "day", "at", "tags", "ok", "ratio"],
    rows=[
        (1, TRICKY, date(2024, 1, 7), datetime(2024, 1, 7, 10, 0), ["a", "b,c"], True, 2.5),
        (2, None, None, None, None, None, None),
        (3, "张伟 😀", date(2024, 1, 8), datetime(2024, 1, 8, 0, 30, 15), [], False, -0.125),
    ],
)


def render(result: Result, fmt: str, max_rows: int | None = None, width: int = 200) -> str:
    out = io.StringIO(newline="")
    write_result(result, fmt, out, max_rows, width=width)
    return out.getvalue()


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_has_a_header_crlf_line_ends_and_null_as_empty() -> None:
    text = render(RESULT, "csv")
    assert parse_csv(text) == [
        ["id", "name", "day", "at", "tags", "ok", "ratio"],
        ["1", TRICKY, "2024-01-07", "2024-01-07 10:00:00", '["a","b,c"]', "true", "2.5"],
        ["2", "", "", "", "", "", ""],
        ["3", "张伟 😀", "2024-01-08", "2024-01-08 00:30:15", "[]", "false", "-0.125"],
    ]
    assert text.startswith("id,name,day,at,tags,ok,ratio\r\n")
    assert text.endswith("\r\n")
    assert "2,,,,,,\r\n" in text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(
            st.text(alphabet=st.characters(exclude_characters="\x00")) | st.none(),
            min_size=3,
            max_size=3,
        ),
        max_size=5,
    )
)
def test_csv_round_trips_any_text(rows: list[list[str | None]]) -> None:
    result = Result(columns=["a", "b", "c"], rows=[tuple(row) for row in rows])
    parsed = parse_csv(render(result, "csv"))
    assert parsed[0] == ["a", "b", "c"]
    assert parsed[1:] == [["" if value is None else value for value in row] for row in rows]


def test_json_lines_parse_with_iso_dates_exact_decimals_and_arrays() -> None:
    result = Result(
        columns=["day", "at", "utc", "amount", "tags", "big", "nan", "name", "name"],
        rows=[
            (
                date(2024, 1, 7),
                datetime(2024, 1, 7, 10, 0, 5),
                datetime(2024, 1, 7, 10, 0, tzinfo=UTC),
                Decimal("12345678901234567890.125"),
                ["x", None],
                2**70,
                math.nan,
                TRICKY,
                "second",
            ),
        ],
    )
    lines = render(result, "json").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0], parse_float=Decimal)
    assert record == {
        "day": "2024-01-07",
        "at": "2024-01-07T10:00:05",
        "utc": "2024-01-07T10:00:00+00:00",
        "amount": Decimal("12345678901234567890.125"),
        "tags": ["x", None],
        "big": 2**70,
        "nan": None,
        "name": TRICKY,
        "name_2": "second",
    }


def test_json_of_a_real_query_has_one_object_per_row(tmp_path) -> None:
    with Engine(str(tmp_path)) as engine:
        result = engine.query(
            "SELECT x, DATE '2024-01-01' + CAST(x AS INTEGER) AS d, [x, x + 1] AS l, x / 4 AS q "
            "FROM range(3) AS t(x)"
        )
    records = [json.loads(line) for line in render(result, "json").splitlines()]
    assert records == [
        {"x": 0, "d": "2024-01-01", "l": [0, 1], "q": 0.0},
        {"x": 1, "d": "2024-01-02", "l": [1, 2], "q": 0.25},
        {"x": 2, "d": "2024-01-03", "l": [2, 3], "q": 0.5},
    ]


def test_table_shows_values_null_and_a_row_count() -> None:
    text = render(RESULT, "table")
    for expected in ("name", "2024-01-07", "NULL", "张伟 😀", "true", "3 rows"):
        assert expected in text
    assert text.rstrip().endswith("3 rows")


def test_table_prints_markup_in_data_literally() -> None:
    result = Result(columns=["name"], rows=[("[bold red]x[/bold red]",), (":smile:",)])
    text = render(result, "table")
    assert "[bold red]x[/bold red]" in text
    assert ":smile:" in text
    assert "\x1b[" not in text


def test_max_rows_limits_every_format() -> None:
    assert render(RESULT, "table", max_rows=1).rstrip().endswith("showing 1 of 3 rows")
    assert len(parse_csv(render(RESULT, "csv", max_rows=1))) == 2
    assert len(render(RESULT, "json", max_rows=2).splitlines()) == 2
    assert render(RESULT, "json", max_rows=0) == ""


def test_one_row_is_singular() -> None:
    assert render(Result(columns=["a"], rows=[(1,)]), "table").rstrip().endswith("1 row")


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="table, csv, json"):
        render(RESULT, "xml")

"""The four built-in reports on a hand-made lake return the rows worked out by hand.

The lake (conftest ``sample_lake``):

    2024-01-07 (Sunday, ISO week 1)         2024-01-08 (Monday, ISO week 2)
    1 Ana "hi"     10:00 UTC                4 Bo  "😀é"   00:30 UTC
    2 Ana "hey"    10:30                    5 Ana "abcd"  01:00
    3 Bo  (photo)  23:59:59                 6 Ana "abcde" 01:45
    7 Cy  "x"      12:00
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlglot

from telelake.analytics.engine import Engine, Result
from telelake.analytics.reports import REPORTS, Report, get_report, run_report, sort_rows
from telelake.errors import UsageError

SUN, MON = date(2024, 1, 7), date(2024, 1, 8)

EXPECTED = {
    "messages_per_day": [(MON, 3), (SUN, 4)],
    "messages_per_user_per_day": [
        (1, "Ana", MON, 2),
        (2, "Bo", MON, 1),
        (1, "Ana", SUN, 2),
        (2, "Bo", SUN, 1),
        (3, "Cy", SUN, 1),
    ],
    # Ana: avg(2, 3) = 2.5 -> 3 and avg(4, 5) = 4.5 -> 5 (Trino rounds half away
    # from zero); Bo's Sunday message has no text: avg of nothing is NULL.
    "average_length_per_user_per_day": [
        (1, "Ana", MON, 5),
        (2, "Bo", MON, 2),
        (1, "Ana", SUN, 3),
        (2, "Bo", SUN, None),
        (3, "Cy", SUN, 1),
    ],
    # (hour UTC, ISO weekday, ISO week, messages); Sunday is 7, so week 1's
    # Sunday comes before week 2's Monday.
    "messages_per_hour_weekday_week": [
        (10, 7, 1, 2),
        (12, 7, 1, 1),
        (23, 7, 1, 1),
        (0, 1, 2, 1),
        (1, 1, 2, 2),
    ],
}

# The original design's SQL, as given; the reports must keep it verbatim.
ORIGINAL_SQL = {
    "messages_per_day": 'SELECT context_date, count(1) AS "message_amount" FROM "telegram" '
    "GROUP BY context_date ORDER BY context_date DESC",
    "messages_per_user_per_day": "SELECT user_id, user_first_name, context_date, count(1) AS "
    '"message_amount" FROM "telegram" GROUP BY user_id, user_first_name, context_date '
    "ORDER BY context_date DESC",
    "average_length_per_user_per_day": "SELECT user_id, user_first_name, context_date, "
    'CAST(AVG(length(text)) AS INT) AS "average_message_length" FROM "telegram" '
    "GROUP BY user_id, user_first_name, context_date ORDER BY context_date DESC",
    "messages_per_hour_weekday_week": """
        WITH parsed_date_cte AS (
            SELECT *, CAST(date_format(from_unixtime("date"),'%Y-%m-%d %H:%i:%s') AS timestamp)
            AS parsed_date FROM "telegram"),
        hour_week_cte AS (
            SELECT *, EXTRACT(hour FROM parsed_date) AS parsed_date_hour,
                   EXTRACT(dow FROM parsed_date) AS parsed_date_weekday,
                   EXTRACT(week FROM parsed_date) AS parsed_date_weeknum
            FROM parsed_date_cte)
        SELECT parsed_date_hour, parsed_date_weekday, parsed_date_weeknum,
               count(1) AS "message_amount"
        FROM hour_week_cte
        GROUP BY parsed_date_hour, parsed_date_weekday, parsed_date_weeknum
        ORDER BY parsed_date_weeknum, parsed_date_weekday""",
}


def _words(sql: str) -> list[str]:
    return sql.split()


def test_the_four_reports_exist_in_order() -> None:
    assert [report.name for report in REPORTS] == list(EXPECTED)
    assert all(report.dialect == "athena" for report in REPORTS)


@pytest.mark.parametrize("name", list(ORIGINAL_SQL))
def test_report_sql_is_the_original_verbatim(name: str) -> None:
    assert _words(get_report(name).sql) == _words(ORIGINAL_SQL[name])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_report_returns_the_hand_computed_rows(sample_lake, name: str) -> None:
    with Engine(str(sample_lake.root)) as engine:
        result = run_report(engine, get_report(name))
    assert result.rows == EXPECTED[name]


def test_report_columns_keep_the_original_names(sample_lake) -> None:
    with Engine(str(sample_lake.root)) as engine:
        columns = {r.name: run_report(engine, r).columns for r in REPORTS}
    assert columns == {
        "messages_per_day": ["context_date", "message_amount"],
        "messages_per_user_per_day": [
            "user_id",
            "user_first_name",
            "context_date",
            "message_amount",
        ],
        "average_length_per_user_per_day": [
            "user_id",
            "user_first_name",
            "context_date",
            "average_message_length",
        ],
        "messages_per_hour_weekday_week": [
            "parsed_date_hour",
            "parsed_date_weekday",
            "parsed_date_weeknum",
            "message_amount",
        ],
    }


@pytest.mark.parametrize(
    "name", ["average_length_per_user_per_day", "messages_per_hour_weekday_week"]
)
def test_plain_translation_would_get_these_reports_wrong(sample_lake, name: str) -> None:
    """The lake exercises the Trino/DuckDB differences: translation alone is not enough."""
    report = get_report(name)
    plain = sqlglot.transpile(report.sql, read="athena", write="duckdb")[0]
    with Engine(str(sample_lake.root)) as engine:
        naive = run_report(
            engine, Report(report.name, report.title, plain, "duckdb", report.sort_keys)
        )
    assert naive.rows != EXPECTED[name]


def test_reports_on_an_empty_lake_have_no_rows(tmp_path) -> None:
    with Engine(str(tmp_path)) as engine:
        for report in REPORTS:
            assert run_report(engine, report).rows == []


def test_unknown_report_lists_the_names() -> None:
    with pytest.raises(UsageError) as caught:
        get_report("nope")
    for report in REPORTS:
        assert report.name in str(caught.value)


def test_sort_rows_refines_ties_and_puts_nulls_last() -> None:
    result = Result(
        columns=["day", "user"],
        rows=[(1, "b"), (2, None), (1, None), (2, "a"), (1, "a"), (None, "z")],
    )
    assert sort_rows(result, ("-day", "user")) == [
        (2, "a"),
        (2, None),
        (1, "a"),
        (1, "b"),
        (1, None),
        (None, "z"),
    ]
    assert sort_rows(result, ("missing_column",)) == result.rows

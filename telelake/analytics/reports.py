"""The built-in reports: the original design's four Athena queries, verbatim.

Their SQL is kept exactly as the original design ran it on Athena (only
whitespace differs) and runs through the ``athena`` dialect, so the numbers
are the ones Athena would give on the same lake (DESIGN §6). Queries 2 and 3
order by date only, which leaves rows of the same day in any order; for a
stable display :func:`run_report` refines that order in Python, never
changing the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telelake.analytics.dialect import ATHENA
from telelake.analytics.engine import Engine, Result
from telelake.errors import UsageError


@dataclass(frozen=True)
class Report:
    """A named query; ``sort_keys`` refine the SQL's order (``-`` prefix: descending)."""

    name: str
    title: str
    sql: str
    dialect: str = ATHENA
    sort_keys: tuple[str, ...] = ()


_PER_DAY = """\
SELECT context_date, count(1) AS "message_amount"
FROM "telegram"
GROUP BY context_date
ORDER BY context_date DESC"""

_PER_USER_PER_DAY = """\
SELECT user_id, user_first_name, context_date, count(1) AS "message_amount"
FROM "telegram"
GROUP BY user_id, user_first_name, context_date
ORDER BY context_date DESC"""

_AVERAGE_LENGTH = """\
SELECT user_id, user_first_name, context_date,
       CAST(AVG(length(text)) AS INT) AS "average_message_length"
FROM "telegram"
GROUP BY user_id, user_first_name, context_date
ORDER BY context_date DESC"""

_HOUR_WEEKDAY_WEEK = """\
WITH parsed_date_cte AS (
    SELECT *,
           CAST(date_format(from_unixtime("date"),'%Y-%m-%d %H:%i:%s') AS timestamp) AS parsed_date
    FROM "telegram"),
hour_week_cte AS (
    SELECT *, EXTRACT(hour FROM parsed_date) AS parsed_date_hour,
           EXTRACT(dow FROM parsed_date) AS parsed_date_weekday,
           EXTRACT(week FROM parsed_date) AS parsed_date_weeknum
    FROM parsed_date_cte)
SELECT parsed_date_hour, parsed_date_weekday, parsed_date_weeknum, count(1) AS "message_amount"
FROM hour_week_cte
GROUP BY parsed_date_hour, parsed_date_weekday, parsed_date_weeknum
ORDER BY parsed_date_weeknum, parsed_date_weekday"""

REPORTS: tuple[Report, ...] = (
    Report(
        name="messages_per_day",
        title="Messages per day",
        sql=_PER_DAY,
        sort_keys=("-context_date",),
    ),
    Report(
        name="messages_per_user_per_day",
        title="Messages per user per day",
        sql=_PER_USER_PER_DAY,
        sort_keys=("-context_date", "-message_amount", "user_id", "user_first_name"),
    ),
    Report(
        name="average_length_per_user_per_day",
        title="Average message length per user per day",
        sql=_AVERAGE_LENGTH,
        sort_keys=("-context_date", "user_id", "user_first_name"),
    ),
    Report(
        name="messages_per_hour_weekday_week",
        title="Messages per hour, weekday and week number (UTC)",
        sql=_HOUR_WEEKDAY_WEEK,
        sort_keys=("parsed_date_weeknum", "parsed_date_weekday", "parsed_date_hour"),
    ),
)


def get_report(name: str) -> Report:
    """The built-in report called ``name``; :class:`UsageError` naming the choices."""
    for report in REPORTS:
        if report.name == name:
            return report
    names = ", ".join(report.name for report in REPORTS)
    raise UsageError(f"unknown report {name!r}; choose one of: {names}")


def run_report(engine: Engine, report: Report) -> Result:
    """Run ``report`` and return its rows in a deterministic order."""
    result = engine.query(report.sql, report.dialect)
    return Result(columns=result.columns, rows=sort_rows(result, report.sort_keys))


def sort_rows(result: Result, keys: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows stably sorted by ``keys`` (``-name`` descending), NULLs last as in Trino.

    When ``keys`` start with the SQL's own ORDER BY, this only orders the
    rows the SQL left tied.
    """
    rows = list(result.rows)
    # Stable sorts from the last key to the first give a multi-key sort in
    # which each key keeps its own direction.
    for key in reversed(keys):
        descending = key.startswith("-")
        name = key.lstrip("-")
        if name not in result.columns:
            continue
        index = result.columns.index(name)
        present = [row for row in rows if row[index] is not None]
        missing = [row for row in rows if row[index] is None]
        present.sort(key=lambda row: row[index], reverse=descending)
        rows = present + missing
    return rows

"""The built-in reports: each a named Athena query, runnable here and on Athena.

One module per family of reports (``original``: the original design's four,
first; ``activity``: who is active, when, what, joins, replies, reactions);
this registry puts them in the order people meet them and runs them with a
deterministic row order, which the engine sorts (:func:`sorted_sql`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

from telelake.analytics.engine import Engine, Result
from telelake.analytics.reports import (
    activity,
    engagement,
    feedback,
    interaction,
    membership,
    original,
    people,
    retention,
    text,
)
from telelake.analytics.reports.report import Report
from telelake.errors import UsageError

__all__ = ["REPORTS", "Report", "get_report", "run_report", "sort_rows", "sorted_sql"]

REPORTS: tuple[Report, ...] = (
    *original.REPORTS,
    *activity.REPORTS,
    *interaction.REPORTS,
    *engagement.REPORTS,
    *retention.REPORTS,
    *membership.REPORTS,
    *feedback.REPORTS,
    *people.REPORTS,
    *text.REPORTS,
)


def get_report(name: str) -> Report:
    """The built-in report called ``name``; :class:`UsageError` naming the choices."""
    for report in REPORTS:
        if report.name == name:
            return report
    names = ", ".join(report.name for report in REPORTS)
    raise UsageError(f"unknown report {name!r}; choose one of: {names}")


def run_report(engine: Engine, report: Report) -> Result:
    """Run ``report`` and return its rows in a deterministic order, sorted by the engine."""
    return engine.query(sorted_sql(report), report.dialect)


@lru_cache(maxsize=64)
def sorted_sql(report: Report) -> str:
    """The report's SQL, verbatim, inside a query that orders every row by ``sort_keys``.

    The keys start with the SQL's own ORDER BY, so the outer order only
    breaks the ties the SQL leaves (Trino ignores an ORDER BY in a subquery;
    the outer one decides). NULLs sort last, as in Trino. Keys that are not
    result columns are skipped. Sorting in SQL rather than in Python keeps a
    270k-row report as fast as the query itself.
    """
    parsed = sqlglot.parse_one(report.sql, read=report.dialect)
    names = set(parsed.named_selects) if isinstance(parsed, exp.Query) else set()
    order = [
        f'"{key.lstrip("-")}"{" DESC" if key.startswith("-") else ""} NULLS LAST'
        for key in report.sort_keys
        if key.lstrip("-") in names
    ]
    if not order:
        return report.sql
    return f"SELECT * FROM (\n{report.sql}\n) ORDER BY {', '.join(order)}"


def sort_rows(result: Result, keys: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows stably sorted by ``keys`` (``-name`` descending), NULLs last as in Trino.

    The same order :func:`sorted_sql` asks the engine for, for rows already
    in hand (Python's order of strings is code point order, as Trino's).
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

"""Small enriched lakes written row by row, for reports whose answers are worked out by hand.

A row gives only the columns a test cares about; the rest are NULL, as in
a lake whose messages lack them. Timestamps are derived from ``date`` like
the ETL does (UTC wall time, the lake's zone being UTC).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from telelake.analytics.engine import Engine, Result
from telelake.analytics.reports import get_report, run_report
from telelake.analytics.reports.scope import Scope, scoped
from telelake.lake import tables

_TIMESTAMPS = {"sent_at": "date", "sent_at_local": "date", "changed_at": "date",
               "edited_at": "edit_date"}  # fmt: skip


def at(y: int, mo: int, d: int, h: int = 12, mi: int = 0, s: int = 0) -> int:
    """Unix seconds of a UTC wall time."""
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


def day_of(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def write_lake(enriched: Path, table: str, rows: list[dict[str, Any]]) -> None:
    """``rows`` of ``table``, each in the partition of its ``date`` (or ``context_date``)."""
    schema = tables.arrow_schema(table)
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        full = dict(row)
        for column, source in _TIMESTAMPS.items():
            if column in schema.names and full.get(source) is not None and column not in full:
                full[column] = datetime.fromtimestamp(full[source], UTC).replace(tzinfo=None)
        by_day[full.pop("context_date", None) or day_of(full["date"])].append(full)
    for day, found in by_day.items():
        columns = {
            field.name: pa.array([row.get(field.name) for row in found], type=field.type)
            for field in schema
        }
        folder = enriched / table / f"context_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns, schema=schema), folder / "part-00000.parquet")


def message(chat: int, mid: int, user: int | None, when: int, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"chat_id": chat, "message_id": mid, "user_id": user, "date": when,
                           "update_id": mid, "user_is_bot": False, "content_type": "text",
                           "user_first_name": f"P{user}", "text": f"m{mid}"}  # fmt: skip
    row.update(extra)
    return row


def report_rows(
    enriched: Path, name: str, scope: Scope | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The report's columns and rows (Athena semantics, sorted as ``telelake report`` sorts)."""
    report = get_report(name)
    if scope is not None:
        report = scoped(report, scope)
    with Engine(str(enriched)) as engine:
        result: Result = run_report(engine, report)
    return result.columns, result.rows

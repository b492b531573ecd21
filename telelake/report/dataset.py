"""The numbers the HTML page carries: every report's rows as compact JSON.

The reports already aggregate in SQL (per day and chat at most), so the page
embeds their rows as they are and filters them in the browser. Two of the
original design's reports are per user and per day, which grows with the
lake (hundreds of thousands of rows at a million messages): the page keeps
their rows of the :data:`TOP_USERS` most active users only, and any result is
cut at :data:`MAX_PAGE_ROWS` rows (the latest days kept), saying so on the
page. The JSON is made safe to sit inside a ``<script>`` element: no ``<``
survives, so no text from the lake can close the element.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telelake.analytics.engine import Result
from telelake.analytics.reports import Report

MAX_PAGE_ROWS = 50_000
TOP_USERS = 25
USER_REPORTS = ("messages_per_user_per_day", "average_length_per_user_per_day")
_RANKING_REPORT = "messages_per_user_per_day"


def _plain(value: Any) -> Any:
    """``value`` as a JSON value: dates as ISO text, decimals as numbers."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _column(result: Result, name: str) -> int | None:
    return result.columns.index(name) if name in result.columns else None


def top_users(sections: list[tuple[Report, Result]], limit: int = TOP_USERS) -> set[Any] | None:
    """The ``limit`` users with the most messages in the per-user-per-day report, if run."""
    for report, result in sections:
        if report.name != _RANKING_REPORT:
            continue
        user, amount = _column(result, "user_id"), _column(result, "message_amount")
        if user is None or amount is None:
            return None
        totals: dict[Any, int] = {}
        for row in result.rows:
            totals[row[user]] = totals.get(row[user], 0) + int(row[amount] or 0)
        ranked = sorted(totals.items(), key=lambda item: (-item[1], str(item[0])))
        return {user_id for user_id, _ in ranked[:limit]}
    return None


def _bounded(
    report: Report, result: Result, users: set[Any] | None
) -> tuple[list[tuple[Any, ...]], bool]:
    rows = result.rows
    cut = False
    user = _column(result, "user_id")
    if report.name in USER_REPORTS and users is not None and user is not None:
        kept = [row for row in rows if row[user] in users]
        cut = len(kept) < len(rows)
        rows = kept
    if len(rows) > MAX_PAGE_ROWS:
        day = _column(result, "context_date")
        if day is not None:
            rows = sorted(rows, key=lambda row: str(row[day] or ""), reverse=True)
        rows = rows[:MAX_PAGE_ROWS]
        cut = True
    return rows, cut


def build_payload(
    sections: list[tuple[Report, Result]],
    *,
    timezone: str | None = None,
    table_rows: int = 100,
) -> dict[str, Any]:
    """What the page's script reads: reports by name, the chats, the first and last day."""
    users = top_users(sections)
    reports: dict[str, Any] = {}
    days: set[str] = set()
    chats: dict[Any, list[Any]] = {}
    for report, result in sections:
        rows, cut = _bounded(report, result, users)
        plain_rows = [[_plain(value) for value in row] for row in rows]
        reports[report.name] = {
            "columns": list(result.columns),
            "rows": plain_rows,
            "total_rows": len(result.rows),
            "cut": cut,
        }
        day, chat = _column(result, "context_date"), _column(result, "chat_id")
        if day is not None:
            days.update(str(row[day]) for row in plain_rows if row[day] is not None)
        if chat is not None:
            for row in plain_rows:
                chats.setdefault(row[chat], [row[chat], None, None, 0])
        if report.name == "chats":
            for found in result.rows:
                record = dict(zip(result.columns, found, strict=True))
                chats[record.get("chat_id")] = [
                    _plain(record.get("chat_id")),
                    record.get("chat_title"),
                    record.get("chat_type"),
                    _plain(record.get("messages")),
                ]
    listed = sorted(
        (chat for key, chat in chats.items() if key is not None),
        key=lambda chat: (-(chat[3] or 0), str(chat[0])),
    )
    return {
        "reports": reports,
        "chats": listed,
        "first_day": min(days) if days else None,
        "last_day": max(days) if days else None,
        "timezone": timezone,
        "table_rows": table_rows,
    }


def script_json(payload: dict[str, Any]) -> str:
    """``payload`` as JSON that cannot end its ``<script>`` element early."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # "<" only appears inside JSON strings, where \u003c means the same.
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )

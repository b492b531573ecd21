"""The numbers the HTML page carries: every report's rows as compact JSON, and the charts.

The reports already aggregate in SQL (per day and chat at most), so the page
embeds their rows as they are and filters them in the browser. Two of the
original design's reports are per user and per day, which grows with the
lake (hundreds of thousands of rows at a million messages): the page keeps
their rows of the :data:`TOP_USERS` most active users only; the weekly
activity of each person is kept for the :data:`TOP_PEOPLE` most active; any
result is cut at :data:`MAX_PAGE_ROWS` rows (the latest days kept), saying
so on the page.

Columns are stored one list per column, and a column whose values repeat
(dates, chat ids, names) as a list of distinct values plus one index per
row: the same rows in about half the bytes. The page's script decodes them.

A pseudonymised lake holds no names, but people's text stays (its names
included) and @handles are text: the page of such a lake carries neither
message text nor unresolved @handles, so it shows pseudonyms only.

The JSON is made safe to sit inside a ``<script>`` element: no ``<``
survives, so no text from the lake can close the element.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telelake.analytics.engine import Result
from telelake.analytics.reports import Report
from telelake.report.charts import all_charts, vega_spec

MAX_PAGE_ROWS = 50_000
TOP_USERS = 25
TOP_PEOPLE = 300
USER_REPORTS = ("messages_per_user_per_day", "average_length_per_user_per_day")
# Reports about people, kept on the page for the TOP_PEOPLE most active people
# (every person a row names must be one of them), so a person's page, the
# network and the rankings stay small whatever the group's size.
PEOPLE_REPORTS = (
    "people", "person_activity", "reply_pairs", "mention_pairs", "response_times",
    "top_reacted_authors", "top_inviters",
)  # fmt: skip
# Further caps on a report's rows on the page (its first rows, in the report's order).
ROW_CAPS = {"reply_pairs": 6_000, "mention_pairs": 2_000, "inactive_members": 2_000}
_RANKING_REPORT = "messages_per_user_per_day"
# Columns of people's own words (which hold names: people sign, mention, greet
# each other), left off the page and the images of a pseudonymised lake. A
# report that shows words adds its column here.
TEXT_COLUMNS = (
    "text", "caption", "mentioned_username", "user_username", "term", "terms", "label",
    "most_positive_text", "most_negative_text",
)  # fmt: skip


# JavaScript numbers hold integers exactly up to 2**53; pseudonyms are 63-bit.
_EXACT = 2**53


def plain(value: Any) -> Any:
    """``value`` as a JSON value: dates as ISO text, decimals as numbers, integers a
    browser would round (pseudonymised ids) as text."""
    if isinstance(value, int) and not isinstance(value, bool) and not -_EXACT < value < _EXACT:
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _column(result: Result, name: str) -> int | None:
    return result.columns.index(name) if name in result.columns else None


def _ranked_users(result: Result, amount_column: str, limit: int) -> set[Any] | None:
    user, amount = _column(result, "user_id"), _column(result, amount_column)
    if user is None or amount is None:
        return None
    totals: dict[Any, int] = {}
    for row in result.rows:
        totals[row[user]] = totals.get(row[user], 0) + int(row[amount] or 0)
    ranked = sorted(totals.items(), key=lambda item: (-item[1], str(item[0])))
    return {user_id for user_id, _ in ranked[:limit]}


def top_users(sections: list[tuple[Report, Result]], limit: int = TOP_USERS) -> set[Any] | None:
    """The ``limit`` users with the most messages in the per-user-per-day report, if run."""
    for report, result in sections:
        if report.name == _RANKING_REPORT:
            return _ranked_users(result, "message_amount", limit)
    return None


def _bounded(
    report: Report, result: Result, users: set[Any] | None, people: set[Any] | None
) -> tuple[list[tuple[Any, ...]], bool]:
    rows = result.rows
    cut = False
    user = _column(result, "user_id")
    if report.name in USER_REPORTS and users is not None and user is not None:
        kept = [row for row in rows if row[user] in users]
        cut = len(kept) < len(rows)
        rows = kept
    if report.name in PEOPLE_REPORTS and people is not None:
        columns = [i for i, name in enumerate(result.columns) if name.endswith("user_id")]
        kept = [row for row in rows if all(row[i] is None or row[i] in people for i in columns)]
        cut = len(kept) < len(rows)
        rows = kept
    cap = ROW_CAPS.get(report.name)
    if cap is not None and len(rows) > cap:
        rows, cut = rows[:cap], True
    if len(rows) > MAX_PAGE_ROWS:
        day = _column(result, "context_date")
        if day is not None:
            rows = sorted(rows, key=lambda row: str(row[day] or ""), reverse=True)
        rows = rows[:MAX_PAGE_ROWS]
        cut = True
    return rows, cut


def encode_columns(columns: list[str], rows: list[list[Any]]) -> list[Any]:
    """One entry per column: ``[values]``, or ``{"d": [distinct], "i": [index per row]}``
    when that is shorter (values that repeat)."""
    out: list[Any] = []
    for index, _name in enumerate(columns):
        values = [row[index] for row in rows]
        distinct: dict[str, int] = {}
        codes = []
        for value in values:
            key = json.dumps(value, sort_keys=True)
            codes.append(distinct.setdefault(key, len(distinct)))
        if len(distinct) * 4 < len(values):
            out.append({"d": [json.loads(key) for key in distinct], "i": codes})
        else:
            out.append(values)
    return out


def person_names(sections: list[tuple[Report, Result]]) -> dict[str, str]:
    """user id -> latest known name, from the people report, else any name column."""
    names: dict[str, str] = {}
    for report, result in sections:
        user, name = _column(result, "user_id"), _column(result, "user_first_name")
        if user is None or name is None:
            continue
        for row in result.rows:
            if (
                row[user] is not None
                and row[name]
                and (report.name == "people" or str(row[user]) not in names)
            ):
                names[str(row[user])] = str(row[name])
    return names


def _shown_names(names: dict[str, str], reports: dict[str, Any]) -> dict[str, str]:
    """The names of the people some row on the page names (the rest would be dead weight)."""
    shown: set[str] = set()
    for entry in reports.values():
        for index, column in enumerate(entry["columns"]):
            if column.endswith("user_id"):
                values = entry["data"][index]
                values = values["d"] if isinstance(values, dict) else values
                shown.update(str(v) for v in values if v is not None)
    return {key: name for key, name in names.items() if key in shown}


def chat_titles(sections: list[tuple[Report, Result]]) -> dict[str, str]:
    """chat id -> title, for the chats whose title the chats report knows."""
    return {str(chat[0]): str(chat[1]) for chat in _chats(sections) if chat[1]}


def _chats(sections: list[tuple[Report, Result]]) -> list[list[Any]]:
    chats: dict[Any, list[Any]] = {}
    for report, result in sections:
        chat = _column(result, "chat_id")
        if chat is not None:
            for row in result.rows[:MAX_PAGE_ROWS]:
                chats.setdefault(row[chat], [plain(row[chat]), None, None, 0])
        if report.name == "chats":
            for found in result.rows:
                record = dict(zip(result.columns, found, strict=True))
                chats[record.get("chat_id")] = [
                    plain(record.get("chat_id")),
                    record.get("chat_title"),
                    record.get("chat_type"),
                    plain(record.get("messages")),
                ]
    return sorted(
        (chat for key, chat in chats.items() if key is not None),
        key=lambda chat: (-(chat[3] or 0), str(chat[0])),
    )


def build_payload(
    sections: list[tuple[Report, Result]],
    *,
    timezone: str | None = None,
    table_rows: int = 100,
    pseudonymised: bool = False,
) -> dict[str, Any]:
    """What the page's script reads: reports by name, charts, names, chats, first/last day."""
    users = top_users(sections)
    people = None
    for report, result in sections:
        if report.name == "people":
            people = _ranked_users(result, "messages", TOP_PEOPLE)
    reports: dict[str, Any] = {}
    days: set[str] = set()
    for report, result in sections:
        rows, cut = _bounded(report, result, users, people)
        plain_rows = [[plain(value) for value in row] for row in rows]
        if pseudonymised:
            for index, column in enumerate(result.columns):
                if column in TEXT_COLUMNS:
                    for row in plain_rows:
                        row[index] = None
        reports[report.name] = {
            "columns": list(result.columns),
            "data": encode_columns(list(result.columns), plain_rows),
            "length": len(plain_rows),
            "total_rows": len(result.rows),
            "cut": cut,
        }
        day = _column(result, "context_date")
        if day is not None:
            days.update(str(row[day]) for row in plain_rows if row[day] is not None)
    shown = {report.name for report, _ in sections}
    charts = {
        chart.key: {
            "report": chart.report,
            "vega": vega_spec(chart, "page"),
            "person": list(chart.person),
            "zoom": chart.zoom,
        }
        for chart in all_charts()
        if chart.report in shown
    }
    return {
        "reports": reports,
        "charts": charts,
        "names": _shown_names(person_names(sections), reports),
        "chats": _chats(sections),
        "first_day": min(days) if days else None,
        "last_day": max(days) if days else None,
        "timezone": timezone,
        "table_rows": table_rows,
        "pseudonymised": pseudonymised,
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

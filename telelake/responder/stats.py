"""The numbers the bot posts, as SQL over the live lake: one function per answer.

Definitions (the README's "What the bot posts" says them to people):

- a period is ``today`` (since local midnight), ``week`` (the last 7 local
  days, today included) or ``month`` (the last 30), ending at the command;
  the period before is as long and ends at the same wall time that many days
  earlier, so "today until 16:05" compares with "yesterday until 16:05";
- messages: rows of ``telegram`` (one per message people wrote; service
  messages are elsewhere) sent in the period, by their send time;
- posters: distinct senders that are not bots (anonymous admins and channels
  post as bots); top posters and ranks count the same people;
- busiest hour: the local hour with most messages (ties: the earliest);
- new members: ``new_chat_members`` events, bots excluded.

Every query filters on one chat and on ``date`` (Unix seconds); the session
holds only the days the answer needs (:mod:`telelake.responder.live`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from telelake.lake.tables import MESSAGES, SERVICE, TABLES

PERIODS = {"today": 1, "week": 7, "month": 30}
DEFAULT_PERIOD = "week"
TERMS = "telegram_terms"
TOP = 3

# Columns each answer reads, per table (the live lake reads no more).
WANTED: dict[str, Sequence[str]] = {
    MESSAGES: (
        "user_id", "user_is_bot", "user_first_name", "user_last_name", "chat_id",
        "chat_title", "date", "sent_at_local",
    ),
    SERVICE: ("chat_id", "event", "member_is_bot", "date"),
}  # fmt: skip
_HUMAN = "user_id IS NOT NULL AND NOT coalesce(user_is_bot, false)"


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in Unix seconds, and the local days it touches."""

    start: int
    end: int
    first_day: date
    last_day: date

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(count)]


def _window(start: datetime, end: datetime, zone: ZoneInfo) -> Window:
    return Window(
        int(start.timestamp()),
        int(end.timestamp()),
        start.astimezone(zone).date(),
        (end - timedelta(seconds=1)).astimezone(zone).date(),
    )


def period_windows(period: str, now: datetime, zone: ZoneInfo) -> tuple[Window, Window]:
    """The period ending at ``now`` and the one before it (same length, same wall time)."""
    days = PERIODS[period]
    local = now.astimezone(zone)
    first = local.date() - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tzinfo=zone)
    # Same-zone arithmetic is wall-clock arithmetic: 16:05 minus 7 days is 16:05.
    before_end = (local - timedelta(days=days)).replace(fold=0)
    before_start = datetime.combine(first - timedelta(days=days), time(0), tzinfo=zone)
    end = now + timedelta(seconds=1)
    return _window(start, end, zone), _window(before_start, before_end, zone)


def day_windows(last: date, days: int, zone: ZoneInfo) -> tuple[Window, Window]:
    """Whole local days ``last - days + 1 .. last``, and as many days before (digests)."""
    first = last - timedelta(days=days - 1)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone)

    current = _window(midnight(first), midnight(last + timedelta(days=1)), zone)
    before = _window(midnight(first - timedelta(days=days)), midnight(first), zone)
    return current, before


@dataclass(frozen=True)
class Poster:
    user_id: int
    name: str | None
    messages: int


@dataclass
class Summary:
    """What ``/stats`` and a digest say about one chat and one period."""

    messages: int = 0
    posters: int = 0
    previous_messages: int = 0
    previous_posters: int = 0
    top: list[Poster] = field(default_factory=list)
    busiest_hour: int | None = None
    busiest_count: int = 0
    new_members: int = 0
    title: str | None = None
    # (label, messages): per local hour for one day, per day otherwise
    series: list[tuple[str, int]] = field(default_factory=list)


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> tuple[Any, ...]:
    row = con.execute(sql, list(params)).fetchone()
    return tuple(row) if row is not None else ()


def counts(con: duckdb.DuckDBPyConnection, chat_id: int, window: Window) -> tuple[int, int]:
    """(messages, posters) of a chat in a window."""
    row = _one(
        con,
        f"SELECT count(*), count(DISTINCT CASE WHEN {_HUMAN} THEN user_id END) "
        f"FROM {MESSAGES} WHERE chat_id = ? AND date >= ? AND date < ?",
        (chat_id, window.start, window.end),
    )
    return int(row[0]), int(row[1])


def posters(
    con: duckdb.DuckDBPyConnection, chat_id: int, window: Window, limit: int | None, names: bool
) -> list[Poster]:
    """People by messages (most first; ties by id), with their latest name when ``names``."""
    rows = con.execute(
        "SELECT user_id, arg_max(user_first_name, date), arg_max(user_last_name, date), "
        f"count(*) AS n FROM {MESSAGES} WHERE chat_id = ? AND date >= ? AND date < ? "
        f"AND {_HUMAN} GROUP BY user_id ORDER BY n DESC, user_id"
        + (f" LIMIT {int(limit)}" if limit is not None else ""),
        [chat_id, window.start, window.end],
    ).fetchall()
    return [
        Poster(int(r[0]), " ".join(p for p in (r[1], r[2]) if p) or None if names else None, r[3])
        for r in rows
    ]


def busiest_hour(
    con: duckdb.DuckDBPyConnection, chat_id: int, window: Window, user_id: int | None = None
) -> tuple[int | None, int]:
    """The local hour with most messages, and how many (ties: the earliest hour)."""
    who = "AND user_id = ?" if user_id is not None else ""
    params: list[Any] = [chat_id, window.start, window.end]
    if user_id is not None:
        params.append(user_id)
    row = _one(
        con,
        f"SELECT hour(sent_at_local) AS h, count(*) AS n FROM {MESSAGES} "
        f"WHERE chat_id = ? AND date >= ? AND date < ? {who} GROUP BY h ORDER BY n DESC, h LIMIT 1",
        params,
    )
    return (int(row[0]), int(row[1])) if row else (None, 0)


def series(con: duckdb.DuckDBPyConnection, chat_id: int, window: Window) -> list[tuple[str, int]]:
    """Messages per local hour (a one-day window) or per local day, zeros included."""
    if window.first_day == window.last_day:
        rows = con.execute(
            f"SELECT hour(sent_at_local), count(*) FROM {MESSAGES} "
            "WHERE chat_id = ? AND date >= ? AND date < ? GROUP BY 1",
            [chat_id, window.start, window.end],
        ).fetchall()
        hours = {int(h): int(n) for h, n in rows}
        return [(f"{h:02d}", hours.get(h, 0)) for h in range(24)]
    rows = con.execute(
        f"SELECT context_date, count(*) FROM {MESSAGES} "
        "WHERE chat_id = ? AND date >= ? AND date < ? GROUP BY 1",
        [chat_id, window.start, window.end],
    ).fetchall()
    per_day = {d: int(n) for d, n in rows}
    return [(d.isoformat(), per_day.get(d, 0)) for d in window.days]


def new_members(con: duckdb.DuckDBPyConnection, chat_id: int, window: Window) -> int:
    row = _one(
        con,
        f"SELECT count(*) FROM {SERVICE} WHERE chat_id = ? AND event = 'new_chat_members' "
        "AND NOT coalesce(member_is_bot, false) AND date >= ? AND date < ?",
        (chat_id, window.start, window.end),
    )
    return int(row[0])


def title(con: duckdb.DuckDBPyConnection, chat_id: int) -> str | None:
    row = _one(
        con, f"SELECT arg_max(chat_title, date) FROM {MESSAGES} WHERE chat_id = ?", (chat_id,)
    )
    return str(row[0]) if row and row[0] else None


def summary(
    con: duckdb.DuckDBPyConnection, chat_id: int, current: Window, before: Window, names: bool
) -> Summary:
    """Everything ``/stats`` and the digests say about one chat."""
    result = Summary()
    result.messages, result.posters = counts(con, chat_id, current)
    result.previous_messages, result.previous_posters = counts(con, chat_id, before)
    result.top = posters(con, chat_id, current, TOP, names)
    result.busiest_hour, result.busiest_count = busiest_hour(con, chat_id, current)
    result.new_members = new_members(con, chat_id, current)
    result.series = series(con, chat_id, current)
    result.title = title(con, chat_id)
    return result


@dataclass
class Mine:
    """What ``/me`` says about one person in one chat."""

    messages: int = 0
    rank: int | None = None
    posters: int = 0
    chat_messages: int = 0
    busiest_hour: int | None = None
    days_active: int = 0
    title: str | None = None


def mine(con: duckdb.DuckDBPyConnection, chat_id: int, user_id: int, window: Window) -> Mine:
    """One person's numbers in a chat; ``rank`` 1 is the most active (ties share a rank)."""
    result = Mine()
    result.chat_messages, result.posters = counts(con, chat_id, window)
    everyone = posters(con, chat_id, window, None, names=False)
    own = next((p for p in everyone if p.user_id == user_id), None)
    if own is not None:
        result.messages = own.messages
        result.rank = 1 + sum(1 for p in everyone if p.messages > own.messages)
        result.busiest_hour, _ = busiest_hour(con, chat_id, window, user_id)
        row = _one(
            con,
            f"SELECT count(DISTINCT context_date) FROM {MESSAGES} "
            "WHERE chat_id = ? AND user_id = ? AND date >= ? AND date < ?",
            (chat_id, user_id, window.start, window.end),
        )
        result.days_active = int(row[0])
    result.title = title(con, chat_id)
    return result


def my_chats(con: duckdb.DuckDBPyConnection, user_id: int, window: Window) -> list[int]:
    """The groups a person posted in during the window, most messages first."""
    rows = con.execute(
        f"SELECT chat_id, count(*) AS n FROM {MESSAGES} WHERE user_id = ? AND chat_id < 0 "
        "AND date >= ? AND date < ? GROUP BY chat_id ORDER BY n DESC, chat_id LIMIT 5",
        [user_id, window.start, window.end],
    ).fetchall()
    return [int(r[0]) for r in rows]


def words_available() -> bool:
    """Whether this telelake builds the terms table ("What the group talks about")."""
    return TERMS in TABLES


# The kinds of ``telegram_terms`` that /words lists, and how many of each. Mentions
# are left out: they are people's handles, and /words never names anyone.
WORD_KINDS = {"word": 10, "emoji": 5, "hashtag": 5, "domain": 3}


def words(
    con: duckdb.DuckDBPyConnection,
    chat_id: int,
    window: Window,
    min_people: int = 1,
) -> dict[str, list[tuple[str, int]]]:
    """The chat's most used terms of each kind in :data:`WORD_KINDS`, over the window's days
    (the terms table has no time of day), each used by at least ``min_people`` people.

    Ranked as the ``top_terms`` report ranks them (uses, then the term), so the chat
    and the page agree."""
    kinds = ", ".join(f"'{kind}'" for kind in WORD_KINDS)
    rows = con.execute(
        "SELECT kind, term, uses, term_rank FROM (SELECT kind, term, sum(n) AS uses, "
        "row_number() OVER (PARTITION BY kind ORDER BY sum(n) DESC, term) AS term_rank "
        f"FROM {TERMS} WHERE chat_id = ? AND kind IN ({kinds}) "
        "AND context_date BETWEEN ? AND ? GROUP BY kind, term "
        "HAVING count(DISTINCT user_id) >= ?) ORDER BY kind, term_rank",
        [chat_id, window.first_day, window.last_day, min_people],
    ).fetchall()
    found: dict[str, list[tuple[str, int]]] = {kind: [] for kind in WORD_KINDS}
    for kind, term, uses, rank in rows:
        if rank <= WORD_KINDS[kind]:
            found[kind].append((str(term), int(uses)))
    return found


def when(unix: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(unix, UTC).astimezone(zone)

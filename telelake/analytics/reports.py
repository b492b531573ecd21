"""The built-in reports: each a named Athena query, runnable here and on Athena.

The first four are the original design's queries, verbatim (only whitespace
differs): their SQL runs through the ``athena`` dialect, so the numbers are
the ones Athena would give on the same lake (DESIGN §6). Queries 2 and 3
order by date only, which leaves rows of the same day in any order; for a
stable display :func:`run_report` refines that order in Python, never
changing the SQL.

The reports after them answer what an analyst asks first (who is active, what
they send, when, who joins and leaves, how fast people answer, which
reactions). Each aggregates in SQL to one row per day and chat (per day, chat
and category at most; top posters limited per chat in SQL), so a lake of ten
million messages still gives a few thousand rows: small enough to embed in
the HTML page, which filters by date and chat in the browser. They use only
functions the dialect layer translates with Trino's values (``day_of_week``,
``hour``, ``max_by``, ``count_if``, ``approx_percentile``, ``array_except``);
no division, whose rounding differs between the engines.
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
    question: str = ""


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

# --- beyond the original four: one row per day and chat (and category) -------

_CHATS = """\
SELECT chat_id, max_by(chat_title, date) AS chat_title, max_by(chat_type, date) AS chat_type,
       count(1) AS messages, count(DISTINCT user_id) AS posters,
       min(context_date) AS first_day, max(context_date) AS last_day
FROM "telegram"
GROUP BY chat_id
ORDER BY messages DESC, chat_id"""

# A poster is new on the day of their first message in that chat since the
# lake began (on a lake's first day, everyone is new).
_DAILY_ACTIVE_USERS = """\
WITH first_post AS (
    SELECT chat_id, user_id, min(context_date) AS first_day
    FROM "telegram" WHERE user_id IS NOT NULL
    GROUP BY chat_id, user_id)
SELECT t.context_date, t.chat_id, count(1) AS messages,
       count(DISTINCT t.user_id) AS active_users,
       count(DISTINCT CASE WHEN f.first_day = t.context_date THEN t.user_id END) AS new_posters,
       count(DISTINCT CASE WHEN f.first_day < t.context_date THEN t.user_id END)
           AS returning_posters
FROM "telegram" t
LEFT JOIN first_post f ON f.chat_id = t.chat_id AND f.user_id = t.user_id
GROUP BY t.context_date, t.chat_id
ORDER BY t.context_date, t.chat_id"""

_CONTENT_TYPES = """\
SELECT context_date, chat_id, content_type, count(1) AS messages
FROM "telegram"
GROUP BY context_date, chat_id, content_type
ORDER BY context_date, chat_id, messages DESC, content_type"""

# The 25 most active posters of each chat over the whole lake, day by day
# (the page sums the days of the chosen range); the name is the latest one.
_TOP_POSTERS = """\
WITH totals AS (
    SELECT chat_id, user_id, count(1) AS total, max_by(user_first_name, date) AS name
    FROM "telegram" WHERE user_id IS NOT NULL
    GROUP BY chat_id, user_id),
ranked AS (
    SELECT chat_id, user_id, name,
           row_number() OVER (PARTITION BY chat_id ORDER BY total DESC, user_id) AS poster_rank
    FROM totals)
SELECT t.context_date, t.chat_id, r.poster_rank, t.user_id, r.name AS user_first_name,
       count(1) AS messages
FROM "telegram" t
JOIN ranked r ON r.chat_id = t.chat_id AND r.user_id = t.user_id
WHERE r.poster_rank <= 25
GROUP BY t.context_date, t.chat_id, r.poster_rank, t.user_id, r.name
ORDER BY t.chat_id, r.poster_rank, t.context_date"""

_HEATMAP_LOCAL = """\
SELECT context_date, chat_id, day_of_week(sent_at_local) AS weekday,
       hour(sent_at_local) AS hour, count(1) AS messages
FROM "telegram"
GROUP BY context_date, chat_id, day_of_week(sent_at_local), hour(sent_at_local)
ORDER BY context_date, chat_id, weekday, hour"""

# A join is seen twice when the bot is an admin (a service message and a
# chat_member update, same member and second): UNION keeps it once.
_MEMBERS = """\
WITH changes AS (
    SELECT context_date, chat_id, member_user_id AS user_id, date,
           CASE WHEN event = 'new_chat_members' THEN 'joined' ELSE 'departed' END AS change
    FROM "telegram_service"
    WHERE event IN ('new_chat_members', 'left_chat_member')
    UNION
    SELECT context_date, chat_id, user_id, date,
           CASE WHEN new_status IN ('left', 'kicked') THEN 'departed' ELSE 'joined' END
    FROM "telegram_members"
    WHERE update_kind = 'chat_member'
      AND (old_status IN ('left', 'kicked')) <> (new_status IN ('left', 'kicked')))
SELECT context_date, chat_id, count_if(change = 'joined') AS joined,
       count_if(change = 'departed') AS departed
FROM changes
GROUP BY context_date, chat_id
ORDER BY context_date, chat_id"""

# Response time: a reply to someone else's message still in the lake, from
# that message's send time; its median per day is approximate, as on Athena.
_REPLIES = """\
WITH per_day AS (
    SELECT context_date, chat_id, count(1) AS messages, count(reply_to_message_id) AS replies,
           count(DISTINCT message_thread_id) AS threads, count(forward_origin_type) AS forwards
    FROM "telegram"
    GROUP BY context_date, chat_id),
waits AS (
    SELECT r.context_date, r.chat_id, count(1) AS answered,
           approx_percentile(r.date - p.date, 0.5) AS median_reply_seconds
    FROM "telegram" r
    JOIN "telegram" p ON p.chat_id = r.chat_id AND p.message_id = r.reply_to_message_id
    WHERE p.user_id IS DISTINCT FROM r.user_id AND r.date >= p.date
    GROUP BY r.context_date, r.chat_id)
SELECT d.context_date, d.chat_id, d.messages, d.replies, d.threads, d.forwards,
       coalesce(w.answered, 0) AS answered, w.median_reply_seconds
FROM per_day d
LEFT JOIN waits w ON w.context_date = d.context_date AND w.chat_id = d.chat_id
ORDER BY d.context_date, d.chat_id"""

# Reactions added by people (message_reaction: new minus old), plus the
# latest anonymous totals of channels (message_reaction_count) on the day of
# their last update.
_REACTIONS = """\
WITH added AS (
    SELECT context_date, chat_id, a.reaction, 1 AS amount
    FROM "telegram_reactions"
    CROSS JOIN UNNEST(array_except(new_reactions, old_reactions)) AS a(reaction)),
anonymous AS (
    SELECT max_by(context_date, update_id) AS context_date, chat_id, reaction,
           max_by(total_count, update_id) AS amount
    FROM "telegram_reaction_counts"
    GROUP BY chat_id, message_id, reaction)
SELECT context_date, chat_id, reaction, sum(amount) AS reactions
FROM (SELECT * FROM added UNION ALL SELECT * FROM anonymous)
GROUP BY context_date, chat_id, reaction
ORDER BY context_date, chat_id, reactions DESC, reaction"""

REPORTS: tuple[Report, ...] = (
    Report(
        name="messages_per_day",
        title="Messages per day",
        sql=_PER_DAY,
        sort_keys=("-context_date",),
        question="How many messages are sent each day?",
    ),
    Report(
        name="messages_per_user_per_day",
        title="Messages per user per day",
        sql=_PER_USER_PER_DAY,
        sort_keys=("-context_date", "-message_amount", "user_id", "user_first_name"),
        question="How many messages does each person send each day?",
    ),
    Report(
        name="average_length_per_user_per_day",
        title="Average message length per user per day",
        sql=_AVERAGE_LENGTH,
        sort_keys=("-context_date", "user_id", "user_first_name"),
        question="How long are each person's text messages, per day?",
    ),
    Report(
        name="messages_per_hour_weekday_week",
        title="Messages per hour, weekday and week number (UTC)",
        sql=_HOUR_WEEKDAY_WEEK,
        sort_keys=("parsed_date_weeknum", "parsed_date_weekday", "parsed_date_hour"),
        question="At which hours and weekdays (UTC), week by week, do people write?",
    ),
    Report(
        name="chats",
        title="Chats",
        sql=_CHATS,
        question="Which chats are in the lake, how big is each, since when?",
    ),
    Report(
        name="daily_active_users",
        title="Daily active posters, new and returning",
        sql=_DAILY_ACTIVE_USERS,
        question="How many people post each day, and how many of them for the first time?",
    ),
    Report(
        name="messages_by_content_type",
        title="Messages by content type",
        sql=_CONTENT_TYPES,
        question="What do people send: text, photos, stickers, voice, ...?",
    ),
    Report(
        name="top_posters",
        title="Top posters",
        sql=_TOP_POSTERS,
        question="Who writes the most (the 25 most active of each chat, per day)?",
    ),
    Report(
        name="activity_heatmap",
        title="Messages by weekday and hour (lake time zone)",
        sql=_HEATMAP_LOCAL,
        question="When is the group busy, in its own time zone?",
    ),
    Report(
        name="members_joined_left",
        title="Members joining and leaving",
        sql=_MEMBERS,
        question="How many people join and leave each day?",
    ),
    Report(
        name="replies_and_threads",
        title="Replies, threads and response time",
        sql=_REPLIES,
        question="How much do people answer each other, and how fast (median seconds)?",
    ),
    Report(
        name="reactions",
        title="Reactions",
        sql=_REACTIONS,
        question="Which reactions do people add, and how many (when the bot collects them)?",
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

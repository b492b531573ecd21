"""Who is active, what they send, when, who joins and leaves, how fast people answer.

Each aggregates in SQL to one row per day and chat (per day, chat and
category at most; top posters limited per chat in SQL), so a lake of ten
million messages still gives a few thousand rows: small enough to embed in
the HTML page, which filters by date and chat in the browser. They use only
functions the dialect layer translates with Trino's values (``day_of_week``,
``hour``, ``max_by``, ``count_if``, ``approx_percentile``, ``array_except``);
no division, whose rounding differs between the engines.
"""

from __future__ import annotations

from telelake.analytics.reports.report import POSTERS_CTE, Report

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
_TOP_POSTERS = f"""\
WITH {POSTERS_CTE}
SELECT t.context_date, t.chat_id, r.poster_rank, t.user_id, r.name AS user_first_name,
       count(1) AS messages
FROM "telegram" t
JOIN posters r ON r.chat_id = t.chat_id AND r.user_id = t.user_id
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

"""Who talks with whom: replies and mentions between people, response times, conversations.

A reply counts between two people when the message it answers is in the
lake (same chat) and was written by someone else who is not a bot: answering
oneself or a bot's command reply is not talking with someone. Medians are
exact (the middle value, or the mean of the two middle values of an even
count), computed with ``row_number`` rather than ``approx_percentile``,
whose approximation differs between Athena and other engines. Parameters
(the silence that ends a conversation) sit in a one-row ``params`` CTE so a
command can change them (``reports/scope.py``) and the SQL stays runnable
as it is on Athena.
"""

from __future__ import annotations

from telelake.analytics.reports.report import Report

# Replies between two different people, the one answered not a bot. (The
# reply filter is implied by the join; saying it lets engines drop the 80% of
# messages that answer nothing before joining.)
REPLIES_BETWEEN_PEOPLE = """\
    SELECT r.chat_id, r.user_id, p.user_id AS replied_to_user_id, r.date, p.date AS parent_date
    FROM "telegram" r
    JOIN "telegram" p ON p.chat_id = r.chat_id AND p.message_id = r.reply_to_message_id
    WHERE r.reply_to_message_id IS NOT NULL AND r.user_id IS NOT NULL
      AND p.user_id IS NOT NULL AND p.user_id <> r.user_id AND NOT coalesce(p.user_is_bot, false)"""

_REPLY_PAIRS = f"""\
WITH replies AS (
{REPLIES_BETWEEN_PEOPLE})
SELECT chat_id, user_id, replied_to_user_id, count(1) AS replies
FROM replies
GROUP BY chat_id, user_id, replied_to_user_id
ORDER BY chat_id, replies DESC, user_id, replied_to_user_id"""

# @mentions resolved to a person by the latest @username seen on their
# messages anywhere in the lake (usernames are global in Telegram); one not
# seen stays unresolved (mentioned_user_id NULL). Mentioning oneself is left out.
# (Messages without mentions are dropped before UNNEST: over ten million rows
# DuckDB's unnest of empty lists costs seconds.)
_MENTION_PAIRS = """\
WITH handles AS (
    SELECT lower(user_username) AS handle, max_by(user_id, last_date) AS user_id
    FROM (SELECT user_username, user_id, max(date) AS last_date
          FROM "telegram"
          WHERE user_username IS NOT NULL AND user_id IS NOT NULL
          GROUP BY user_username, user_id)
    GROUP BY lower(user_username)),
mentioned AS (
    SELECT t.chat_id, t.user_id, lower(substr(m.mention, 2)) AS handle
    FROM "telegram" t
    CROSS JOIN UNNEST(t.mentions) AS m(mention)
    WHERE t.user_id IS NOT NULL AND cardinality(t.mentions) > 0 AND m.mention LIKE '@%')
SELECT m.chat_id, m.user_id, h.user_id AS mentioned_user_id, m.handle AS mentioned_username,
       count(1) AS mentions
FROM mentioned m
LEFT JOIN handles h ON h.handle = m.handle
WHERE h.user_id IS NULL OR h.user_id <> m.user_id
GROUP BY m.chat_id, m.user_id, h.user_id, m.handle
ORDER BY m.chat_id, mentions DESC, m.user_id, mentioned_username"""

# Seconds from the message answered to the answer; 2k in (n, n+1, n+2) picks
# the middle row of an odd count and the two middle rows of an even one.
_RESPONSE_TIMES = f"""\
WITH replies AS (
{REPLIES_BETWEEN_PEOPLE}),
ranked AS (
    SELECT chat_id, user_id, date - parent_date AS seconds,
           row_number() OVER (PARTITION BY chat_id, user_id ORDER BY date - parent_date) AS k,
           count(1) OVER (PARTITION BY chat_id, user_id) AS n
    FROM replies
    WHERE date >= parent_date)
SELECT chat_id, user_id, max(n) AS replies,
       avg(CASE WHEN 2 * k IN (n, n + 1, n + 2) THEN seconds END) AS median_seconds
FROM ranked
GROUP BY chat_id, user_id
ORDER BY chat_id, replies DESC, user_id"""

# A conversation starts with a chat's first message and after every silence
# of gap_seconds or more; it is numbered from 1 in each chat.
_CONVERSATIONS = """\
WITH params AS (SELECT 1800 AS gap_seconds),
ordered AS (
    SELECT chat_id, message_id, user_id, date, sent_at, context_date,
           lag(date) OVER (PARTITION BY chat_id ORDER BY date, message_id) AS previous_date
    FROM "telegram"),
marked AS (
    SELECT o.*,
           CASE WHEN o.previous_date IS NULL OR o.date - o.previous_date >= p.gap_seconds
                THEN 1 ELSE 0 END AS starts
    FROM ordered o CROSS JOIN params p),
numbered AS (
    SELECT *, sum(starts) OVER (PARTITION BY chat_id ORDER BY date, message_id
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS conversation
    FROM marked)
SELECT chat_id, conversation, min(context_date) AS context_date, min(sent_at) AS started_at,
       max(sent_at) AS ended_at, max(date) - min(date) AS duration_seconds,
       max(CASE WHEN starts = 1 THEN user_id END) AS started_by_user_id,
       count(1) AS messages, count(DISTINCT user_id) AS participants
FROM numbered
GROUP BY chat_id, conversation
ORDER BY chat_id, conversation"""

# The ten longest gaps between two consecutive messages of each chat, and who broke them.
_LONGEST_SILENCES = """\
WITH ordered AS (
    SELECT chat_id, message_id, user_id, date, sent_at, context_date,
           lag(date) OVER (PARTITION BY chat_id ORDER BY date, message_id) AS previous_date,
           lag(sent_at) OVER (PARTITION BY chat_id ORDER BY date, message_id) AS previous_at
    FROM "telegram"),
ranked AS (
    SELECT chat_id, date - previous_date AS silence_seconds, previous_at AS silent_from,
           sent_at AS silent_until, context_date, user_id AS broken_by_user_id,
           row_number() OVER (PARTITION BY chat_id
                              ORDER BY date - previous_date DESC, date, message_id) AS silence_rank
    FROM ordered
    WHERE previous_date IS NOT NULL)
SELECT chat_id, silence_rank, silence_seconds, silent_from, silent_until, context_date,
       broken_by_user_id
FROM ranked
WHERE silence_rank <= 10
ORDER BY chat_id, silence_rank"""

REPORTS: tuple[Report, ...] = (
    Report(
        name="reply_pairs",
        sort_keys=("chat_id", "-replies", "user_id", "replied_to_user_id"),
        title="Who answers whom",
        sql=_REPLY_PAIRS,
        question="Who replies to whom, and how often (not to oneself, not to a bot)?",
    ),
    Report(
        name="mention_pairs",
        sort_keys=("chat_id", "-mentions", "user_id", "mentioned_username"),
        title="Who mentions whom",
        sql=_MENTION_PAIRS,
        question="Who @mentions whom, and how often?",
    ),
    Report(
        name="response_times",
        sort_keys=("chat_id", "-replies", "user_id"),
        title="Response time per person",
        sql=_RESPONSE_TIMES,
        question="How fast does each person answer others (median seconds)?",
    ),
    Report(
        name="conversations",
        sort_keys=("chat_id", "conversation"),
        title="Conversations",
        sql=_CONVERSATIONS,
        question="How many conversations (split by 30 minutes of silence), how long, who starts?",
    ),
    Report(
        name="longest_silences",
        sort_keys=("chat_id", "silence_rank"),
        title="Longest silences",
        sql=_LONGEST_SILENCES,
        question="When was each chat silent longest, and who broke the silence?",
    ),
)

"""What people react to and how they edit: top reacted messages and authors, edit rate.

A message's reactions are what each person has on it now: the latest
``message_reaction`` update of each reactor (``update_id`` orders them; a
removed reaction is gone), plus the latest anonymous totals of
``message_reaction_count``. They need a bot that receives those updates (an
administrator with them in ``allowed_updates``). Edit times are from the
send to the kept (latest) edit: Telegram sends each edit, telelake keeps the
last one.
"""

from __future__ import annotations

from telelake.analytics.reports.report import Report

# CTEs `current`, `anonymous` and `per_message` (chat, message, reactions now);
# `people` counts a person's reactions received with them too.
PER_MESSAGE = """\
current AS (
    SELECT chat_id, message_id, coalesce(user_id, actor_chat_id) AS reactor,
           max_by(cardinality(new_reactions), update_id) AS amount
    FROM "telegram_reactions"
    GROUP BY chat_id, message_id, coalesce(user_id, actor_chat_id)),
anonymous AS (
    SELECT chat_id, message_id, reaction, max_by(total_count, update_id) AS amount
    FROM "telegram_reaction_counts"
    GROUP BY chat_id, message_id, reaction),
per_message AS (
    SELECT chat_id, message_id, sum(amount) AS reactions
    FROM (SELECT chat_id, message_id, amount FROM current
          UNION ALL
          SELECT chat_id, message_id, amount FROM anonymous) a
    GROUP BY chat_id, message_id
    HAVING sum(amount) > 0)"""

_TOP_REACTED_MESSAGES = f"""\
WITH {PER_MESSAGE},
ranked AS (
    SELECT p.chat_id, p.message_id, p.reactions, m.user_id, m.context_date,
           coalesce(m.text, m.caption) AS text,
           row_number() OVER (PARTITION BY p.chat_id
                              ORDER BY p.reactions DESC, p.message_id) AS message_rank
    FROM per_message p
    LEFT JOIN "telegram" m ON m.chat_id = p.chat_id AND m.message_id = p.message_id)
SELECT chat_id, message_rank, message_id, user_id, context_date, reactions, text
FROM ranked
WHERE message_rank <= 20
ORDER BY chat_id, message_rank"""

_TOP_REACTED_AUTHORS = f"""\
WITH {PER_MESSAGE}
SELECT m.chat_id, m.user_id, sum(p.reactions) AS reactions_received,
       count(1) AS messages_reacted
FROM per_message p
JOIN "telegram" m ON m.chat_id = p.chat_id AND m.message_id = p.message_id
WHERE m.user_id IS NOT NULL
GROUP BY m.chat_id, m.user_id
ORDER BY m.chat_id, reactions_received DESC, m.user_id"""

_EDITS = """\
WITH waits AS (
    SELECT context_date, chat_id, edit_date - date AS seconds,
           row_number() OVER (PARTITION BY context_date, chat_id ORDER BY edit_date - date) AS k,
           count(1) OVER (PARTITION BY context_date, chat_id) AS n
    FROM "telegram"
    WHERE edit_date IS NOT NULL AND edit_date >= date),
medians AS (
    SELECT context_date, chat_id,
           avg(CASE WHEN 2 * k IN (n, n + 1, n + 2) THEN seconds END) AS median_edit_seconds
    FROM waits
    GROUP BY context_date, chat_id),
per_day AS (
    SELECT context_date, chat_id, count(1) AS messages, count(edit_date) AS edited
    FROM "telegram"
    GROUP BY context_date, chat_id)
SELECT d.context_date, d.chat_id, d.messages, d.edited, m.median_edit_seconds
FROM per_day d
LEFT JOIN medians m ON m.context_date = d.context_date AND m.chat_id = d.chat_id
ORDER BY d.context_date, d.chat_id"""

REPORTS: tuple[Report, ...] = (
    Report(
        name="top_reacted_messages",
        sort_keys=("chat_id", "message_rank"),
        title="Most reacted messages",
        sql=_TOP_REACTED_MESSAGES,
        question="Which messages got the most reactions (the 20 of each chat), by whom?",
    ),
    Report(
        name="top_reacted_authors",
        sort_keys=("chat_id", "-reactions_received", "user_id"),
        title="Authors whose messages get reactions",
        sql=_TOP_REACTED_AUTHORS,
        question="Whose messages get the most reactions?",
    ),
    Report(
        name="edits",
        sort_keys=("context_date", "chat_id"),
        title="Edits",
        sql=_EDITS,
        question="How many messages are edited, and how long after sending (median seconds)?",
    ),
)

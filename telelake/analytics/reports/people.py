"""One row per person and chat, and their activity week by week: what a person's page reads.

Everyone the lake knows in a chat is here: people who wrote, and people
seen only in member events (joined, left, added). The name is the latest
one seen; in a pseudonymised lake it is the pseudonym, as every name is.
Replies count as in ``reply_pairs`` (between two people, the one answered
not a bot), reactions received as in ``top_reacted_authors`` (what each
reactor has on the message now, plus anonymous counts).
"""

from __future__ import annotations

from telelake.analytics.reports.feedback import PER_MESSAGE
from telelake.analytics.reports.interaction import REPLIES_BETWEEN_PEOPLE
from telelake.analytics.reports.report import Report

_PEOPLE = f"""\
WITH posted AS (
    SELECT chat_id, user_id, max_by(user_first_name, date) AS name,
           max_by(user_username, date) AS username, bool_or(coalesce(user_is_bot, false)) AS bot,
           count(1) AS messages, min(context_date) AS first_day, max(context_date) AS last_day
    FROM "telegram"
    WHERE user_id IS NOT NULL
    GROUP BY chat_id, user_id),
seen AS (
    SELECT chat_id, member_user_id AS user_id, member_first_name AS name, date,
           coalesce(member_is_bot, false) AS bot
    FROM "telegram_service"
    WHERE member_user_id IS NOT NULL
    UNION ALL
    SELECT chat_id, user_id, user_first_name, date, coalesce(user_is_bot, false)
    FROM "telegram_members"
    WHERE update_kind = 'chat_member' AND user_id IS NOT NULL),
members AS (
    SELECT chat_id, user_id, max_by(name, date) AS name, bool_or(bot) AS bot
    FROM seen
    GROUP BY chat_id, user_id),
replies AS (
{REPLIES_BETWEEN_PEOPLE}),
sent AS (
    SELECT chat_id, user_id, count(1) AS replies FROM replies GROUP BY chat_id, user_id),
received AS (
    SELECT chat_id, replied_to_user_id AS user_id, count(1) AS replies
    FROM replies
    GROUP BY chat_id, replied_to_user_id),
{PER_MESSAGE},
reacted AS (
    SELECT m.chat_id, m.user_id, sum(p.reactions) AS reactions
    FROM per_message p
    JOIN "telegram" m ON m.chat_id = p.chat_id AND m.message_id = p.message_id
    WHERE m.user_id IS NOT NULL
    GROUP BY m.chat_id, m.user_id),
everyone AS (
    SELECT coalesce(p.chat_id, m.chat_id) AS chat_id, coalesce(p.user_id, m.user_id) AS user_id,
           coalesce(p.name, m.name) AS user_first_name, p.username AS user_username,
           coalesce(p.bot, false) OR coalesce(m.bot, false) AS user_is_bot,
           coalesce(p.messages, 0) AS messages, p.first_day, p.last_day
    FROM posted p
    FULL OUTER JOIN members m ON m.chat_id = p.chat_id AND m.user_id = p.user_id)
SELECT e.chat_id, e.user_id, e.user_first_name, e.user_username, e.user_is_bot, e.messages,
       e.first_day AS first_message_date, e.last_day AS last_message_date,
       coalesce(s.replies, 0) AS replies_sent, coalesce(r.replies, 0) AS replies_received,
       coalesce(x.reactions, 0) AS reactions_received
FROM everyone e
LEFT JOIN sent s ON s.chat_id = e.chat_id AND s.user_id = e.user_id
LEFT JOIN received r ON r.chat_id = e.chat_id AND r.user_id = e.user_id
LEFT JOIN reacted x ON x.chat_id = e.chat_id AND x.user_id = e.user_id
ORDER BY e.chat_id, e.messages DESC, e.user_id"""

# Weeks (named by their Monday) keep a person's history small enough to
# carry every active person's on the page.
_PERSON_ACTIVITY = """\
SELECT CAST(date_trunc('week', context_date) AS date) AS week, chat_id, user_id,
       count(1) AS messages,
       count(reply_to_message_id) AS replies
FROM "telegram"
WHERE user_id IS NOT NULL
GROUP BY CAST(date_trunc('week', context_date) AS date), chat_id, user_id
ORDER BY week, chat_id, messages DESC, user_id"""

REPORTS: tuple[Report, ...] = (
    Report(
        name="people",
        sort_keys=("chat_id", "-messages", "user_id"),
        title="People",
        sql=_PEOPLE,
        question="Who is in each chat: messages, first and last day, replies, reactions received?",
    ),
    Report(
        name="person_activity",
        sort_keys=("week", "chat_id", "-messages", "user_id"),
        title="Activity per person, by week",
        sql=_PERSON_ACTIVITY,
        question="How much does each person write, week by week?",
    ),
)

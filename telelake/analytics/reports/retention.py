"""Who stays: weekly cohorts of first-time posters, and the members gone silent.

Cohorts are ISO weeks, named by their Monday (``date_trunc('week', ...)``),
so a week across a year end (Monday 2024-12-30 is in ISO week 2025-W01) is
one cohort with one unambiguous name; ``weeks_after`` counts whole weeks
from it (a difference of Mondays is an exact multiple of 7 days, so the
division is exact in every engine).

``inactive_members`` knows a person from their messages and from member
events (service messages and ``chat_member`` updates), so people who joined
and never wrote are there too. Someone whose latest membership event is a
departure, not followed by a message, has left and is not listed; bots
neither. "Today" is the lake's last day with any update, so the answer does
not drift with the clock and a lake not updated for a while still reads
right.
"""

from __future__ import annotations

from telelake.analytics.reports.report import Report

_RETENTION_COHORTS = """\
WITH weeks AS (
    SELECT DISTINCT chat_id, user_id, CAST(date_trunc('week', context_date) AS date) AS week
    FROM "telegram"
    WHERE user_id IS NOT NULL),
cohorts AS (
    SELECT chat_id, user_id, min(week) AS cohort_week
    FROM weeks
    GROUP BY chat_id, user_id),
sizes AS (
    SELECT chat_id, cohort_week, count(1) AS cohort_size
    FROM cohorts
    GROUP BY chat_id, cohort_week)
SELECT c.chat_id, c.cohort_week,
       CAST(date_diff('day', c.cohort_week, w.week) / 7 AS bigint) AS weeks_after,
       s.cohort_size, count(1) AS active
FROM cohorts c
JOIN weeks w ON w.chat_id = c.chat_id AND w.user_id = c.user_id
JOIN sizes s ON s.chat_id = c.chat_id AND s.cohort_week = c.cohort_week
GROUP BY c.chat_id, c.cohort_week, CAST(date_diff('day', c.cohort_week, w.week) / 7 AS bigint),
         s.cohort_size
ORDER BY c.chat_id, c.cohort_week, weeks_after"""

_INACTIVE_MEMBERS = """\
WITH params AS (SELECT 30 AS silent_days),
today AS (SELECT max(context_date) AS as_of FROM "telegram_updates"),
posted AS (
    SELECT chat_id, user_id, max(context_date) AS last_message_date, max(date) AS last_message_at,
           bool_or(coalesce(user_is_bot, false)) AS is_bot
    FROM "telegram"
    WHERE user_id IS NOT NULL
    GROUP BY chat_id, user_id),
membership AS (
    SELECT chat_id, member_user_id AS user_id, date, context_date,
           event = 'left_chat_member' AS departed, coalesce(member_is_bot, false) AS is_bot
    FROM "telegram_service"
    WHERE event IN ('new_chat_members', 'left_chat_member') AND member_user_id IS NOT NULL
    UNION ALL
    SELECT chat_id, user_id, date, context_date, new_status IN ('left', 'kicked'),
           coalesce(user_is_bot, false)
    FROM "telegram_members"
    WHERE update_kind = 'chat_member' AND user_id IS NOT NULL),
latest AS (
    SELECT chat_id, user_id, max_by(departed, date) AS departed, max(date) AS last_change_at,
           min(context_date) AS first_seen, bool_or(is_bot) AS is_bot
    FROM membership
    GROUP BY chat_id, user_id),
known AS (
    SELECT coalesce(p.chat_id, l.chat_id) AS chat_id, coalesce(p.user_id, l.user_id) AS user_id,
           p.last_message_date,
           coalesce(p.last_message_date, l.first_seen) AS silent_since,
           coalesce(p.is_bot, false) OR coalesce(l.is_bot, false) AS is_bot,
           coalesce(l.departed, false)
               AND l.last_change_at >= coalesce(p.last_message_at, 0) AS has_left
    FROM posted p
    FULL OUTER JOIN latest l ON l.chat_id = p.chat_id AND l.user_id = p.user_id)
SELECT k.chat_id, k.user_id, k.last_message_date,
       date_diff('day', k.silent_since, t.as_of) AS days_silent
FROM known k CROSS JOIN today t CROSS JOIN params p
WHERE NOT k.is_bot AND NOT k.has_left
  AND date_diff('day', k.silent_since, t.as_of) >= p.silent_days
ORDER BY k.chat_id, days_silent DESC, k.user_id"""

REPORTS: tuple[Report, ...] = (
    Report(
        name="retention_cohorts",
        sort_keys=("chat_id", "cohort_week", "weeks_after"),
        title="Retention by weekly cohort",
        sql=_RETENTION_COHORTS,
        question="Of the people who first posted in a week, how many still post k weeks later?",
    ),
    Report(
        name="inactive_members",
        sort_keys=("chat_id", "-days_silent", "user_id"),
        title="Inactive members",
        sql=_INACTIVE_MEMBERS,
        question="Who is still in the chat but has not posted for 30 days (--days) or more?",
    ),
)

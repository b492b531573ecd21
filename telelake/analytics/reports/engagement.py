"""How engaged each chat is: daily, weekly and monthly posters, members, this period vs the last.

Distinct posters over a trailing window cannot be summed from daily counts,
and a window function cannot count distinct values in Trino. So each
person's days of activity become coverage intervals: a post on day ``a``
covers ``[a, a + W)`` for a window of W days, cut at their next active day,
where the next interval takes over. Adding +1 where an interval starts and
-1 where it ends, then a running sum per chat, gives the posters of every
trailing window in one pass over the distinct (chat, person, day) triples,
whatever the lake's size. Days are those on which the lake holds any
message, from each chat's first one on.
"""

from __future__ import annotations

from telelake.analytics.reports.report import Report

# CTEs shared by the reports below: `calendar` (chat, day) and `running`
# (chat, day, dau, wau, mau).
_WINDOWS = """\
user_days AS (
    SELECT DISTINCT chat_id, user_id, context_date AS day
    FROM "telegram"
    WHERE user_id IS NOT NULL),
spans AS (
    SELECT chat_id, day, lead(day) OVER (PARTITION BY chat_id, user_id ORDER BY day) AS next_day
    FROM user_days),
calendar AS (
    SELECT c.chat_id, d.day
    FROM (SELECT chat_id, min(day) AS first_day FROM user_days GROUP BY chat_id) c
    JOIN (SELECT DISTINCT context_date AS day FROM "telegram") d ON d.day >= c.first_day),
changes AS (
    SELECT chat_id, day, 1 AS d1, 1 AS d7, 1 AS d30 FROM spans
    UNION ALL
    SELECT chat_id, day + INTERVAL '1' DAY, -1, 0, 0 FROM spans
    UNION ALL
    SELECT chat_id, least(day + INTERVAL '7' DAY, coalesce(next_day, day + INTERVAL '7' DAY)),
           0, -1, 0
    FROM spans
    UNION ALL
    SELECT chat_id, least(day + INTERVAL '30' DAY, coalesce(next_day, day + INTERVAL '30' DAY)),
           0, 0, -1
    FROM spans
    UNION ALL
    SELECT chat_id, day, 0, 0, 0 FROM calendar),
per_day AS (
    SELECT chat_id, day, sum(d1) AS d1, sum(d7) AS d7, sum(d30) AS d30
    FROM changes
    GROUP BY chat_id, day),
running AS (
    SELECT chat_id, day,
           sum(d1) OVER (PARTITION BY chat_id ORDER BY day
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS dau,
           sum(d7) OVER (PARTITION BY chat_id ORDER BY day
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS wau,
           sum(d30) OVER (PARTITION BY chat_id ORDER BY day
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS mau
    FROM per_day)"""

_ENGAGEMENT = f"""\
WITH {_WINDOWS}
SELECT r.chat_id, r.day AS context_date, r.dau, r.wau, r.mau,
       CASE WHEN r.mau > 0 THEN CAST(r.dau AS double) / r.mau END AS stickiness
FROM running r
JOIN calendar c ON c.chat_id = r.chat_id AND c.day = r.day
ORDER BY r.chat_id, context_date"""

# The member count of each day with a snapshot (the day's latest), beside
# the people who posted in the 30 days up to it; silent members are the rest
# (never below 0: some of the month's posters may have left since).
_POSTERS_VS_MEMBERS = f"""\
WITH {_WINDOWS},
snapshots AS (
    SELECT chat_id, context_date, max_by(member_count, taken_at) AS member_count
    FROM "telegram_chat_stats"
    GROUP BY chat_id, context_date)
SELECT s.chat_id, s.context_date, s.member_count, coalesce(r.mau, 0) AS posters_30d,
       greatest(s.member_count - coalesce(r.mau, 0), 0) AS silent_members
FROM snapshots s
LEFT JOIN running r ON r.chat_id = s.chat_id AND r.day = s.context_date
ORDER BY s.chat_id, s.context_date"""

# The headline numbers of a period (by default the period_days days up to
# the lake's last day; `report --since/--until` set its first and last day)
# against as many days just before it.
_PERIOD_COMPARISON = """\
WITH params AS (
    SELECT CAST(NULL AS date) AS period_start, CAST(NULL AS date) AS period_end,
           30 AS period_days),
ends AS (
    SELECT coalesce(p.period_end, e.last_day) AS this_end, p.period_start, p.period_days
    FROM params p CROSS JOIN (SELECT max(context_date) AS last_day FROM "telegram_updates") e),
starts AS (
    SELECT this_end,
           coalesce(period_start, date_add('day', CAST(1 - period_days AS integer), this_end))
               AS this_start
    FROM ends),
bounds AS (
    SELECT this_start, this_end,
           date_add('day', CAST(-1 - date_diff('day', this_start, this_end) AS integer),
                    this_start) AS previous_start,
           date_add('day', -1, this_start) AS previous_end
    FROM starts),
messages AS (
    SELECT t.chat_id,
           count_if(t.context_date >= b.this_start) AS messages_this,
           count_if(t.context_date <= b.previous_end) AS messages_previous,
           count(DISTINCT CASE WHEN t.context_date >= b.this_start THEN t.user_id END)
               AS posters_this,
           count(DISTINCT CASE WHEN t.context_date <= b.previous_end THEN t.user_id END)
               AS posters_previous,
           count_if(t.context_date >= b.this_start AND t.reply_to_message_id IS NOT NULL)
               AS replies_this,
           count_if(t.context_date <= b.previous_end AND t.reply_to_message_id IS NOT NULL)
               AS replies_previous
    FROM "telegram" t CROSS JOIN bounds b
    WHERE t.context_date BETWEEN b.previous_start AND b.this_end
    GROUP BY t.chat_id),
joins AS (
    SELECT context_date, chat_id, member_user_id AS user_id, date
    FROM "telegram_service"
    WHERE event = 'new_chat_members'
    UNION
    SELECT context_date, chat_id, user_id, date
    FROM "telegram_members"
    WHERE update_kind = 'chat_member' AND old_status IN ('left', 'kicked')
      AND new_status NOT IN ('left', 'kicked')),
members AS (
    SELECT j.chat_id, count_if(j.context_date >= b.this_start) AS joins_this,
           count_if(j.context_date <= b.previous_end) AS joins_previous
    FROM joins j CROSS JOIN bounds b
    WHERE j.context_date BETWEEN b.previous_start AND b.this_end
    GROUP BY j.chat_id),
reactions AS (
    SELECT r.chat_id,
           sum(CASE WHEN r.context_date >= b.this_start
                    THEN cardinality(array_except(r.new_reactions, r.old_reactions)) ELSE 0 END)
               AS reactions_this,
           sum(CASE WHEN r.context_date <= b.previous_end
                    THEN cardinality(array_except(r.new_reactions, r.old_reactions)) ELSE 0 END)
               AS reactions_previous
    FROM "telegram_reactions" r CROSS JOIN bounds b
    WHERE r.context_date BETWEEN b.previous_start AND b.this_end
    GROUP BY r.chat_id),
chats AS (
    SELECT chat_id FROM messages UNION SELECT chat_id FROM members
    UNION SELECT chat_id FROM reactions),
measured AS (
    SELECT c.chat_id, 1 AS position, 'messages' AS measure, coalesce(m.messages_this, 0) AS cur,
           coalesce(m.messages_previous, 0) AS prev
    FROM chats c LEFT JOIN messages m ON m.chat_id = c.chat_id
    UNION ALL
    SELECT c.chat_id, 2, 'posters', coalesce(m.posters_this, 0), coalesce(m.posters_previous, 0)
    FROM chats c LEFT JOIN messages m ON m.chat_id = c.chat_id
    UNION ALL
    SELECT c.chat_id, 3, 'new_members', coalesce(j.joins_this, 0), coalesce(j.joins_previous, 0)
    FROM chats c LEFT JOIN members j ON j.chat_id = c.chat_id
    UNION ALL
    SELECT c.chat_id, 4, 'replies', coalesce(m.replies_this, 0), coalesce(m.replies_previous, 0)
    FROM chats c LEFT JOIN messages m ON m.chat_id = c.chat_id
    UNION ALL
    SELECT c.chat_id, 5, 'reactions', coalesce(r.reactions_this, 0),
           coalesce(r.reactions_previous, 0)
    FROM chats c LEFT JOIN reactions r ON r.chat_id = c.chat_id)
SELECT m.chat_id, m.measure, b.this_start AS period_start, b.this_end AS period_end,
       m.cur AS this_period, m.prev AS previous_period, m.cur - m.prev AS change,
       CASE WHEN m.prev > 0 THEN CAST(m.cur - m.prev AS double) * 100 / m.prev END
           AS change_percent
FROM measured m CROSS JOIN bounds b
ORDER BY m.chat_id, m.position"""

REPORTS: tuple[Report, ...] = (
    Report(
        name="engagement",
        sort_keys=("chat_id", "context_date"),
        title="Daily, weekly and monthly posters",
        sql=_ENGAGEMENT,
        question="How many people post each day, in the last 7 and 30 days, and how sticky is it?",
    ),
    Report(
        name="posters_vs_members",
        sort_keys=("chat_id", "context_date"),
        title="Posters and members",
        sql=_POSTERS_VS_MEMBERS,
        question="How many members are there, and how many of them posted in the last 30 days?",
    ),
    Report(
        name="period_comparison",
        title="This period against the previous one",
        sql=_PERIOD_COMPARISON,
        question="Messages, posters, new members, replies, reactions: up or down on the period?",
    ),
)

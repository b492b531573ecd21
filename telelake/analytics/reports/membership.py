"""Who joins, how, invited by whom; what admins do; how many members there are.

Joins come from service messages (``new_chat_members``: added by someone
when the sender is not the member) and from ``chat_member`` updates (which
say more: the invite link, its creator, a join request). A join seen both
ways, same chat, person and second, counts once, with what the
``chat_member`` update says about it. Member counts come from the daily
``getChatMemberCount`` snapshots (``telegram_chat_stats``), Telegram's own
figure: people who never wrote, and those who joined before the bot, are in
it.
"""

from __future__ import annotations

from telelake.analytics.reports.report import Report

_MEMBER_COUNT = """\
SELECT chat_id, context_date, max(taken_at) AS taken_at,
       max_by(member_count, taken_at) AS member_count
FROM "telegram_chat_stats"
GROUP BY chat_id, context_date
ORDER BY chat_id, context_date"""

# Every join with what is known of how it happened.
_JOINS = """\
WITH member_joins AS (
    SELECT context_date, chat_id, user_id, date, actor_user_id, invite_link_name,
           invite_link_creator_user_id, coalesce(via_join_request, false) AS via_join_request
    FROM "telegram_members"
    WHERE update_kind = 'chat_member' AND old_status IN ('left', 'kicked')
      AND new_status NOT IN ('left', 'kicked')),
joins AS (
    SELECT context_date, chat_id, user_id, date, actor_user_id, invite_link_name,
           invite_link_creator_user_id, via_join_request
    FROM member_joins
    UNION ALL
    SELECT s.context_date, s.chat_id, s.member_user_id, s.date, s.user_id, NULL, NULL, false
    FROM "telegram_service" s
    LEFT JOIN member_joins m
      ON m.chat_id = s.chat_id AND m.user_id = s.member_user_id AND m.date = s.date
    WHERE s.event = 'new_chat_members' AND s.member_user_id IS NOT NULL AND m.user_id IS NULL)"""

_JOINS_BY_SOURCE = f"""\
{_JOINS}
SELECT context_date, chat_id,
       CASE WHEN via_join_request THEN 'join request'
            WHEN invite_link_name IS NOT NULL THEN 'invite link: ' || invite_link_name
            WHEN invite_link_creator_user_id IS NOT NULL THEN 'invite link'
            WHEN actor_user_id IS NOT NULL AND actor_user_id <> user_id THEN 'added by a member'
            ELSE 'joined by themselves' END AS source,
       count(1) AS joins
FROM joins
GROUP BY 1, 2, 3
ORDER BY context_date, chat_id, joins DESC, source"""

# Whoever brought a person in: the creator of the invite link they used, else
# the member who added them (an admin approving a join request is not one).
_TOP_INVITERS = f"""\
{_JOINS},
invitations AS (
    SELECT chat_id, user_id,
           coalesce(invite_link_creator_user_id,
                    CASE WHEN NOT via_join_request AND actor_user_id <> user_id
                         THEN actor_user_id END) AS inviter,
           invite_link_creator_user_id IS NOT NULL AS by_link
    FROM joins)
SELECT chat_id, inviter AS user_id, count(DISTINCT user_id) AS invited,
       count_if(by_link) AS by_invite_link, count_if(NOT by_link) AS added
FROM invitations
WHERE inviter IS NOT NULL
GROUP BY chat_id, inviter
ORDER BY chat_id, invited DESC, user_id"""

# One row per change an administrator made to someone else's membership
# (joins by invitation are in joins_by_source, not here).
_ADMIN_ACTIONS = """\
SELECT context_date, chat_id, changed_at, actor_user_id, user_id,
       CASE WHEN new_status = 'kicked' THEN 'ban'
            WHEN old_status = 'kicked' THEN 'unban'
            WHEN old_status IN ('left') AND coalesce(via_join_request, false)
                THEN 'approve join request'
            WHEN new_status = 'left' THEN 'remove'
            WHEN old_status = 'restricted' AND new_status = 'restricted' THEN 'change restrictions'
            WHEN new_status = 'restricted' THEN 'restrict'
            WHEN old_status = 'restricted' THEN 'lift restrictions'
            WHEN old_status = 'administrator' AND new_status = 'administrator'
                THEN 'change admin rights'
            WHEN new_status = 'administrator' THEN 'promote'
            WHEN old_status = 'administrator' THEN 'demote'
            WHEN new_status = 'creator' OR old_status = 'creator' THEN 'transfer ownership'
            ELSE old_status || ' to ' || new_status END AS action,
       old_status, new_status
FROM "telegram_members"
WHERE update_kind = 'chat_member' AND actor_user_id IS NOT NULL AND user_id IS NOT NULL
  AND actor_user_id <> user_id
  AND NOT (old_status = 'left' AND new_status = 'member' AND NOT coalesce(via_join_request, false))
ORDER BY context_date, chat_id, changed_at, user_id"""

REPORTS: tuple[Report, ...] = (
    Report(
        name="member_count",
        sort_keys=("chat_id", "context_date"),
        title="Member count",
        sql=_MEMBER_COUNT,
        question="How many members does each chat have, day by day (daily snapshots)?",
    ),
    Report(
        name="joins_by_source",
        sort_keys=("context_date", "chat_id", "-joins", "source"),
        title="Joins by source",
        sql=_JOINS_BY_SOURCE,
        question="How do people join: which invite link, a join request, added by a member?",
    ),
    Report(
        name="top_inviters",
        sort_keys=("chat_id", "-invited", "user_id"),
        title="Top inviters",
        sql=_TOP_INVITERS,
        question="Who brings people in, by invite link or by adding them?",
    ),
    Report(
        name="admin_actions",
        sort_keys=("context_date", "chat_id", "changed_at", "user_id", "action"),
        title="Admin actions",
        sql=_ADMIN_ACTIONS,
        question="Who banned, removed, restricted or promoted whom, and when?",
    ),
)

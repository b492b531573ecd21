"""Engagement, retention, membership, reactions and edits on small lakes computed by hand.

Each test writes its own lake, so its calendar and "today" are its own.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from small_lakes import at, message, report_rows, write_lake

from telelake.analytics.reports.scope import Scope
from telelake.lake.tables import MEMBERS, MESSAGES, REACTION_COUNTS, REACTIONS, SERVICE, UPDATES


def post(chat: int, mid: int, user: int, day: tuple[int, int, int], **extra: Any) -> dict:
    return message(chat, mid, user, at(*day), **extra)


def member(chat: int, uid: int, user: int, actor: int, old: str, new: str, when: int,
           **extra: Any) -> dict[str, Any]:  # fmt: skip
    row = {"update_id": uid, "update_kind": "chat_member", "chat_id": chat, "user_id": user,
           "actor_user_id": actor, "old_status": old, "new_status": new, "date": when,
           "user_first_name": f"P{user}", "user_is_bot": False}  # fmt: skip
    row.update(extra)
    return row


def test_dau_wau_mau_count_distinct_posters_over_trailing_windows(tmp_path: Path) -> None:
    # P1 posts on Mar 1 and 3, P2 on Mar 2, P3 on Mar 10; Mar 4 has a message of
    # another chat only, so it is a day of the lake on which chat -20 is silent.
    write_lake(tmp_path, MESSAGES, [
        post(-20, 1, 1, (2025, 3, 1)), post(-20, 2, 2, (2025, 3, 2)),
        post(-20, 3, 1, (2025, 3, 3)), post(-20, 4, 3, (2025, 3, 10)),
        post(-21, 1, 8, (2025, 3, 4)),
    ])  # fmt: skip
    columns, rows = report_rows(tmp_path, "engagement")
    assert columns == ["chat_id", "context_date", "dau", "wau", "mau", "stickiness"]
    chat20 = [r[1:] for r in rows if r[0] == -20]
    assert chat20 == [
        (date(2025, 3, 1), 1, 1, 1, 1.0),
        (date(2025, 3, 2), 1, 2, 2, 0.5),
        (date(2025, 3, 3), 1, 2, 2, 0.5),
        (date(2025, 3, 4), 0, 2, 2, 0.0),
        # Mar 4..10 holds P3 only; Feb 9..Mar 10 all three.
        (date(2025, 3, 10), 1, 1, 3, 1 / 3),
    ]
    # --since keeps the rows from that day on, counted with the days before; --chat
    # reads that chat alone, so Mar 4 (a day of chat -21 only) is not one of its days.
    _, since = report_rows(tmp_path, "engagement", Scope(since=date(2025, 3, 3), chat=-20))
    assert [r[1:5] for r in since] == [(date(2025, 3, 3), 1, 2, 2), (date(2025, 3, 10), 1, 1, 3)]


def test_weekly_cohorts_across_a_year_end(tmp_path: Path) -> None:
    # Monday 2024-12-30 starts ISO week 2025-W01; Sunday 2024-12-29 is in the week of Dec 23.
    write_lake(tmp_path, MESSAGES, [
        post(-30, 1, 1, (2024, 12, 30)), post(-30, 2, 1, (2025, 1, 6)),
        post(-30, 3, 2, (2024, 12, 29)), post(-30, 4, 2, (2025, 1, 1)),
        post(-30, 5, 2, (2025, 1, 8)), post(-30, 6, 3, (2025, 1, 2)),
    ])  # fmt: skip
    columns, rows = report_rows(tmp_path, "retention_cohorts")
    assert columns == ["chat_id", "cohort_week", "weeks_after", "cohort_size", "active"]
    dec23, dec30 = date(2024, 12, 23), date(2024, 12, 30)
    assert rows == [
        (-30, dec23, 0, 1, 1), (-30, dec23, 1, 1, 1), (-30, dec23, 2, 1, 1),
        (-30, dec30, 0, 2, 2), (-30, dec30, 1, 2, 1),
    ]  # fmt: skip


def inactive_lake(root: Path) -> None:
    chat = -40
    write_lake(root, MESSAGES, [
        post(chat, 1, 1, (2025, 5, 20)),                       # silent 41 days
        post(chat, 2, 2, (2025, 5, 20)),                       # then left
        post(chat, 3, 4, (2025, 5, 10)), post(chat, 4, 4, (2025, 5, 15)),  # left, came back
        post(chat, 5, 5, (2025, 6, 20)),                       # posted 10 days ago
        post(chat, 6, 8, (2025, 4, 1)),                        # then banned
    ])  # fmt: skip
    write_lake(root, MEMBERS, [
        member(chat, 10, 2, 2, "member", "left", at(2025, 5, 25)),
        member(chat, 11, 6, 6, "left", "member", at(2025, 6, 15)),  # joined, silent 15 days
        member(chat, 12, 8, 100, "member", "kicked", at(2025, 5, 1)),
    ])  # fmt: skip
    write_lake(root, SERVICE, [
        {"update_id": 20, "message_id": 90, "chat_id": chat, "user_id": 3, "date": at(2025, 5, 1),
         "event": "new_chat_members", "member_user_id": 3, "member_is_bot": False},
        {"update_id": 21, "message_id": 91, "chat_id": chat, "user_id": 4,
         "date": at(2025, 5, 11), "event": "left_chat_member", "member_user_id": 4,
         "member_is_bot": False},
        {"update_id": 22, "message_id": 92, "chat_id": chat, "user_id": 1, "date": at(2025, 4, 1),
         "event": "new_chat_members", "member_user_id": 7, "member_is_bot": True},
    ])  # fmt: skip
    # The lake's last day: an update of any kind on 2025-06-30.
    write_lake(root, UPDATES, [{"update_id": 99, "update_kind": "message", "chat_id": chat,
                                "date": at(2025, 6, 30), "raw_key": "k"}])  # fmt: skip


def test_inactive_members_leave_out_who_left_and_bots(tmp_path: Path) -> None:
    inactive_lake(tmp_path)
    columns, rows = report_rows(tmp_path, "inactive_members")
    assert columns == ["chat_id", "user_id", "last_message_date", "days_silent"]
    assert rows == [
        (-40, 3, None, 60),  # joined May 1, never posted
        (-40, 4, date(2025, 5, 15), 46),  # posted after leaving: back in the chat
        (-40, 1, date(2025, 5, 20), 41),
    ]
    _, fewer = report_rows(tmp_path, "inactive_members", Scope(days=12))
    assert [(r[1], r[3]) for r in fewer] == [(3, 60), (4, 46), (1, 41), (6, 15)]


def membership_lake(root: Path) -> None:
    chat, when = -50, at(2025, 7, 1, 9)
    write_lake(root, MEMBERS, [
        member(chat, 1, 1, 1, "left", "member", when, invite_link_name="spring",
               invite_link_creator_user_id=100),
        member(chat, 2, 2, 100, "left", "member", when + 1, via_join_request=True),
        member(chat, 3, 3, 1, "left", "member", when + 2),
        member(chat, 4, 5, 5, "left", "member", when + 3, invite_link_creator_user_id=100),
        member(chat, 5, 6, 100, "member", "kicked", when + 10),
        member(chat, 6, 7, 100, "member", "administrator", when + 11),
        member(chat, 7, 8, 100, "member", "restricted", when + 12),
    ])  # fmt: skip
    write_lake(root, SERVICE, [
        {"update_id": 8, "message_id": 1, "chat_id": chat, "user_id": 4, "date": when + 4,
         "event": "new_chat_members", "member_user_id": 4},
        # The service message of the join P1 made (chat_member update 3): one join.
        {"update_id": 9, "message_id": 2, "chat_id": chat, "user_id": 1, "date": when + 2,
         "event": "new_chat_members", "member_user_id": 3},
    ])  # fmt: skip


def test_joins_by_source_count_a_join_seen_twice_once(tmp_path: Path) -> None:
    membership_lake(tmp_path)
    columns, rows = report_rows(tmp_path, "joins_by_source")
    assert columns == ["context_date", "chat_id", "source", "joins"]
    day = date(2025, 7, 1)
    assert rows == [
        (day, -50, "added by a member", 1),
        (day, -50, "invite link", 1),
        (day, -50, "invite link: spring", 1),
        (day, -50, "join request", 1),
        (day, -50, "joined by themselves", 1),
    ]


def test_top_inviters_are_link_creators_and_members_who_add(tmp_path: Path) -> None:
    membership_lake(tmp_path)
    columns, rows = report_rows(tmp_path, "top_inviters")
    assert columns == ["chat_id", "user_id", "invited", "by_invite_link", "added"]
    assert rows == [(-50, 100, 2, 2, 0), (-50, 1, 1, 0, 1)]


def test_admin_actions_name_what_an_admin_did(tmp_path: Path) -> None:
    membership_lake(tmp_path)
    _, rows = report_rows(tmp_path, "admin_actions")
    assert [(r[3], r[4], r[5]) for r in rows] == [
        (100, 2, "approve join request"),
        (100, 6, "ban"),
        (100, 7, "promote"),
        (100, 8, "restrict"),
    ]


def test_reactions_count_what_each_person_has_now_and_edits_their_median(tmp_path: Path) -> None:
    chat, day = -60, (2025, 8, 1)
    write_lake(tmp_path, MESSAGES, [
        post(chat, 1, 1, day, text="hello"), post(chat, 2, 2, day, text="world"),
        *(post(chat, mid, 1, day, edit_date=at(*day) + wait)
          for mid, wait in ((3, 30), (4, 90), (5, 10), (6, 70))),
    ])  # fmt: skip
    when = at(*day, 13)
    write_lake(tmp_path, REACTIONS, [
        {"update_id": 1, "chat_id": chat, "message_id": 1, "user_id": 2, "date": when,
         "old_reactions": [], "new_reactions": ["👍"]},
        {"update_id": 2, "chat_id": chat, "message_id": 1, "user_id": 2, "date": when,
         "old_reactions": ["👍"], "new_reactions": ["👍", "❤"]},
        {"update_id": 3, "chat_id": chat, "message_id": 1, "user_id": 3, "date": when,
         "old_reactions": [], "new_reactions": ["🔥"]},
        {"update_id": 4, "chat_id": chat, "message_id": 1, "user_id": 3, "date": when,
         "old_reactions": ["🔥"], "new_reactions": []},
        {"update_id": 5, "chat_id": chat, "message_id": 2, "user_id": 3, "date": when,
         "old_reactions": [], "new_reactions": ["👍"]},
    ])  # fmt: skip
    write_lake(tmp_path, REACTION_COUNTS, [
        {"update_id": 10, "chat_id": chat, "message_id": 2, "date": when, "reaction": "👍",
         "total_count": 3},
        {"update_id": 11, "chat_id": chat, "message_id": 2, "date": when, "reaction": "👍",
         "total_count": 4},
    ])  # fmt: skip
    _, top = report_rows(tmp_path, "top_reacted_messages")
    assert top == [(chat, 1, 2, 2, date(*day), 5, "world"), (chat, 2, 1, 1, date(*day), 2, "hello")]
    _, authors = report_rows(tmp_path, "top_reacted_authors")
    assert authors == [(chat, 2, 5, 1), (chat, 1, 2, 1)]
    # A person's page counts the same: P1 has 👍❤ from P2 (P3's 🔥 was taken back).
    columns, people = report_rows(tmp_path, "people")
    received = columns.index("reactions_received")
    assert {row[1]: row[received] for row in people} == {1: 2, 2: 5}
    columns, edits = report_rows(tmp_path, "edits")
    assert columns == ["context_date", "chat_id", "messages", "edited", "median_edit_seconds"]
    assert edits == [(date(*day), chat, 6, 4, 50.0)]  # 10, 30, 70, 90: (30 + 70) / 2


def test_this_period_against_the_one_before(tmp_path: Path) -> None:
    chat = -70
    write_lake(tmp_path, MESSAGES, [
        post(chat, 1, 1, (2025, 7, 31)),                           # before both periods
        post(chat, 2, 1, (2025, 8, 1)), post(chat, 3, 1, (2025, 8, 10)),    # previous
        post(chat, 4, 1, (2025, 8, 11)), post(chat, 5, 2, (2025, 8, 15), reply_to_message_id=4),
        post(chat, 6, 1, (2025, 8, 20)),                           # this period
        post(chat, 7, 3, (2025, 8, 21)),                           # after
    ])  # fmt: skip
    write_lake(tmp_path, MEMBERS, [member(chat, 1, 2, 2, "left", "member", at(2025, 8, 12))])
    write_lake(tmp_path, REACTIONS, [
        {"update_id": 2, "chat_id": chat, "message_id": 2, "user_id": 3, "date": at(2025, 8, 5),
         "old_reactions": [], "new_reactions": ["👍", "❤"]},
    ])  # fmt: skip
    scope = Scope(since=date(2025, 8, 11), until=date(2025, 8, 20))
    columns, rows = report_rows(tmp_path, "period_comparison", scope)
    assert columns == [
        "chat_id", "measure", "period_start", "period_end", "this_period", "previous_period",
        "change", "change_percent",
    ]  # fmt: skip
    assert {r[2:4] for r in rows} == {(date(2025, 8, 11), date(2025, 8, 20))}
    assert [(r[1], r[4], r[5], r[6], r[7]) for r in rows] == [
        ("messages", 3, 2, 1, 50.0),
        ("posters", 2, 1, 1, 100.0),
        ("new_members", 1, 0, 1, None),
        ("replies", 1, 0, 1, None),
        ("reactions", 0, 2, -2, -100.0),
    ]

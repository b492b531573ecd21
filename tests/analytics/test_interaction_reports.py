"""Who talks with whom, on a small lake whose answers are worked out by hand.

Chat -10, 2025-03-03 (UTC), people 1, 2, 3 and a bot (9):

    m1  10:00 P1                         m7  10:06 P1 replies to m2 (P2's)
    m2  10:01 P2 replies to m1           --- 40 minutes of silence ---
    m3  10:02 P1 replies to m1 (self)    m8  10:46 P3 replies to m1
    m4  10:03 bot                        m9  10:47 P2 replies to m8 (P3's)
    m5  10:04 P3 replies to m4 (the bot) m10 10:48 P2 replies to m99 (not in the lake)
    m6  10:05 P2 replies to m3 (P1's)    m11 10:50 P2 replies to m7 (P1's)
    m12 2025-03-04 09:00 P3

Replies between people: P2->P1 m2, m6, m11; P1->P2 m7; P3->P1 m8; P2->P3 m9.
Waits of P2: m2 60 s, m6 180 s, m9 60 s, m11 2640 s (10:06 -> 10:50): sorted
60, 60, 180, 2640, an even count: median (60 + 180) / 2 = 120.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from small_lakes import at, message, report_rows, write_lake

from telelake.analytics.reports.scope import Scope
from telelake.lake.tables import MESSAGES

CHAT = -10
D = (2025, 3, 3)


def m(mid: int, user: int, minute: int, reply: int | None = None, **extra: object) -> dict:
    return message(CHAT, mid, user, at(*D, 10, minute), reply_to_message_id=reply, **extra)


MESSAGES_A = [
    m(1, 1, 0, mentions=["@Bo_b", "@nobody"]),
    m(2, 2, 1, 1, user_username="bo_b", mentions=["@bo_b"]),
    m(3, 1, 2, 1),
    m(4, 9, 3, user_is_bot=True),
    m(5, 3, 4, 4),
    m(6, 2, 5, 3),
    m(7, 1, 6, 2),
    m(8, 3, 46, 1),
    m(9, 2, 47, 8),
    m(10, 2, 48, 99),
    m(11, 2, 50, 7),
    message(CHAT, 12, 3, at(2025, 3, 4, 9, 0)),
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    enriched = tmp_path_factory.mktemp("interaction") / "enriched"
    write_lake(enriched, MESSAGES, MESSAGES_A)
    return enriched


def test_reply_pairs_leave_out_self_replies_bots_and_missing_messages(lake: Path) -> None:
    columns, rows = report_rows(lake, "reply_pairs")
    assert columns == ["chat_id", "user_id", "replied_to_user_id", "replies"]
    assert rows == [(CHAT, 2, 1, 3), (CHAT, 1, 2, 1), (CHAT, 2, 3, 1), (CHAT, 3, 1, 1)]


def test_response_times_median_of_an_even_count_is_the_mean_of_the_middle_two(
    lake: Path,
) -> None:
    columns, rows = report_rows(lake, "response_times")
    assert columns == ["chat_id", "user_id", "replies", "median_seconds"]
    assert rows == [(CHAT, 2, 4, 120.0), (CHAT, 1, 1, 300.0), (CHAT, 3, 1, 2760.0)]


def test_mentions_resolve_usernames_case_blind_and_leave_out_oneself(lake: Path) -> None:
    columns, rows = report_rows(lake, "mention_pairs")
    assert columns == ["chat_id", "user_id", "mentioned_user_id", "mentioned_username", "mentions"]
    assert rows == [(CHAT, 1, 2, "bo_b", 1), (CHAT, 1, None, "nobody", 1)]


def test_conversations_split_at_30_minutes_of_silence(lake: Path) -> None:
    columns, rows = report_rows(lake, "conversations")
    assert columns == [
        "chat_id", "conversation", "context_date", "started_at", "ended_at",
        "duration_seconds", "started_by_user_id", "messages", "participants",
    ]  # fmt: skip
    assert [(r[1], r[2], r[5], r[6], r[7], r[8]) for r in rows] == [
        (1, date(2025, 3, 3), 360, 1, 7, 4),  # P1, P2, the bot, P3
        (2, date(2025, 3, 3), 240, 3, 4, 2),
        (3, date(2025, 3, 4), 0, 3, 1, 1),
    ]
    assert rows[1][3:5] == (datetime(2025, 3, 3, 10, 46), datetime(2025, 3, 3, 10, 50))


def test_a_longer_gap_joins_conversations(lake: Path) -> None:
    _, rows = report_rows(lake, "conversations", Scope(gap_minutes=45))
    assert [(r[1], r[7]) for r in rows] == [(1, 11), (2, 1)]


def test_longest_silences_and_who_broke_them(lake: Path) -> None:
    columns, rows = report_rows(lake, "longest_silences")
    assert columns[:3] == ["chat_id", "silence_rank", "silence_seconds"]
    # 10:50 -> next day 09:00 is 22 h 10 min; then the 40 minutes; then 10:48 -> 10:50.
    assert [(r[1], r[2], r[6]) for r in rows[:3]] == [(1, 79800, 3), (2, 2400, 3), (3, 120, 2)]
    assert rows[0][3:5] == (datetime(2025, 3, 3, 10, 50), datetime(2025, 3, 4, 9, 0))
    assert len(rows) == 10  # eight gaps of 60 s tie: the first seven by time are kept
    assert rows[-1][4] == datetime(2025, 3, 3, 10, 47)


def test_people_count_replies_both_ways(lake: Path) -> None:
    columns, rows = report_rows(lake, "people")
    assert columns == [
        "chat_id", "user_id", "user_first_name", "user_username", "user_is_bot", "messages",
        "first_message_date", "last_message_date", "replies_sent", "replies_received",
        "reactions_received",
    ]  # fmt: skip
    first, second = date(2025, 3, 3), date(2025, 3, 4)
    assert rows == [
        (CHAT, 2, "P2", "bo_b", False, 5, first, first, 4, 1, 0),
        (CHAT, 1, "P1", None, False, 3, first, first, 1, 4, 0),
        (CHAT, 3, "P3", None, False, 3, first, second, 1, 1, 0),
        (CHAT, 9, "P9", None, True, 1, first, first, 0, 0, 0),
    ]


def test_a_scope_restricts_dates_and_chat(lake: Path) -> None:
    _, whole = report_rows(lake, "reply_pairs")
    assert report_rows(lake, "reply_pairs", Scope(until=date(2025, 3, 3), chat=CHAT))[1] == whole
    assert report_rows(lake, "reply_pairs", Scope(chat=-999))[1] == []
    assert report_rows(lake, "reply_pairs", Scope(since=date(2025, 3, 4)))[1] == []
    _, rows = report_rows(lake, "people", Scope(since=date(2025, 3, 4)))
    assert [(r[1], r[5]) for r in rows] == [(3, 1)]

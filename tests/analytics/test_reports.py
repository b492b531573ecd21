"""The four built-in reports on a hand-made lake return the rows worked out by hand.

The lake (conftest ``sample_lake``):

    2024-01-07 (Sunday, ISO week 1)         2024-01-08 (Monday, ISO week 2)
    1 Ana "hi"     10:00 UTC                4 Bo  "😀é"   00:30 UTC
    2 Ana "hey"    10:30                    5 Ana "abcd"  01:00
    3 Bo  (photo)  23:59:59                 6 Ana "abcde" 01:45
    7 Cy  "x"      12:00
"""

from __future__ import annotations

import calendar
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telelake.analytics.engine import Engine, Result
from telelake.analytics.reports import REPORTS, Report, get_report, run_report, sort_rows
from telelake.errors import UsageError
from telelake.lake.tables import MESSAGES, arrow_schema

SUN, MON = date(2024, 1, 7), date(2024, 1, 8)

EXPECTED = {
    "messages_per_day": [(MON, 3), (SUN, 4)],
    "messages_per_user_per_day": [
        (1, "Ana", MON, 2),
        (2, "Bo", MON, 1),
        (1, "Ana", SUN, 2),
        (2, "Bo", SUN, 1),
        (3, "Cy", SUN, 1),
    ],
    # Ana: avg(2, 3) = 2.5 -> 3 and avg(4, 5) = 4.5 -> 5 (Trino rounds half away
    # from zero); Bo's Sunday message has no text: avg of nothing is NULL.
    "average_length_per_user_per_day": [
        (1, "Ana", MON, 5),
        (2, "Bo", MON, 2),
        (1, "Ana", SUN, 3),
        (2, "Bo", SUN, None),
        (3, "Cy", SUN, 1),
    ],
    # (hour UTC, ISO weekday, ISO week, messages); Sunday is 7, so week 1's
    # Sunday comes before week 2's Monday.
    "messages_per_hour_weekday_week": [
        (10, 7, 1, 2),
        (12, 7, 1, 1),
        (23, 7, 1, 1),
        (0, 1, 2, 1),
        (1, 1, 2, 2),
    ],
}

# The original design's SQL, as given; the reports must keep it verbatim.
ORIGINAL_SQL = {
    "messages_per_day": 'SELECT context_date, count(1) AS "message_amount" FROM "telegram" '
    "GROUP BY context_date ORDER BY context_date DESC",
    "messages_per_user_per_day": "SELECT user_id, user_first_name, context_date, count(1) AS "
    '"message_amount" FROM "telegram" GROUP BY user_id, user_first_name, context_date '
    "ORDER BY context_date DESC",
    "average_length_per_user_per_day": "SELECT user_id, user_first_name, context_date, "
    'CAST(AVG(length(text)) AS INT) AS "average_message_length" FROM "telegram" '
    "GROUP BY user_id, user_first_name, context_date ORDER BY context_date DESC",
    "messages_per_hour_weekday_week": """
        WITH parsed_date_cte AS (
            SELECT *, CAST(date_format(from_unixtime("date"),'%Y-%m-%d %H:%i:%s') AS timestamp)
            AS parsed_date FROM "telegram"),
        hour_week_cte AS (
            SELECT *, EXTRACT(hour FROM parsed_date) AS parsed_date_hour,
                   EXTRACT(dow FROM parsed_date) AS parsed_date_weekday,
                   EXTRACT(week FROM parsed_date) AS parsed_date_weeknum
            FROM parsed_date_cte)
        SELECT parsed_date_hour, parsed_date_weekday, parsed_date_weeknum,
               count(1) AS "message_amount"
        FROM hour_week_cte
        GROUP BY parsed_date_hour, parsed_date_weekday, parsed_date_weeknum
        ORDER BY parsed_date_weeknum, parsed_date_weekday""",
}


def _words(sql: str) -> list[str]:
    return sql.split()


def test_the_four_reports_exist_in_order() -> None:
    assert [report.name for report in REPORTS][:4] == list(EXPECTED)
    assert all(report.dialect == "athena" for report in REPORTS)


@pytest.mark.parametrize("name", list(ORIGINAL_SQL))
def test_report_sql_is_the_original_verbatim(name: str) -> None:
    assert _words(get_report(name).sql) == _words(ORIGINAL_SQL[name])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_report_returns_the_hand_computed_rows(sample_lake, name: str) -> None:
    with Engine(str(sample_lake.root)) as engine:
        result = run_report(engine, get_report(name))
    assert result.rows == EXPECTED[name]


def test_report_columns_keep_the_original_names(sample_lake) -> None:
    with Engine(str(sample_lake.root)) as engine:
        columns = {r.name: run_report(engine, r).columns for r in REPORTS[:4]}
    assert columns == {
        "messages_per_day": ["context_date", "message_amount"],
        "messages_per_user_per_day": [
            "user_id",
            "user_first_name",
            "context_date",
            "message_amount",
        ],
        "average_length_per_user_per_day": [
            "user_id",
            "user_first_name",
            "context_date",
            "average_message_length",
        ],
        "messages_per_hour_weekday_week": [
            "parsed_date_hour",
            "parsed_date_weekday",
            "parsed_date_weeknum",
            "message_amount",
        ],
    }


@pytest.mark.parametrize(
    "name", ["average_length_per_user_per_day", "messages_per_hour_weekday_week"]
)
def test_plain_translation_would_get_these_reports_wrong(sample_lake, name: str) -> None:
    """The lake exercises the Trino/DuckDB differences: translation alone is not enough."""
    report = get_report(name)
    plain = sqlglot.transpile(report.sql, read="athena", write="duckdb")[0]
    with Engine(str(sample_lake.root)) as engine:
        naive = run_report(
            engine, Report(report.name, report.title, plain, "duckdb", report.sort_keys)
        )
    assert naive.rows != EXPECTED[name]


def test_reports_on_an_empty_lake_have_no_rows(tmp_path) -> None:
    with Engine(str(tmp_path)) as engine:
        for report in REPORTS:
            assert run_report(engine, report).rows == []


def test_unknown_report_lists_the_names() -> None:
    with pytest.raises(UsageError) as caught:
        get_report("nope")
    for report in REPORTS:
        assert report.name in str(caught.value)


def test_sort_rows_refines_ties_and_puts_nulls_last() -> None:
    result = Result(
        columns=["day", "user"],
        rows=[(1, "b"), (2, None), (1, None), (2, "a"), (1, "a"), (None, "z")],
    )
    assert sort_rows(result, ("-day", "user")) == [
        (2, "a"),
        (2, None),
        (1, "a"),
        (1, "b"),
        (1, None),
        (None, "z"),
    ]
    assert sort_rows(result, ("missing_column",)) == result.rows


# --- the reports beyond the original four --------------------------------------
#
# A second hand-made lake, two chats in America/Sao_Paulo (UTC-3 all year since
# 2019), so context_date and the local hours are the UTC times minus three hours:
#
#   chat -100 "Alpha" (supergroup)                 chat -200 "Beta" (group)
#   2024-03-01, a Friday (ISO 5)                   2024-03-01
#   A1 Ana(1)  12:00Z  09:00 local  text           B1 Ana(1) 20:00Z 17:00 local  text
#   A2 Bo(2)   12:10Z  09:10  photo, reply A1      B2 Di(4)  03-02 01:00Z, still
#   A3 Ana(1)  12:20Z  09:20  text, reply A2          03-01 22:00 local  text
#   A4 "Ana Maria"(1) 13:00Z 10:00 text, reply A3 (her own message)
#   2024-03-02, a Saturday (ISO 6)
#   A5 Cy(3)   10:00Z  07:00  sticker, reply A1 (22 h later)
#   A6 Bo(2)   10:30Z  07:30  text, forwarded
#   A7 anonymous admin 11:00Z 08:00 text
#
# A2..A5 are in the reply thread of A1 (message_thread_id 1).

D1, D2 = date(2024, 3, 1), date(2024, 3, 2)
ALPHA, BETA = -100, -200


def _utc(day: int, hour: int, minute: int = 0) -> int:
    return calendar.timegm((2024, 3, day, hour, minute, 0, 0, 0, 0))


def _msg(chat: int, mid: int, user: int | None, name: str | None, sent: int, **extra: Any):
    title, kind = ("Alpha", "supergroup") if chat == ALPHA else ("Beta", "group")
    row = {
        "message_id": mid, "user_id": user, "user_first_name": name, "user_is_bot": False,
        "chat_id": chat, "chat_type": kind, "chat_title": title, "date": sent,
        "update_id": 5000 + mid + (100 if chat == BETA else 0), "content_type": "text",
        "sent_at": datetime.fromtimestamp(sent, UTC).replace(tzinfo=None),
        "sent_at_local": datetime.fromtimestamp(sent - 3 * 3600, UTC).replace(tzinfo=None),
    }  # fmt: skip
    row.update(extra)
    return row


ALPHA_D1 = [
    _msg(ALPHA, 1, 1, "Ana", _utc(1, 12), chat_title="Alpha old", text="hi"),
    _msg(ALPHA, 2, 2, "Bo", _utc(1, 12, 10), content_type="photo", reply_to_message_id=1,
         message_thread_id=1),
    _msg(ALPHA, 3, 1, "Ana", _utc(1, 12, 20), reply_to_message_id=2, message_thread_id=1),
    _msg(ALPHA, 4, 1, "Ana Maria", _utc(1, 13), reply_to_message_id=3, message_thread_id=1),
]  # fmt: skip
ALPHA_D2 = [
    _msg(ALPHA, 5, 3, "Cy", _utc(2, 10), content_type="sticker", reply_to_message_id=1,
         message_thread_id=1),
    _msg(ALPHA, 6, 2, "Bo", _utc(2, 10, 30), forward_origin_type="user"),
    _msg(ALPHA, 7, None, None, _utc(2, 11), sender_chat_id=ALPHA),
]  # fmt: skip
BETA_D1 = [
    _msg(BETA, 1, 1, "Ana", _utc(1, 20)),
    _msg(BETA, 2, 4, "Di", _utc(2, 1)),
]


def _service(chat: int, update: int, event: str, member: int, sent: int) -> dict[str, Any]:
    return {"update_id": update, "chat_id": chat, "event": event, "member_user_id": member,
            "date": sent}  # fmt: skip


def _member(kind: str, chat: int, update: int, user: int, old: str, new: str, sent: int):
    return {"update_id": update, "update_kind": kind, "chat_id": chat, "user_id": user,
            "old_status": old, "new_status": new, "date": sent}  # fmt: skip


@pytest.fixture
def group_lake(lake):
    lake.write(D1, ALPHA_D1 + BETA_D1)
    lake.write(D2, ALPHA_D2)
    # Two joins on D1; the first is also seen as a chat_member update (same
    # member, same second): one join. On D2 member 10 leaves and 12 is kicked
    # (both departures), 13 is promoted (no change), 14 is let back into Beta.
    lake.write(D1, [_service(ALPHA, 900, "new_chat_members", 10, _utc(1, 14)),
                    _service(ALPHA, 901, "new_chat_members", 11, _utc(1, 15)),
                    _service(ALPHA, 902, "pinned_message", 0, _utc(1, 15))],
               "telegram_service")  # fmt: skip
    lake.write(D2, [_service(ALPHA, 903, "left_chat_member", 10, _utc(2, 14))],
               "telegram_service")  # fmt: skip
    lake.write(D1, [_member("chat_member", ALPHA, 900, 10, "left", "member", _utc(1, 14)),
                    _member("my_chat_member", BETA, 910, 99, "left", "member", _utc(1, 16))],
               "telegram_members")  # fmt: skip
    lake.write(D2, [_member("chat_member", ALPHA, 911, 12, "member", "kicked", _utc(2, 15)),
                    _member("chat_member", ALPHA, 912, 13, "member", "administrator", _utc(2, 15)),
                    _member("chat_member", BETA, 913, 14, "kicked", "member", _utc(2, 16))],
               "telegram_members")  # fmt: skip
    # Reactions: Bo adds 👍 to A1, Cy adds 👍 and 🔥; on D2 Bo swaps 👍 for ❤ (an
    # addition of ❤; removals are not counted). Beta's anonymous 🎉 total on B1
    # grows from 3 to 5: the latest total counts, on the day of its update.
    lake.write(D1, [
        {"update_id": 920, "chat_id": ALPHA, "message_id": 1, "user_id": 2,
         "old_reactions": [], "new_reactions": ["👍"]},
        {"update_id": 921, "chat_id": ALPHA, "message_id": 1, "user_id": 3,
         "old_reactions": [], "new_reactions": ["👍", "🔥"]},
    ], "telegram_reactions")  # fmt: skip
    lake.write(D2, [{"update_id": 922, "chat_id": ALPHA, "message_id": 1, "user_id": 2,
                     "old_reactions": ["👍"], "new_reactions": ["❤"]}],
               "telegram_reactions")  # fmt: skip
    lake.write(D1, [{"update_id": 930, "chat_id": BETA, "message_id": 1, "reaction": "🎉",
                     "total_count": 3}], "telegram_reaction_counts")  # fmt: skip
    lake.write(D2, [{"update_id": 931, "chat_id": BETA, "message_id": 1, "reaction": "🎉",
                     "total_count": 5}], "telegram_reaction_counts")  # fmt: skip
    return lake


GROUP_EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    # Latest title of Alpha wins; posters exclude the anonymous admin.
    "chats": [
        (ALPHA, "Alpha", "supergroup", 7, 3, D1, D2),
        (BETA, "Beta", "group", 2, 2, D1, D1),
    ],
    # (day, chat, messages, active, new, returning): on D2 Cy is new, Bo returns.
    "daily_active_users": [
        (D1, BETA, 2, 2, 2, 0),
        (D1, ALPHA, 4, 2, 2, 0),
        (D2, ALPHA, 3, 2, 1, 1),
    ],
    "messages_by_content_type": [
        (D1, BETA, "text", 2),
        (D1, ALPHA, "text", 3),
        (D1, ALPHA, "photo", 1),
        (D2, ALPHA, "text", 2),
        (D2, ALPHA, "sticker", 1),
    ],
    # Ana's latest name in Alpha is "Ana Maria"; Beta's tie (1 each) goes to the lower id.
    "top_posters": [
        (D1, BETA, 1, 1, "Ana", 1),
        (D1, BETA, 2, 4, "Di", 1),
        (D1, ALPHA, 1, 1, "Ana Maria", 3),
        (D1, ALPHA, 2, 2, "Bo", 1),
        (D2, ALPHA, 2, 2, "Bo", 1),
        (D2, ALPHA, 3, 3, "Cy", 1),
    ],
    # (day, chat, ISO weekday, local hour, messages)
    "activity_heatmap": [
        (D1, BETA, 5, 17, 1),
        (D1, BETA, 5, 22, 1),
        (D1, ALPHA, 5, 9, 3),
        (D1, ALPHA, 5, 10, 1),
        (D2, ALPHA, 6, 7, 2),
        (D2, ALPHA, 6, 8, 1),
    ],
    "members_joined_left": [(D1, ALPHA, 2, 0), (D2, BETA, 1, 0), (D2, ALPHA, 0, 2)],
    # (day, chat, messages, replies, threads, forwards, answered, median seconds):
    # A2 and A3 answer someone else after 600 s; A4 answers herself (not timed);
    # A5 answers A1 of the day before, 22 h = 79,200 s later.
    "replies_and_threads": [
        (D1, BETA, 2, 0, 0, 0, 0, None),
        (D1, ALPHA, 4, 3, 1, 0, 2, 600),
        (D2, ALPHA, 3, 1, 1, 1, 1, 79200),
    ],
    "reactions": [
        (D1, ALPHA, "👍", 2),
        (D1, ALPHA, "🔥", 1),
        (D2, BETA, "🎉", 5),
        (D2, ALPHA, "❤", 1),
    ],
}


def test_the_original_four_come_first_and_every_report_is_athena() -> None:
    names = [report.name for report in REPORTS]
    assert names[:4] == list(EXPECTED)
    assert set(GROUP_EXPECTED) <= set(names)
    assert len(names) == len(set(names))
    for report in REPORTS:
        assert report.dialect == "athena" and report.question and report.title
        sqlglot.parse_one(report.sql, read="athena")  # valid Athena syntax


@pytest.mark.parametrize("name", list(GROUP_EXPECTED))
def test_new_report_returns_the_hand_computed_rows(group_lake, name: str) -> None:
    with Engine(str(group_lake.root)) as engine:
        result = run_report(engine, get_report(name))
    assert [tuple(row) for row in result.rows] == GROUP_EXPECTED[name]


@pytest.mark.parametrize("name", list(GROUP_EXPECTED))
def test_new_reports_on_an_empty_lake_have_no_rows(tmp_path, name: str) -> None:
    with Engine(str(tmp_path)) as engine:
        assert run_report(engine, get_report(name)).rows == []


def test_new_reports_stay_small_on_a_busy_lake(lake) -> None:
    """Rows grow with days x chats, never with messages: 3,000 messages, 2 days."""
    rows = [
        _msg(ALPHA, i, i % 60, f"u{i % 60}", _utc(1 + i % 2, 9 + i % 12), reply_to_message_id=i - 1)
        for i in range(1, 3001)
    ]
    lake.write(D1, [r for r in rows if r["date"] < _utc(2, 3)])
    lake.write(D2, [r for r in rows if r["date"] >= _utc(2, 3)])
    with Engine(str(lake.root)) as engine:
        for name in GROUP_EXPECTED:
            result = run_report(engine, get_report(name))
            assert len(result.rows) <= 2 * 25 + 2 * 24, (name, len(result.rows))
        top = run_report(engine, get_report("top_posters"))
    assert {row[3] for row in top.rows} == set(range(25))  # 60 posters, the first 25 by id tie


_CHATS = st.sampled_from([ALPHA, BETA])
_MESSAGES = st.lists(
    st.tuples(
        _CHATS,
        st.one_of(st.none(), st.integers(1, 6)),  # sender; None: anonymous
        st.integers(0, 3 * 86400 - 1),  # seconds after 2024-03-01 00:00 local
        st.sampled_from(["text", "photo", "sticker"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(messages=_MESSAGES)
def test_daily_reports_match_a_plain_python_recount(tmp_path_factory, messages) -> None:
    """Per day and chat: messages, posters, first-timers, content types, local hours."""
    root = tmp_path_factory.mktemp("recount")
    start = _utc(1, 3)  # 2024-03-01 00:00 in UTC-3
    rows: dict[date, list[dict[str, Any]]] = {}
    expected_days: dict[tuple[date, int], list[Any]] = {}
    types: Counter[tuple[date, int, str]] = Counter()
    hours: Counter[tuple[date, int, int, int]] = Counter()
    first_day: dict[tuple[int, int], date] = {}
    for mid, (chat, user, offset, kind) in enumerate(sorted(messages, key=lambda m: m[2]), 1):
        day = date(2024, 3, 1 + offset // 86400)
        rows.setdefault(day, []).append(
            _msg(chat, mid, user, None if user is None else f"u{user}", start + offset,
                 content_type=kind)
        )  # fmt: skip
        if user is not None:
            first_day.setdefault((chat, user), day)
        types[(day, chat, kind)] += 1
        hours[(day, chat, day.isoweekday(), offset % 86400 // 3600)] += 1
    for day, chunk in rows.items():
        folder = root / "telegram" / f"context_date={day}"
        folder.mkdir(parents=True)
        columns = {f.name: pa.array([r.get(f.name) for r in chunk], type=f.type)
                   for f in arrow_schema(MESSAGES)}  # fmt: skip
        pq.write_table(
            pa.table(columns, schema=arrow_schema(MESSAGES)), folder / "part-00000.parquet"
        )
        for chat in (ALPHA, BETA):
            mine = [r for r in chunk if r["chat_id"] == chat]
            if not mine:
                continue
            users = {r["user_id"] for r in mine if r["user_id"] is not None}
            new = {u for u in users if first_day[(chat, u)] == day}
            expected_days[(day, chat)] = [len(mine), len(users), len(new), len(users - new)]
    with Engine(str(root)) as engine:
        daily = run_report(engine, get_report("daily_active_users")).rows
        kinds = run_report(engine, get_report("messages_by_content_type")).rows
        heat = run_report(engine, get_report("activity_heatmap")).rows
    assert {(r[0], r[1]): list(r[2:]) for r in daily} == expected_days
    assert {(r[0], r[1], r[2]): r[3] for r in kinds} == dict(types)
    assert {(r[0], r[1], r[2], r[3]): r[4] for r in heat} == dict(hours)

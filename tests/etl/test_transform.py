"""The pure raw -> rows transform: routing, de-duplication, latest edit, entities."""

from __future__ import annotations

import random
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from telelake.etl.transform import collect, transform
from telelake.lake import tables as contract

UTC = ZoneInfo("UTC")
CHAT = {"id": -1001, "type": "supergroup", "title": "Group"}


def message(
    update_id: int,
    message_id: int,
    text: str | None = "hi",
    *,
    kind: str = "message",
    date: int = 1_764_000_000,
    edit_date: int | None = None,
    chat: dict[str, Any] | None = None,
    **extra: Any,
) -> tuple[str, bytes]:
    payload: dict[str, Any] = {
        "message_id": message_id,
        "from": {"id": 42, "is_bot": False, "first_name": "Ana"},
        "chat": chat or CHAT,
        "date": date,
    }
    if text is not None:
        payload["text"] = text
    if edit_date is not None:
        payload["edit_date"] = edit_date
    payload.update(extra)
    body = orjson.dumps({"update_id": update_id, kind: payload})
    return f"telegram/context_date=2025-11-24/{update_id}.json", body


def rows(objects: list[tuple[str, bytes]], table: str = contract.MESSAGES) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = transform(objects, UTC)[table].to_pylist()
    return result


def test_seed_columns_have_the_original_meaning() -> None:
    [row] = rows([message(7, 100, "olá 👋", date=1_764_000_123)])
    assert row["message_id"] == 100
    assert row["user_id"] == 42
    assert row["user_is_bot"] is False
    assert row["user_first_name"] == "Ana"
    assert row["chat_id"] == -1001
    assert row["chat_type"] == "supergroup"
    assert row["text"] == "olá 👋"
    assert row["date"] == 1_764_000_123
    assert row["update_id"] == 7
    assert row["text_length"] == 5  # code points, as length() counts in Trino


def test_every_table_matches_its_declared_schema() -> None:
    tables = transform([message(1, 1)], UTC)
    assert set(tables) == set(contract.TABLES) - contract.WEEKLY
    for name, table in tables.items():
        assert table.schema.equals(contract.arrow_schema(name)), name


def test_message_without_text_has_null_text_and_a_content_type() -> None:
    photo = [{"file_id": "a", "file_unique_id": "b", "width": 90, "height": 90}]
    [row] = rows([message(1, 5, None, photo=photo, caption="sunset #beach")])
    assert row["text"] is None
    assert row["content_type"] == "photo"
    assert row["caption"] == "sunset #beach"
    assert row["text_length"] is None


def test_latest_edit_wins_whatever_the_delivery_order() -> None:
    original = message(1, 9, "first", date=1000)
    edit_one = message(2, 9, "second", kind="edited_message", date=1000, edit_date=2000)
    edit_two = message(3, 9, "third", kind="edited_message", date=1000, edit_date=3000)
    for order in ([original, edit_one, edit_two], [edit_two, original, edit_one]):
        [row] = rows(order)
        assert row["text"] == "third"
        assert row["date"] == 1000
        assert row["edit_date"] == 3000
        assert row["update_kind"] == "edited_message"


def test_redelivered_update_is_counted_once() -> None:
    key, body = message(1, 9, "same")
    other_key = "telegram/context_date=2025-11-24/1700000000123.json"  # an older tool's name
    tables = collect([(key, body), (other_key, body), (key, body)])
    assert len(tables.messages) == 1
    assert tables.duplicates == 2
    assert len(tables.updates) == 1


def test_reused_update_id_with_other_content_is_a_different_update() -> None:
    first = message(5, 1, "one")
    second = (
        "telegram/context_date=2025-11-24/5.abcdef.json",
        message(5, 2, "two")[1],
    )
    assert sorted(r["text"] for r in rows([first, second])) == ["one", "two"]


def test_service_messages_go_to_their_own_table() -> None:
    joiners = [
        {"id": 1, "is_bot": False, "first_name": "A"},
        {"id": 2, "is_bot": True, "first_name": "B"},
    ]
    objects = [
        message(1, 1, None, new_chat_members=joiners),
        message(2, 2, None, left_chat_member={"id": 3, "is_bot": False, "first_name": "C"}),
        message(3, 3, None, pinned_message={"message_id": 1, "date": 1, "chat": CHAT}),
        message(4, 4, None, brand_new_service_event={"x": 1}),
        message(5, 5, "a real message"),
    ]
    tables = transform(objects, UTC)
    assert tables[contract.MESSAGES].column("text").to_pylist() == ["a real message"]
    service = tables[contract.SERVICE].to_pylist()
    events = sorted((r["event"], r["member_user_id"]) for r in service)
    assert events == [
        ("brand_new_service_event", None),
        ("left_chat_member", 3),
        ("new_chat_members", 1),
        ("new_chat_members", 2),
        ("pinned_message", None),
    ]


ZED = {"id": 9, "is_bot": False, "first_name": "Z"}


def test_reactions_members_and_unknown_kinds() -> None:
    reaction = {
        "update_id": 10,
        "message_reaction": {
            "chat": CHAT, "message_id": 4, "user": {"id": 42, "is_bot": False, "first_name": "A"},
            "date": 1000, "old_reaction": [],
            "new_reaction": [
                {"type": "emoji", "emoji": "👍"}, {"type": "custom_emoji", "custom_emoji_id": "77"}
            ],
        },
    }  # fmt: skip
    member = {
        "update_id": 11,
        "chat_member": {
            "chat": CHAT, "from": {"id": 1, "is_bot": False, "first_name": "Admin"}, "date": 1001,
            "old_chat_member": {"status": "left", "user": ZED},
            "new_chat_member": {"status": "member", "user": ZED},
        },
    }  # fmt: skip
    future = {"update_id": 12, "kind_from_2030": {"whatever": [1, 2]}}
    objects = [(f"k/{d['update_id']}.json", orjson.dumps(d)) for d in (reaction, member, future)]
    tables = transform(objects, UTC)
    assert tables[contract.REACTIONS].to_pylist()[0]["new_reactions"] == ["👍", "custom:77"]
    [joined] = tables[contract.MEMBERS].to_pylist()
    assert (joined["user_id"], joined["old_status"], joined["new_status"]) == (9, "left", "member")
    kinds = tables[contract.UPDATES].column("update_kind").to_pylist()
    assert sorted(kinds) == ["chat_member", "kind_from_2030", "message_reaction"]
    assert tables[contract.REJECTS].num_rows == 0


def test_bad_objects_are_set_aside_with_their_reason_and_the_rest_survives() -> None:
    objects = [
        ("telegram/context_date=2025-11-24/1.json", b"{not json"),
        ("telegram/context_date=2025-11-24/2.json", b'{"update_id": 2, "message": {"text": "x"}}'),
        ("telegram/context_date=2025-11-24/3.json", b"[1, 2]"),
        ("telegram/context_date=2025-11-24/4.json", b'{"update_id": 4, "message": "oops"}'),
        message(5, 5, "survivor"),
    ]
    tables = transform(objects, UTC)
    assert tables[contract.MESSAGES].column("text").to_pylist() == ["survivor"]
    rejects = tables[contract.REJECTS].to_pylist()
    assert [r["raw_key"].rsplit("/", 1)[1] for r in rejects] == [
        "1.json",
        "2.json",
        "3.json",
        "4.json",
    ]
    assert all(r["reason"] for r in rejects)
    assert "chat.id" in rejects[1]["reason"]


def test_timestamps_are_milliseconds_and_local_time_follows_the_zone() -> None:
    # 2025-11-24 01:30 UTC is 22:30 of the 23rd in São Paulo (UTC-3).
    tables = transform([message(1, 1, date=1_763_947_800)], ZoneInfo("America/Sao_Paulo"))
    table = tables[contract.MESSAGES]
    assert table.schema.field("sent_at").type == pa.timestamp("ms")
    [row] = table.to_pylist()
    assert row["sent_at"].isoformat() == "2025-11-24T01:30:00"
    assert row["sent_at_local"].isoformat() == "2025-11-23T22:30:00"


def test_forwards_replies_and_threads() -> None:
    origin = {
        "type": "channel",
        "chat": {"id": -100777, "type": "channel"},
        "message_id": 3,
        "date": 900,
    }
    [row] = rows(
        [
            message(
                1, 2, "fwd", forward_origin=origin, message_thread_id=77, is_topic_message=True,
                reply_to_message={"message_id": 1, "date": 1, "chat": CHAT},
            )
        ]
    )  # fmt: skip
    assert row["forward_origin_type"] == "channel"
    assert row["forward_from_chat_id"] == -100777
    assert row["forward_date"] == 900
    assert row["reply_to_message_id"] == 1
    assert (row["message_thread_id"], row["is_topic_message"]) == (77, True)


# --- properties -------------------------------------------------------------

PIECES = st.sampled_from(["a", "é", "日本", "👍🏽", "👨‍👩‍👧", " ", "ß", "\U0001f600", "x y"])


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@given(
    before=st.lists(PIECES, max_size=6).map("".join),
    tag=st.text(alphabet="abcdefghijklmnopqrstuvwxyzçãé_", min_size=1, max_size=10),
    between=st.lists(PIECES, max_size=6).map("".join),
    user=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=5, max_size=12),
)
def test_entities_are_sliced_in_utf16_code_units(
    before: str, tag: str, between: str, user: str
) -> None:
    hashtag, mention, url = f"#{tag}", f"@{user}", "https://example.org/ü"
    text = f"{before}{hashtag} {between}{mention} {url}"
    entities = []
    for kind, value in (("hashtag", hashtag), ("mention", mention), ("url", url)):
        start = text.index(value)
        entities.append(
            {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(value)}
        )
    [row] = rows([message(1, 1, text, entities=entities)])
    assert row["hashtags"] == [hashtag]
    assert row["mentions"] == [mention]
    assert row["urls"] == [url]


VERSION = st.fixed_dictionaries(
    {
        "message_id": st.integers(1, 6),
        "chat": st.sampled_from([-1001, -1002]),
        "edit_date": st.one_of(st.none(), st.integers(2000, 2010)),
        "text": st.text(max_size=20),
    }
)


@settings(max_examples=60, deadline=None)
@given(versions=st.lists(VERSION, min_size=1, max_size=25), seed=st.integers(0, 2**16))
def test_one_row_per_message_latest_edit_and_order_does_not_matter(
    versions: list[dict[str, Any]], seed: int
) -> None:
    objects = []
    for update_id, version in enumerate(versions, start=1):
        kind = "edited_message" if version["edit_date"] is not None else "message"
        objects.append(
            message(
                update_id, version["message_id"], version["text"], kind=kind, date=1000,
                edit_date=version["edit_date"], chat={"id": version["chat"], "type": "group"},
            )
        )  # fmt: skip
    # Expected, computed independently: per message, the version with the
    # greatest (edit_date, is_edit, update_id).
    expected: dict[tuple[int, int], tuple[tuple[int, int, int], str]] = {}
    for update_id, v in enumerate(versions, start=1):
        rank = (v["edit_date"] or 0, v["edit_date"] is not None, update_id)
        ident = (v["chat"], v["message_id"])
        if ident not in expected or rank > expected[ident][0]:
            expected[ident] = (rank, v["text"])

    shuffled = objects + random.Random(seed).sample(objects, k=min(len(objects), 5))
    random.Random(seed).shuffle(shuffled)
    result = rows(shuffled)
    assert len(result) == len(expected)
    assert {(r["chat_id"], r["message_id"]): r["text"] for r in result} == {
        ident: text for ident, (_, text) in expected.items()
    }
    assert rows(shuffled) == result  # deterministic

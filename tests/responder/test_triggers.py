"""Which updates reach the responder: commands and joins, read as Telegram writes them.

Ingest's byte test (:func:`may_need_answer`) may say yes too often but must
never say no to an update the responder would act on: a property over
generated updates. Command syntax per the Bot API ("/command@botname args").
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from telelake.responder.triggers import Command, command_of, may_need_answer, trigger_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/stats", Command("stats", (), None)),
        ("/Stats week", Command("stats", ("week",), None)),
        ("/stats@fake_lake_bot  month ", Command("stats", ("month",), "fake_lake_bot")),
        ("/forgetme 0A1B2C3D", Command("forgetme", ("0A1B2C3D",), None)),
        ("/stats\nweek", Command("stats", ("week",), None)),
        ("stats", None),
        ("/", None),
        ("/stats@x", None),  # not a bot username (too short): not a command of ours
        ("/sta-ts", None),
        (" /stats", None),
        (None, None),
        (42, None),
    ],
)
def test_commands_are_read_as_the_bot_api_writes_them(text: Any, expected: Any) -> None:
    assert command_of(text) == expected


def group_message(text: str, **extra: Any) -> dict[str, Any]:
    body = {"message_id": 7, "date": 1_790_000_000, "text": text,
            "from": {"id": 5, "is_bot": False, "first_name": "Ana"},
            "chat": {"id": -100, "type": "supergroup", "title": "G"}, **extra}  # fmt: skip
    return {"update_id": 1, "message": body}


def test_a_topic_message_is_answered_in_its_topic() -> None:
    trigger = trigger_of(group_message("/stats", message_thread_id=9, is_topic_message=True))
    assert trigger is not None and trigger.thread_id == 9
    # A reply thread in a group without topics is not a topic.
    trigger = trigger_of(group_message("/stats", message_thread_id=9))
    assert trigger is not None and trigger.thread_id is None


def test_joins_from_service_messages_and_member_updates() -> None:
    people = [{"id": 8, "is_bot": False, "first_name": "N"}, {"id": 9, "is_bot": True,
              "first_name": "B"}]  # fmt: skip
    trigger = trigger_of(group_message("", new_chat_members=people))
    assert trigger is not None and trigger.joined == (8,)  # bots are not people joining
    user = {"id": 8, "is_bot": False, "first_name": "N"}

    def change(old: dict[str, Any], new: dict[str, Any]) -> Any:
        payload = {"chat": {"id": -100, "type": "supergroup"}, "from": user,
                   "date": 1, "old_chat_member": {**old, "user": user},
                   "new_chat_member": {**new, "user": user}}  # fmt: skip
        found = trigger_of({"update_id": 2, "chat_member": payload})
        return found.joined if found else None

    assert change({"status": "left"}, {"status": "member"}) == (8,)
    assert change({"status": "kicked"}, {"status": "restricted", "is_member": True}) == (8,)
    assert change({"status": "member"}, {"status": "administrator"}) is None  # a promotion
    assert change({"status": "left"}, {"status": "restricted", "is_member": False}) is None
    assert change({"status": "member"}, {"status": "left"}) is None


json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=10,
)  # fmt: skip


@given(
    text=st.one_of(st.text(max_size=30), st.from_regex(r"/[a-z]{1,10}(@[a-z_]{3,10})?( .*)?",
                                                       fullmatch=True)),
    extra=st.dictionaries(st.sampled_from(["caption", "entities", "reply_to_message", "x"]),
                          json_value, max_size=2),
    joins=st.booleans(),
)  # fmt: skip
def test_the_byte_test_never_misses_what_the_responder_acts_on(
    text: str, extra: dict[str, Any], joins: bool
) -> None:
    update = group_message(text, **extra)
    if joins:
        update["message"]["new_chat_members"] = [{"id": 3, "is_bot": False, "first_name": text}]
    compact = orjson.dumps(update)
    # JSON may escape "/" (a slash only ever stands inside a string, so all may go).
    spellings = (compact, orjson.dumps(update, option=orjson.OPT_INDENT_2),
                 compact.replace(b"/", b"\\/"), compact.replace(b"/", b"\\u002F"))  # fmt: skip
    for body in spellings:
        if trigger_of(orjson.loads(body)) is not None:
            assert may_need_answer(body)

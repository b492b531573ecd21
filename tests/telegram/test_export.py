"""Telegram Desktop exports -> Bot API updates (telelake/telegram/export.py, export_content.py).

Expected values come from the export format (tdesktop's export writer,
export_output_json.cpp) and the Bot API's documentation, not from our output:
chat ids ``-100<id>`` / ``-<id>`` / ``<id>``, ``from_id`` ``user<N>``,
``date_unixtime`` as the time, UTF-16 entity offsets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telelake.errors import UsageError
from telelake.telegram.export import bot_chat, imported_update_id, is_imported, peer_id
from telelake.telegram.export_content import ENTITY_TYPES, join_text
from telelake.telegram.export_file import list_chats, read_export
from telelake.telegram.update import Update

EXPORTS = Path(__file__).resolve().parents[1] / "events" / "export"
SUPERGROUP_ID = -1001987654321


def converted(name: str, chat: str | None = None) -> dict[int, dict[str, Any]]:
    """message_id -> the payload of its update, for one fixture."""
    _, _, items = read_export(EXPORTS / name, chat)
    out = {}
    for item in items:
        if isinstance(item, str):
            continue
        update_id, data = item
        update = Update.from_json(data)
        assert update.update_id == update_id
        out[update.payload["message_id"]] = {"kind": update.kind, **update.payload}
    return out


@pytest.mark.parametrize(
    ("export_type", "bare", "bot_id", "bot_type"),
    [
        ("private_supergroup", 1987654321, -1001987654321, "supergroup"),
        ("public_supergroup", 1234, -1000000001234, "supergroup"),
        ("private_channel", 1500000001, -1001500000001, "channel"),
        ("public_channel", 77, -1000000000077, "channel"),
        ("private_group", 4567890, -4567890, "group"),
        ("personal_chat", 1002, 1002, "private"),
        ("bot_chat", 93372553, 93372553, "private"),
        ("saved_messages", 1001, 1001, "private"),
    ],
)
def test_chat_ids_take_the_bot_api_form(
    export_type: str, bare: int, bot_id: int, bot_type: str
) -> None:
    chat = bot_chat(export_type, bare, "x")
    assert (chat.id, chat.type) == (bot_id, bot_type)


def test_unknown_chat_type_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="replies"):
        bot_chat("replies", 1, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("user123", ("user", 123)),
        ("channel1500000001", ("channel", -1001500000001)),
        ("chat4567890", ("chat", -4567890)),
        ("user0", ("user", 0)),
        ("bot5", None),
        (None, None),
        (123, None),
        ("user", None),
    ],
)
def test_peer_ids(value: Any, expected: tuple[str, int] | None) -> None:
    assert peer_id(value) == expected


def test_imported_update_ids_are_negative_deterministic_and_distinct() -> None:
    ids = {imported_update_id(chat, msg) for chat in (-1001, -1002, 5) for msg in range(1, 200)}
    assert len(ids) == 3 * 199
    assert all(is_imported(i) and i < 0 and i >= -(2**62) for i in ids)
    assert imported_update_id(-1001, 7) == imported_update_id(-1001, 7)
    assert not is_imported(1) and not is_imported(987654321)


# (fixture, message id) -> fields the update must have (a dotted path -> value);
# MISSING means the field must be absent.
MISSING = object()
CASES: list[tuple[str, int, dict[str, Any]]] = [
    ("supergroup.json", 2, {"kind": "message", "text": "Bom dia! plain text only",
                            "from.id": 1001, "from.first_name": "Ana Souza",
                            "chat.id": SUPERGROUP_ID, "chat.type": "supergroup",
                            "chat.title": "Café Data 🧪", "date": 1732003260,
                            "edit_date": MISSING, "entities": MISSING}),
    ("supergroup.json", 4, {"edit_date": 1732003800, "date": 1732003380,
                            "reply_to_message.message_id": 3, "text": "edited reply"}),
    # A deleted account keeps its id; the export has no name for it.
    ("supergroup.json", 5, {"from.id": 1009, "from.first_name": "Deleted Account"}),
    ("supergroup.json", 6, {"from": MISSING, "sender_chat": MISSING}),
    ("supergroup.json", 7, {"forward_origin.type": "hidden_user",
                            "forward_origin.sender_user_name": "Someone Hidden"}),
    ("supergroup.json", 8, {"forward_origin.type": "channel",
                            "forward_origin.chat.id": -1001500000001}),
    ("supergroup.json", 9, {"poll.question": "Lunch?", "poll.total_voter_count": 3,
                            "poll.options": [{"text": "Yes", "voter_count": 2},
                                             {"text": "No", "voter_count": 1}],
                            "text": MISSING}),
    ("supergroup.json", 10, {"sticker.emoji": "👍", "text": MISSING, "caption": MISSING}),
    ("supergroup.json", 11, {"photo": [{"width": 1280, "height": 960}],
                             "caption": "photo caption #foto",
                             "caption_entities": [{"type": "hashtag", "offset": 14,
                                                   "length": 5}]}),
    ("supergroup.json", 12, {"voice.duration": 7, "voice.mime_type": "audio/ogg"}),
    ("supergroup.json", 13, {"video.duration": 12, "caption": "a clip"}),
    ("supergroup.json", 14, {"animation.width": 320, "document.width": 320}),
    ("supergroup.json", 15, {"location": {"latitude": -23.55052, "longitude": -46.633308}}),
    ("supergroup.json", 16, {"contact.phone_number": "+55 11 5555 0000"}),
    # Service messages become the Bot API's service fields.
    ("supergroup.json", 1, {"from.id": 1001, "migrate_from_chat_id": None, "text": MISSING}),
    # Member names resolve to the id they have as senders; unknown ones stay names.
    ("supergroup.json", 17, {"new_chat_members": [
        {"id": 1003, "first_name": "Carla Dias"}, {"first_name": "Dora Unknown"},
        {"first_name": "Deleted Account"}]}),
    ("supergroup.json", 18, {"from.id": 1005,
                             "new_chat_members": [{"id": 1005, "first_name": "Eva Link"}]}),
    ("supergroup.json", 19, {"pinned_message.message_id": 3, "pinned_message.date": 0}),
    ("supergroup.json", 20, {"new_chat_title": "Café Data 🧪"}),
    ("supergroup.json", 21, {"left_chat_member": {"id": 1002, "first_name": "Bruno Lima"}}),
    # An anonymous admin writes as the group itself.
    ("supergroup.json", 22, {"from": MISSING, "sender_chat.id": SUPERGROUP_ID,
                             "sender_chat.type": "supergroup"}),
    ("supergroup.json", 24, {"clear_history": True}),
    ("basic_group.json", 1, {"chat.id": -4567890, "chat.type": "group",
                             "group_chat_created": True}),
    ("basic_group.json", 3, {"text": "legacy export without text_entities",
                             "via_bot.username": "gif"}),
    ("basic_group.json", 4, {"migrate_to_chat_id": None}),
    ("channel.json", 1, {"kind": "channel_post", "channel_chat_created": True}),
    ("channel.json", 2, {"kind": "channel_post", "chat.id": -1001500000001,
                         "chat.type": "channel", "sender_chat.id": -1001500000001,
                         "sender_chat.type": "channel", "author_signature": "Editor Ed"}),
]  # fmt: skip


def _get(payload: dict[str, Any], path: str) -> Any:
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


@pytest.mark.parametrize(("fixture", "message_id", "expected"), CASES)
def test_mapping(fixture: str, message_id: int, expected: dict[str, Any]) -> None:
    payload = converted(fixture)[message_id]
    for path, value in expected.items():
        assert _get(payload, path) == value, path


def test_text_array_becomes_plain_text_and_utf16_entities() -> None:
    payload = converted("supergroup.json")[3]
    text = payload["text"]
    assert text == "😀 see this https://example.org/a #dados @ana_souza docs Carla 🎉"
    encoded = text.encode("utf-16-le")
    by_type = {}
    for entity in payload["entities"]:
        piece = encoded[2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])]
        by_type[entity["type"]] = (piece.decode("utf-16-le"), entity)
    # 😀 is two UTF-16 units: "this" starts at unit 7, not at code point 6.
    assert by_type["bold"][1]["offset"] == 7
    assert by_type["bold"][0] == "this"
    assert by_type["url"][0] == "https://example.org/a"
    assert by_type["hashtag"][0] == "#dados"
    assert by_type["mention"][0] == "@ana_souza"
    assert by_type["text_link"][1]["url"] == "https://example.org/docs"
    assert by_type["text_mention"][1]["user"]["id"] == 1003
    assert by_type["custom_emoji"][0] == "🎉"
    assert by_type["custom_emoji"][1]["custom_emoji_id"] == "5368324170671202286"


def test_skipped_messages_say_why() -> None:
    _, _, items = read_export(EXPORTS / "supergroup.json")
    reasons = [item for item in items if isinstance(item, str)]
    assert reasons == ["message type 'unsupported'"]


def test_a_message_without_date_unixtime_is_skipped(tmp_path: Path) -> None:
    export = {"name": "g", "type": "private_group", "id": 5, "messages": [
        {"id": 1, "type": "message", "date": "2019-01-01T10:00:00", "text": "old"}]}  # fmt: skip
    (tmp_path / "result.json").write_text(json.dumps(export))
    _, _, items = read_export(tmp_path / "result.json")
    (reason,) = list(items)
    assert isinstance(reason, str) and "date_unixtime" in reason


def test_full_account_export_lists_chats_and_needs_a_choice() -> None:
    chats = list_chats(EXPORTS / "full_account.json")
    assert [(c.name, c.type, c.id, c.messages) for c in chats] == [
        ("Bruno Lima", "personal_chat", 1002, 1),
        ("Team Chat", "public_supergroup", 1600000002, 2),
        ("Empty Group", "private_group", 7000001, 0),
        ("Left Supergroup", "private_supergroup", 1700000003, 1),
    ]
    with pytest.raises(UsageError, match=r"choose one with --chat.*Team Chat"):
        read_export(EXPORTS / "full_account.json")
    with pytest.raises(UsageError, match="no chat match"):
        read_export(EXPORTS / "full_account.json", "Nope")


@pytest.mark.parametrize("selector", ["Team Chat", "1600000002", "-1001600000002"])
def test_full_account_export_chat_by_name_export_id_or_bot_id(selector: str) -> None:
    _, chat, items = read_export(EXPORTS / "full_account.json", selector)
    assert (chat.id, chat.type, chat.name) == (-1001600000002, "supergroup", "Team Chat")
    messages = [data["message"] for _, data in (i for i in items if not isinstance(i, str))]
    assert [(m["message_id"], m["text"]) for m in messages] == [
        (10, "team message one"),
        (11, "team message two"),
    ]
    assert messages[1]["reply_to_message"]["message_id"] == 10


def test_full_account_export_private_and_left_chats() -> None:
    private = converted("full_account.json", "Bruno Lima")
    assert private[501]["chat"] == {"id": 1002, "type": "private", "first_name": "Bruno Lima"}
    left = converted("full_account.json", "Left Supergroup")
    assert left[1]["chat"]["id"] == -1001700000003
    assert left[1]["text"] == "before I left"
    _, chat, items = read_export(EXPORTS / "full_account.json", "Empty Group")
    assert chat.id == -7000001 and list(items) == []


def test_every_fixture_message_is_converted_or_explained() -> None:
    for path in sorted(EXPORTS.glob("*.json")):
        for header in list_chats(path):
            _, _, items = read_export(path, str(header.id))
            assert len(list(items)) == header.messages, path.name


# Text parts as tdesktop writes them: bare strings and {"type", "text"} objects.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12
)  # fmt: skip
PART = st.one_of(
    TEXT,
    st.builds(
        lambda kind, text: {"type": kind, "text": text},
        st.sampled_from([*sorted(set(ENTITY_TYPES) - {"mention_name", "text_link"}), "plain"]),
        TEXT,
    ),
)


@given(parts=st.lists(PART, max_size=12))
def test_text_parts_round_trip_through_utf16_offsets(parts: list[Any]) -> None:
    text, entities = join_text(parts)
    pieces = [p if isinstance(p, str) else p["text"] for p in parts]
    assert text == "".join(pieces)
    expected = [p for p in parts if isinstance(p, dict) and p["type"] != "plain" and p["text"]]
    assert len(entities) == len(expected)
    encoded = text.encode("utf-16-le", "surrogatepass")
    for entity, part in zip(entities, expected, strict=True):
        start, end = 2 * entity["offset"], 2 * (entity["offset"] + entity["length"])
        assert encoded[start:end].decode("utf-16-le", "surrogatepass") == part["text"]
        assert entity["type"] == ENTITY_TYPES[part["type"]]

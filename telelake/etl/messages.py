"""One Telegram Message -> one row of ``telegram`` or rows of ``telegram_service``.

What counts as a message people wrote (DESIGN §5): anything with content
(text, a photo, a sticker, a poll, ...). Service messages (joins, leaves,
pins, title changes, migrations, forum and video-chat events, ...) have none
and go to their own table so "messages per day" counts what people said.
Telegram adds service kinds often, so a message with neither a known content
field nor text/caption is treated as a service event named by its first
unfamiliar field; new content kinds almost always come with text or a
caption, or are added to ``CONTENT_FIELDS``.
"""

from __future__ import annotations

from typing import Any, TypedDict

import orjson

from telelake.etl.timestamps import SECONDS_RANGE, checked_seconds
from telelake.telegram.export import is_imported
from telelake.telegram.update import Update, as_bool, as_dict, as_int, as_str, id_of

# Order matters: the first present field names the content type (an
# animation also carries a document; a photo with a caption is a photo).
CONTENT_FIELDS = (
    "text", "animation", "audio", "document", "paid_media", "photo", "sticker", "story",
    "video", "video_note", "voice", "checklist", "contact", "dice", "game", "poll", "venue",
    "location", "invoice", "giveaway", "giveaway_winners", "rich_message",
)  # fmt: skip
_CONTENT = frozenset(CONTENT_FIELDS)

SERVICE_FIELDS = frozenset(
    {
        "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
        "delete_chat_photo", "group_chat_created", "supergroup_chat_created",
        "channel_chat_created", "message_auto_delete_timer_changed", "migrate_to_chat_id",
        "migrate_from_chat_id", "pinned_message", "successful_payment", "refunded_payment",
        "users_shared", "chat_shared", "gift", "unique_gift", "connected_website",
        "write_access_allowed", "passport_data", "proximity_alert_triggered", "boost_added",
        "chat_background_set", "checklist_tasks_done", "checklist_tasks_added",
        "direct_message_price_changed", "forum_topic_created", "forum_topic_edited",
        "forum_topic_closed", "forum_topic_reopened", "general_forum_topic_hidden",
        "general_forum_topic_unhidden", "giveaway_created", "giveaway_completed",
        "paid_message_price_changed", "video_chat_scheduled", "video_chat_started",
        "video_chat_ended", "video_chat_participants_invited", "web_app_data",
    }
)  # fmt: skip

# Fields any message may carry besides its content: never a content type.
ENVELOPE_FIELDS = frozenset(
    {
        "message_id", "message_thread_id", "direct_messages_topic", "from", "sender_chat",
        "sender_boost_count", "sender_business_bot", "sender_tag", "date",
        "business_connection_id", "chat", "forward_origin", "forward_from", "forward_from_chat",
        "forward_from_message_id", "forward_signature", "forward_sender_name", "forward_date",
        "is_topic_message", "is_automatic_forward", "reply_to_message", "external_reply",
        "quote", "reply_to_story", "reply_to_checklist_task_id", "via_bot", "edit_date",
        "has_protected_content", "is_from_offline", "is_paid_post", "media_group_id",
        "author_signature", "paid_star_count", "entities", "caption", "caption_entities",
        "show_caption_above_media", "has_media_spoiler", "link_preview_options", "effect_id",
        "reply_markup", "suggested_post_info", "new_chat_member", "new_chat_participant",
        "left_chat_participant",
    }
)  # fmt: skip

# The last send date a message may have (see etl/timestamps.py: later times fit
# no engine's timestamp type in every zone).
MAX_DATE = SECONDS_RANGE[1]

EDITED_KINDS = frozenset({"edited_message", "edited_channel_post"})


class ServiceRow(TypedDict):
    update_id: int
    message_id: int
    chat_id: int
    chat_type: str | None
    chat_title: str | None
    user_id: int | None
    user_first_name: str | None
    date: int
    event: str
    member_user_id: int | None
    member_first_name: str | None
    member_is_bot: bool | None
    detail: str | None


def content_type(message: dict[str, Any]) -> str | None:
    for name in CONTENT_FIELDS:
        if name in message:
            return name
    return None


def service_event(message: dict[str, Any]) -> str | None:
    """The service event a message reports, or ``None`` for a message people wrote."""
    if content_type(message) is not None or "caption" in message:
        return None
    for name in message:
        if name in SERVICE_FIELDS:
            return name
    for name in message:
        if name not in ENVELOPE_FIELDS and name not in _CONTENT:
            return name
    return None


def _identity_of(message: dict[str, Any]) -> tuple[int, int, int]:
    chat_id = as_int(as_dict(message.get("chat")).get("id"))
    message_id = as_int(message.get("message_id"))
    date = as_int(message.get("date"))
    if chat_id is None:
        raise ValueError("message has no integer chat.id")
    if message_id is None:
        raise ValueError("message has no integer message_id")
    if date is None:
        raise ValueError("message has no integer date")
    checked_seconds(date, "message date")
    return chat_id, message_id, date


def _utf16_slice(text: str, encoded: bytes | None, offset: int, length: int) -> str | None:
    # Entity offsets count UTF-16 code units; Python strings count code points.
    if encoded is None:
        piece = text[offset : offset + length]
        return piece if len(piece) == length else None
    chunk = encoded[2 * offset : 2 * (offset + length)]
    if len(chunk) != 2 * length:
        return None
    try:
        return chunk.decode("utf-16-le")
    except UnicodeDecodeError:
        return None


def entity_values(text: str | None, entities: Any) -> dict[str, list[str]]:
    """Hashtags, mentions and URLs named by a message's entities."""
    found: dict[str, list[str]] = {"hashtags": [], "mentions": [], "urls": []}
    if not text or not isinstance(entities, list):
        return found
    encoded = None if text.isascii() else text.encode("utf-16-le", "surrogatepass")
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        kind = entity.get("type")
        if kind == "text_link" and isinstance(entity.get("url"), str):
            found["urls"].append(entity["url"])
            continue
        if kind == "text_mention":
            user = as_dict(entity.get("user"))
            if isinstance(user.get("username"), str):
                found["mentions"].append("@" + user["username"])
            continue
        target = {"hashtag": "hashtags", "mention": "mentions", "url": "urls"}.get(str(kind))
        offset, length = as_int(entity.get("offset")), as_int(entity.get("length"))
        if target is None or offset is None or length is None or offset < 0 or length <= 0:
            continue
        value = _utf16_slice(text, encoded, offset, length)
        if value:
            found[target].append(value)
    return found


def _forward(message: dict[str, Any]) -> tuple[str | None, int | None, int | None, int | None]:
    """(origin type, user id, chat id, date) of a forward, new or legacy fields."""
    origin = message.get("forward_origin")
    if isinstance(origin, dict):
        kind = as_str(origin.get("type"))
        user_id = as_int(as_dict(origin.get("sender_user")).get("id"))
        chat = as_dict(origin.get("chat")) or as_dict(origin.get("sender_chat"))
        return kind, user_id, as_int(chat.get("id")), as_int(origin.get("date"))
    if "forward_date" in message:
        user_id = as_int(as_dict(message.get("forward_from")).get("id"))
        chat_id = as_int(as_dict(message.get("forward_from_chat")).get("id"))
        if chat_id is not None:
            kind = "channel" if "forward_from_message_id" in message else "chat"
        elif user_id is not None:
            kind = "user"
        else:
            kind = "hidden_user"
        return kind, user_id, chat_id, as_int(message.get("forward_date"))
    return None, None, None, None


# The ``telegram`` columns a message row holds, in schema order; the derived
# timestamps (sent_at, sent_at_local, edited_at) are computed per column later.
MESSAGE_COLUMNS = (
    "message_id", "user_id", "user_is_bot", "user_first_name", "chat_id", "chat_type", "text",
    "date", "update_id", "update_kind", "edit_date", "user_last_name", "user_username",
    "user_language_code", "sender_chat_id", "sender_chat_title", "chat_title", "chat_username",
    "content_type", "caption", "text_length", "reply_to_message_id", "message_thread_id",
    "is_topic_message", "forward_origin_type", "forward_from_user_id", "forward_from_chat_id",
    "forward_date", "media_group_id", "via_bot_id", "hashtags", "mentions", "urls",
)  # fmt: skip

MessageValues = tuple[Any, ...]
_NO_ENTITIES: dict[str, list[str]] = {"hashtags": [], "mentions": [], "urls": []}
_CHAT_ID = MESSAGE_COLUMNS.index("chat_id")
_MESSAGE_ID = MESSAGE_COLUMNS.index("message_id")
_EDIT_DATE = MESSAGE_COLUMNS.index("edit_date")

Rank = tuple[int, int, int, int]


def message_key(values: MessageValues) -> tuple[int, int]:
    """``(chat_id, message_id)``: what every version of one message shares."""
    return values[_CHAT_ID], values[_MESSAGE_ID]


def version_rank(update_id: int, kind: str, values: MessageValues) -> Rank:
    """Order of versions of one message, the highest kept: any version the bot
    received over one imported from a Telegram Desktop export (even a later
    edit: the bot's bytes are what Telegram sent), then the latest
    ``edit_date``, then edits over the original, then the later update."""
    return (
        0 if is_imported(update_id) else 1,
        values[_EDIT_DATE] or 0,
        1 if kind in EDITED_KINDS else 0,
        update_id,
    )


def message_values(update_id: int, kind: str, message: dict[str, Any]) -> MessageValues:
    """The ``telegram`` row of one message version as a tuple in ``MESSAGE_COLUMNS`` order.

    The ETL's hot path (one call per message): values are read with exact type
    checks, which for parsed JSON (int, str, bool, dict, list and None only)
    mean what ``as_int``/``as_str``/``as_bool`` mean. Timestamps are added later.
    """
    chat_id, message_id, date = _identity_of(message)
    get = message.get
    chat: dict[str, Any] = message["chat"]  # a dict: _identity_of checked it
    sender = get("from")
    if type(sender) is not dict:
        sender = {}
    sender_chat = get("sender_chat")
    if type(sender_chat) is not dict:
        sender_chat = {}
    text = get("text")
    if type(text) is not str:
        text = None
    caption = get("caption")
    if type(caption) is not str:
        caption = None
    entities = get("entities")
    found = entity_values(text, entities) if text and entities else _NO_ENTITIES
    if caption:
        found = {name: list(values) for name, values in found.items()}
        for name, values in entity_values(caption, get("caption_entities")).items():
            found[name].extend(values)
    elif found is _NO_ENTITIES:
        found = {"hashtags": [], "mentions": [], "urls": []}
    if "forward_origin" in message or "forward_date" in message:
        origin, fwd_user, fwd_chat, fwd_date = _forward(message)
        checked_seconds(fwd_date, "forward date")
    else:
        origin = fwd_user = fwd_chat = fwd_date = None
    edit_date = checked_seconds(as_int(get("edit_date")), "edit_date")
    is_bot = sender.get("is_bot")
    return (
        message_id,
        id_of(sender),
        is_bot if type(is_bot) is bool else None,
        as_str(sender.get("first_name")),
        chat_id,
        as_str(chat.get("type")),
        text,
        date,
        update_id,
        kind,
        edit_date,
        as_str(sender.get("last_name")),
        as_str(sender.get("username")),
        as_str(sender.get("language_code")),
        id_of(sender_chat),
        as_str(sender_chat.get("title")),
        as_str(chat.get("title")),
        as_str(chat.get("username")),
        content_type(message) or ("caption" if caption else "empty"),
        caption,
        len(text) if text is not None else None,
        as_int(as_dict(get("reply_to_message")).get("message_id")),
        as_int(get("message_thread_id")),
        get("is_topic_message") is True,
        origin,
        fwd_user,
        fwd_chat,
        fwd_date,
        as_str(get("media_group_id")),
        id_of(get("via_bot")),
        found["hashtags"],
        found["mentions"],
        found["urls"],
    )


def service_rows(update: Update, message: dict[str, Any]) -> list[ServiceRow]:
    """Rows of ``telegram_service``: one per service message, one per member joining."""
    chat_id, message_id, date = _identity_of(message)
    event = service_event(message) or "unknown"
    chat = as_dict(message.get("chat"))
    sender = as_dict(message.get("from"))
    value = message.get(event)
    members: list[dict[str, Any]] = []
    if event == "new_chat_members" and isinstance(value, list):
        members = [as_dict(member) for member in value]
    elif event == "left_chat_member":
        members = [as_dict(value)]
    detail = None
    if not members and value is not None and value is not True:
        detail = orjson.dumps(value).decode("utf-8")
    base: ServiceRow = {
        "update_id": update.update_id,
        "message_id": message_id,
        "chat_id": chat_id,
        "chat_type": as_str(chat.get("type")),
        "chat_title": as_str(chat.get("title")),
        "user_id": as_int(sender.get("id")),
        "user_first_name": as_str(sender.get("first_name")),
        "date": date,
        "event": event,
        "member_user_id": None,
        "member_first_name": None,
        "member_is_bot": None,
        "detail": detail,
    }
    if not members:
        return [base]
    return [
        {
            **base,
            "member_user_id": as_int(member.get("id")),
            "member_first_name": as_str(member.get("first_name")),
            "member_is_bot": as_bool(member.get("is_bot")),
        }
        for member in members
    ]

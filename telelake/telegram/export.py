"""Telegram Desktop chat exports (``result.json``) -> Bot-API-shaped updates. Pure.

A bot sees a group only from the day it joins; Telegram Desktop's "Export chat
history" (JSON) holds what came before. This module turns each exported
message into the update a bot would have received, so the same ETL, tables
and reports apply to history. The reference for the format is tdesktop's
``export_output_json.cpp``: a single-chat export is ``{name, type, id,
messages: [...]}``; a full-account export holds ``chats.list`` and
``left_chats.list`` of such objects. Reading the file, streamed in bounded
memory, is ``telegram/export_file.py``; this module converts one message:
its ids, chat, sender, forward, reply and service action here, its text and
media in ``telegram/export_content.py``.

Imported updates get their own ``update_id`` namespace: negative numbers
derived from ``(chat_id, message_id)`` (:func:`imported_update_id`). Telegram's
update ids are positive, so the two never collide, and re-importing a message
always gives the same id (and raw key). The ETL ranks an imported version of a
message below any version the bot received (``etl/messages.py``).

Not mapped (exports do not carry it, or it is not a Bot API field): file ids
and local file paths, ``is_bot``, last names and usernames (exports give one
display name, kept as ``first_name``), forward dates, reactions, inline
buttons, the exporting machine's local ``date`` string (``date_unixtime`` is
used). Member lists of service messages carry names only; a name is mapped to
the id it has as a sender elsewhere in the same chat when that is unambiguous.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from telelake.errors import UsageError
from telelake.telegram.export_content import join_text, media_fields, scalars, to_int

# Imported update ids: -(1 + 62 bits of SHA-256("<chat_id>:<message_id>")).
# 2^62 ids for (chat, message) pairs: a collision among 10^7 imported
# messages has probability ~10^-5.
IMPORT_ID_BITS = 62
DELETED_ACCOUNT = "Deleted Account"
_CHANNEL_BASE = 1_000_000_000_000  # Bot API: -100<id> == -(10^12 + id)

# tdesktop dialog type -> Bot API chat type (bot_chat() derives the Bot API id)
CHAT_TYPES: dict[str, str] = {
    "personal_chat": "private",
    "bot_chat": "private",
    "saved_messages": "private",
    "private_group": "group",
    "private_supergroup": "supergroup",
    "public_supergroup": "supergroup",
    "private_channel": "channel",
    "public_channel": "channel",
}


def imported_update_id(chat_id: int, message_id: int) -> int:
    """The update id of an imported message: negative, deterministic, collision-resistant."""
    digest = hashlib.sha256(f"{chat_id}:{message_id}".encode()).digest()
    return -(1 + (int.from_bytes(digest[:8], "big") >> (64 - IMPORT_ID_BITS)))


def is_imported(update_id: int) -> bool:
    """Whether an update id lies in the import namespace (Telegram's ids are positive)."""
    return update_id < 0


@dataclass(frozen=True)
class ExportChat:
    """One chat of an export: its Bot API id and type, and the export's own header."""

    id: int
    type: str
    name: str | None
    export_type: str
    export_id: int

    def as_bot_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.name is not None:
            chat["first_name" if self.type == "private" else "title"] = self.name
        return chat


def bot_chat(export_type: str, bare_id: int, name: str | None) -> ExportChat:
    """Map an export's ``type`` and bare ``id`` to the Bot API's chat id and type."""
    kind = CHAT_TYPES.get(export_type)
    if kind is None:
        raise UsageError(f"chat {bare_id} ({name!r}): export type {export_type!r} is not supported")
    if kind == "group":
        chat_id = -bare_id
    elif kind in ("supergroup", "channel"):
        chat_id = -(_CHANNEL_BASE + bare_id)
    else:
        chat_id = bare_id
    return ExportChat(chat_id, kind, name, export_type, bare_id)


def peer_id(value: Any) -> tuple[str, int] | None:
    """``"user123"`` -> ("user", 123); ``"channel5"`` -> ("channel", -1000000000005);
    ``"chat7"`` -> ("chat", -7); anything else -> None."""
    if not isinstance(value, str):
        return None
    for prefix in ("user", "channel", "chat"):
        if value.startswith(prefix) and value[len(prefix) :].isdigit():
            bare = int(value[len(prefix) :])
            if prefix == "user":
                return prefix, bare
            return prefix, -(_CHANNEL_BASE + bare) if prefix == "channel" else -bare
    return None


class Names:
    """Display name -> user id, learnt from senders of one chat, for member lists."""

    def __init__(self) -> None:
        self._ids: dict[str, set[int]] = defaultdict(set)
        # Every user id the chat's export mentions (senders, actors, forwards,
        # mention_name links): whom an earlier erasure may concern.
        self.user_ids: set[int] = set()

    def learn(self, message: dict[str, Any]) -> None:
        for name_key, id_key in (
            ("from", "from_id"),
            ("actor", "actor_id"),
            ("forwarded_from", "forwarded_from_id"),
        ):
            peer = peer_id(message.get(id_key))
            if not peer or peer[0] != "user" or peer[1] <= 0:
                continue
            self.user_ids.add(peer[1])
            name = message.get(name_key)
            if id_key != "forwarded_from_id" and isinstance(name, str) and name:
                ids = self._ids[name]
                if len(ids) < 2:
                    ids.add(peer[1])
        for part in message.get("text_entities") or message.get("text") or []:
            if isinstance(part, dict) and (user_id := to_int(part.get("user_id"))) is not None:
                self.user_ids.add(user_id)

    def names_of(self, user_id: int) -> set[str]:
        """The display names the export gives ``user_id``."""
        return {name for name, ids in self._ids.items() if user_id in ids}

    def resolve(self, name: str) -> int | None:
        ids = self._ids.get(name)
        return next(iter(ids)) if ids and len(ids) == 1 else None


def _user(user_id: int | None, name: Any) -> dict[str, Any]:
    user: dict[str, Any] = {} if user_id is None else {"id": user_id}
    user["first_name"] = name if isinstance(name, str) and name else DELETED_ACCOUNT
    return user


def _member(name: Any, names: Names) -> dict[str, Any]:
    resolved = names.resolve(name) if isinstance(name, str) else None
    return _user(resolved, name)


def _sender(message: dict[str, Any], out: dict[str, Any], name_key: str, id_key: str) -> None:
    """Set ``from`` (a user) or ``sender_chat`` (a channel or group writing as itself)."""
    peer = peer_id(message.get(id_key))
    name = message.get(name_key)
    if peer is None or peer[1] == 0:
        return  # a deleted account without an id: Telegram's anonymous sender
    if peer[0] == "user":
        out["from"] = _user(peer[1], name)
    else:
        chat = out.get("chat")
        kind = "channel" if peer[0] == "channel" else "group"
        if isinstance(chat, dict) and chat.get("id") == peer[1]:
            kind = chat["type"]  # an anonymous admin writes as the group itself
        out["sender_chat"] = {"id": peer[1], "type": kind}
        if isinstance(name, str):
            out["sender_chat"]["title"] = name


def _forward(message: dict[str, Any]) -> dict[str, Any] | None:
    name = message.get("forwarded_from")
    peer = peer_id(message.get("forwarded_from_id"))
    if peer is None and "forwarded_from" not in message:
        return None
    # Exports carry no forward date, so the origin has none.
    if peer is not None and peer[0] == "user":
        return {"type": "user", "sender_user": _user(peer[1], name)}
    if peer is not None:
        chat: dict[str, Any] = {
            "id": peer[1],
            "type": "channel" if peer[0] == "channel" else "group",
        }
        if isinstance(name, str):
            chat["title"] = name
        return {"type": "channel" if peer[0] == "channel" else "chat", "chat": chat}
    return {"type": "hidden_user", "sender_user_name": name if isinstance(name, str) else ""}


def _stub(chat: ExportChat, message_id: int) -> dict[str, Any]:
    # What the Bot API calls an inaccessible message: id and chat, date 0.
    return {"message_id": message_id, "chat": chat.as_bot_chat(), "date": 0}


# Service actions whose Bot API field does not depend on the message.
_FIXED_SERVICE: dict[str, dict[str, Any]] = {
    "create_group": {"group_chat_created": True},
    "create_channel": {"channel_chat_created": True},
    "delete_group_photo": {"delete_chat_photo": True},
    # The export does not say which chat a group migrated to or from.
    "migrate_to_supergroup": {"migrate_to_chat_id": None},
    "migrate_from_group": {"migrate_from_chat_id": None},
}


def _service(message: dict[str, Any], chat: ExportChat, names: Names) -> dict[str, Any]:
    """The Bot API service field of an exported service message (``action``)."""
    action = str(message.get("action") or "custom_action")
    field = _membership(action, message, names)
    if field is None and action in _FIXED_SERVICE:
        field = dict(_FIXED_SERVICE[action])
    if field is None:
        field = _chat_event(action, message, chat)
    # Anything else keeps the export's action name: the ETL files an unknown
    # service field under its own name.
    return {action: True} if field is None else field


def _membership(action: str, message: dict[str, Any], names: Names) -> dict[str, Any] | None:
    """Members joining, leaving or invited to a call; None for another action."""
    members = [m for m in message.get("members") or [] if m is None or isinstance(m, str)]
    actor = peer_id(message.get("actor_id"))
    actor_user = _user(actor[1], message.get("actor")) if actor and actor[0] == "user" else None
    if action == "invite_members":
        return {"new_chat_members": [_member(m, names) for m in members]}
    if action in ("join_group_by_link", "join_group_by_request") and actor_user:
        return {"new_chat_members": [actor_user]}
    if action == "remove_members" and members:
        return {"left_chat_member": _member(members[0], names)}
    if action == "invite_to_group_call":
        return {"video_chat_participants_invited": {"users": [_member(m, names) for m in members]}}
    return None


def _chat_event(action: str, message: dict[str, Any], chat: ExportChat) -> dict[str, Any] | None:
    """A change to the chat (title, photo, pin, topic, call, timer, boost); None otherwise."""
    if action == "edit_group_title":
        return {"new_chat_title": str(message.get("title", ""))}
    if action == "edit_group_photo":
        return {"new_chat_photo": [scalars(message, "width", "height")]}
    if action == "pin_message":
        pinned = to_int(message.get("message_id"))
        return {"pinned_message": _stub(chat, pinned) if pinned is not None else None}
    if action == "topic_created":
        return {"forum_topic_created": {"name": str(message.get("title", ""))}}
    if action == "topic_edit":
        return {"forum_topic_edited": scalars(message, "new_title")}
    if action == "group_call":
        duration = to_int(message.get("duration"))
        if duration is not None:
            return {"video_chat_ended": {"duration": duration}}
        return {"video_chat_started": {}}
    if action == "group_call_scheduled":
        return {"video_chat_scheduled": {"start_date": to_int(message.get("schedule_date"))}}
    if action == "set_messages_ttl":
        return {
            "message_auto_delete_timer_changed": {"message_auto_delete_time": message.get("period")}
        }
    if action == "boost_apply":
        return {"boost_added": {"boost_count": to_int(message.get("boosts")) or 1}}
    return None


def convert_message(
    message: dict[str, Any], chat: ExportChat, names: Names
) -> tuple[int, dict[str, Any]] | str:
    """One exported message -> ``(update_id, update)``, or the reason it is skipped."""
    message_id = to_int(message.get("id"))
    if message_id is None:
        return "no message id"
    kind = message.get("type")
    if kind not in ("message", "service"):
        return f"message type {kind!r}"
    date = to_int(message.get("date_unixtime"))
    if date is None:
        return "no date_unixtime (an export from an old Telegram Desktop version)"
    out: dict[str, Any] = {"message_id": message_id, "chat": chat.as_bot_chat()}
    if kind == "service":
        _sender(message, out, "actor", "actor_id")
    else:
        _sender(message, out, "from", "from_id")
    out["date"] = date
    edited = to_int(message.get("edited_unixtime"))
    if edited is not None:
        out["edit_date"] = edited
    if kind == "service":
        out.update(_service(message, chat, names))
    else:
        _content(message, chat, out)
    update_kind = "channel_post" if chat.type == "channel" else "message"
    update_id = imported_update_id(chat.id, message_id)
    return update_id, {"update_id": update_id, update_kind: out}


def _content(message: dict[str, Any], chat: ExportChat, out: dict[str, Any]) -> None:
    forward = _forward(message)
    if forward is not None:
        out["forward_origin"] = forward
    reply = to_int(message.get("reply_to_message_id"))
    reply_peer = message.get("reply_to_peer_id")
    if reply is not None and (reply_peer is None or to_int(reply_peer) in (None, chat.export_id)):
        out["reply_to_message"] = _stub(chat, reply)
    if isinstance(message.get("via_bot"), str):
        out["via_bot"] = {"is_bot": True, "username": message["via_bot"].lstrip("@")}
    if isinstance(message.get("author"), str):
        out["author_signature"] = message["author"]
    media = media_fields(message)
    # text_entities (newer exports) lists every part as an object; text mixes
    # bare strings and objects. Both join to the same plain text.
    parts = message.get("text_entities")
    text, entities = join_text(parts if isinstance(parts, list) else message.get("text"))
    if media:
        out.update(media)
        if text:
            out["caption"] = text
            if entities:
                out["caption_entities"] = entities
    else:
        out["text"] = text
        if entities:
            out["entities"] = entities

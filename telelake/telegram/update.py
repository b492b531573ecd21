"""A typed, read-only view over one Telegram Update, JSON kept untouched.

Telegram adds update kinds and message fields several times a year, so the
view never validates the whole object: it reads what telelake needs
(``update_id``, the kind, the chat, the event time) and leaves the rest as
is. The raw bytes stay the source of truth; this is how we look at them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Kinds whose payload is a Message: their event time is the send date, which
# every later edit keeps, so all versions of a message share a partition.
MESSAGE_KINDS = frozenset({"message", "edited_message", "channel_post", "edited_channel_post"})

# Other payload keys that carry a Message whose chat the update belongs to
# (callback_query.message, for example).
_NESTED_MESSAGE_KEYS = ("message",)


# Readers of one JSON field that answer None (or {}) for a missing or
# mistyped value, so a field Telegram changes never raises deep in the ETL.
# Parsed JSON holds only dict, list, str, int, float, bool and None, so exact
# type checks say the same as isinstance (a bool is not an integer id here)
# at a fraction of the cost: the ETL reads several fields of every update.


def as_int(value: Any) -> int | None:
    return value if type(value) is int else None


def as_str(value: Any) -> str | None:
    return value if type(value) is str else None


def as_bool(value: Any) -> bool | None:
    return value if type(value) is bool else None


def as_dict(value: Any) -> dict[str, Any]:
    return value if type(value) is dict else {}


def id_of(value: Any) -> int | None:
    """The integer ``id`` of an object (a chat, a user), or ``None``."""
    if type(value) is dict:
        found = value.get("id")
        if type(found) is int:
            return found
    return None


# Not frozen: one is made per update on the ETL's hot path, and a frozen
# dataclass's __init__ costs three times as much. Nothing mutates it.
@dataclass(slots=True)
class Update:
    """One parsed update: ``update_id``, its single kind and that kind's payload."""

    update_id: int
    kind: str
    payload: Any
    data: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Any) -> Update:
        """Build the view; raises ``ValueError`` when ``data`` is not Update-shaped.

        Shape: a JSON object with an integer ``update_id``. The kind is the
        first other key (Telegram sends exactly one); an update with no other
        key has kind ``"unknown"``.
        """
        if type(data) is not dict:
            raise ValueError("an update must be a JSON object")
        update_id = data.get("update_id")
        if type(update_id) is not int:
            raise ValueError("an update needs an integer update_id")
        for kind in data:
            if kind != "update_id":
                return cls(update_id, kind, data[kind], data)
        return cls(update_id, "unknown", None, data)

    @property
    def chat_id(self) -> int | None:
        """The chat the update belongs to, or ``None`` (inline queries, polls, ...)."""
        payload = self.payload
        if type(payload) is not dict:
            return None
        chat_id = id_of(payload.get("chat"))
        if chat_id is None:
            for key in _NESTED_MESSAGE_KEYS:
                nested = payload.get(key)
                if type(nested) is dict:
                    chat_id = id_of(nested.get("chat"))
                    if chat_id is not None:
                        break
        return chat_id

    @property
    def user_id(self) -> int | None:
        """Who caused the update (``from.id`` of the payload), when known."""
        payload = self.payload
        if type(payload) is not dict:
            return None
        return id_of(payload.get("from") or payload.get("user"))

    @property
    def event_time(self) -> int | None:
        """Unix seconds of the event the update reports, or ``None`` if it has none.

        For messages and their edits, the original send ``date``; for other
        kinds, their own top-level ``date`` (chat_member, message_reaction,
        chat_join_request, ...). Zero (Telegram's "inaccessible") counts as none.
        """
        payload = self.payload
        if type(payload) is not dict:
            return None
        date = payload.get("date")
        if type(date) is not int or date <= 0:
            return None
        return date


# What telelake asks Telegram to send when the user says nothing else. The
# member and reaction kinds are opt-in: Telegram sends them only when asked
# in allowed_updates, and only to bots that are administrators of the chat.
DEFAULT_ALLOWED_UPDATES: tuple[str, ...] = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "my_chat_member",
)
MEMBER_UPDATES: tuple[str, ...] = ("chat_member",)
REACTION_UPDATES: tuple[str, ...] = ("message_reaction", "message_reaction_count")

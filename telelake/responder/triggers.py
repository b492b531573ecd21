"""Which updates the responder acts on: commands and joins. Pure and light.

Ingest calls :func:`may_need_answer` on every acknowledged update (the webhook
on its event loop, the ingest Lambda before it returns), so it is a byte
search, not a parse: a false positive costs the responder one parse, a false
negative would lose an answer, so it errs on the side of yes. The responder
then reads the update with :func:`trigger_of`.

Only ``message`` updates carry commands (an edit of ``/stats`` is not a new
question); joins come from ``new_chat_members`` service messages and from
``chat_member`` updates (sent to admin bots that asked for them), so the same
join may arrive twice: the alert counts people, not updates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telelake.telegram.update import as_dict, as_int, as_str, id_of

# Commands a well-behaved bot answers; anything else addressed to it is ignored.
ANSWERED = frozenset(
    {"stats", "top", "me", "words", "help", "start", "digest", "alerts", "forgetme"}
)
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)")
_IN_CHAT = frozenset({"member", "administrator", "creator"})


# A string starting with "/", however JSON spells the slash (it may escape it).
_SLASH = (b'"/', b'"\\/', b'"\\u002f', b'"\\u002F')


def may_need_answer(body: bytes) -> bool:
    """Whether an update may be a command or a join (bytes only; never wrong by omission)."""
    return (
        any(slash in body for slash in _SLASH)
        or b"new_chat_members" in body
        or b'"chat_member"' in body
    )


@dataclass(frozen=True)
class Command:
    """``/name@bot arg1 arg2``: ``name`` lower-cased, ``bot`` the addressee if any."""

    name: str
    args: tuple[str, ...]
    bot: str | None


@dataclass(frozen=True)
class Trigger:
    """A command or a join, with what answering it needs."""

    update_id: int
    chat_id: int
    chat_type: str
    chat_title: str | None
    date: int
    command: Command | None = None
    user_id: int | None = None
    message_id: int | None = None
    thread_id: int | None = None
    # the message was sent on behalf of the chat itself (an anonymous administrator)
    as_chat: bool = False
    joined: tuple[int, ...] = ()

    @property
    def private(self) -> bool:
        return self.chat_type == "private"


def command_of(text: Any) -> Command | None:
    """The command a message text starts with, or ``None``."""
    if not isinstance(text, str):
        return None
    match = _COMMAND.match(text)
    if match is None:
        return None
    args = tuple(text[match.end() :].split())
    return Command(match.group(1).lower(), args, match.group(2))


def trigger_of(data: Mapping[str, Any]) -> Trigger | None:
    """The command or join an update carries, or ``None``."""
    update_id = as_int(data.get("update_id"))
    if update_id is None:
        return None
    if "message" in data:
        return _from_message(update_id, as_dict(data.get("message")))
    if "chat_member" in data:
        return _from_chat_member(update_id, as_dict(data.get("chat_member")))
    return None


def _chat(payload: Mapping[str, Any]) -> tuple[int, str, str | None] | None:
    chat = as_dict(payload.get("chat"))
    chat_id = id_of(chat)
    if chat_id is None:
        return None
    return chat_id, as_str(chat.get("type")) or "", as_str(chat.get("title"))


def _from_message(update_id: int, message: Mapping[str, Any]) -> Trigger | None:
    chat = _chat(message)
    date = as_int(message.get("date"))
    if chat is None or date is None:
        return None
    chat_id, chat_type, title = chat
    members = message.get("new_chat_members")
    if isinstance(members, list):
        joined = tuple(
            user_id
            for user in members
            if (user_id := id_of(user)) is not None and as_dict(user).get("is_bot") is not True
        )
        if not joined:
            return None
        return Trigger(update_id, chat_id, chat_type, title, date, joined=joined)
    command = command_of(message.get("text"))
    if command is None:
        return None
    sender_chat = id_of(message.get("sender_chat"))
    return Trigger(
        update_id,
        chat_id,
        chat_type,
        title,
        date,
        command=command,
        user_id=id_of(message.get("from")),
        message_id=as_int(message.get("message_id")),
        thread_id=as_int(message.get("message_thread_id"))
        if message.get("is_topic_message") is True
        else None,
        as_chat=sender_chat is not None and sender_chat == chat_id,
    )


def _from_chat_member(update_id: int, change: Mapping[str, Any]) -> Trigger | None:
    chat = _chat(change)
    date = as_int(change.get("date"))
    if chat is None or date is None:
        return None
    old, new = as_dict(change.get("old_chat_member")), as_dict(change.get("new_chat_member"))
    if _is_in(old) or not _is_in(new):
        return None
    user = as_dict(new.get("user"))
    user_id = id_of(user)
    if user_id is None or user.get("is_bot") is True:
        return None
    chat_id, chat_type, title = chat
    return Trigger(update_id, chat_id, chat_type, title, date, joined=(user_id,))


def _is_in(member: Mapping[str, Any]) -> bool:
    """Whether a ChatMember is in the chat (a restricted member only with ``is_member``)."""
    status = member.get("status")
    return status in _IN_CHAT or (status == "restricted" and member.get("is_member") is True)

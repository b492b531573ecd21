"""The records of a simulated group: people, chats, messages and queued updates.

Plain data with the few rules that belong to the data itself: how a message
looks at a given moment (its latest edit by then, the chat's title by then),
who is a member when, and who speaks next. Every module of the simulator
shares these records, so they live below all of them and import none.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass
class User:
    json: Json  # the Bot API User object, shared by every update that mentions them
    lang: str


@dataclass
class Seg:
    """A piece of message text; every kind but ``plain`` becomes an entity."""

    kind: str
    text: str
    user: Json | None = None


@dataclass
class Msg:
    chat: Chat
    message_id: int
    date: int
    head: Json  # from / author_signature / sender_chat, in the server's order
    body: Json  # content fields: text+entities, photo+caption, sticker, service fields
    service: bool = False
    thread_id: int | None = None
    forward: Json | None = None
    reply_to: Msg | None = None
    media_group_id: str | None = None
    pinned: Msg | None = None
    segments: list[Seg] | None = None
    versions: list[tuple[int, Json]] = field(default_factory=list)  # (edit_date, body)

    def to_json(self, at: int, with_reply: bool = True) -> Json:
        """The message as Telegram shows it at time ``at`` (latest edit by then)."""
        edit_date, body = 0, self.body
        for when, version in self.versions:
            if when <= at:
                edit_date, body = when, version
        out: Json = {"message_id": self.message_id, **self.head}
        out["chat"] = self.chat.json_at(at)
        out["date"] = self.date
        if edit_date:
            out["edit_date"] = edit_date
        if self.thread_id is not None:
            out["message_thread_id"] = self.thread_id
        if self.forward is not None:
            out.update(self.forward)
        if with_reply and self.reply_to is not None:
            out["reply_to_message"] = self.reply_to.to_json(at, with_reply=False)
        if self.media_group_id is not None:
            out["media_group_id"] = self.media_group_id
        out.update(body)
        if self.pinned is not None:
            out["pinned_message"] = self.pinned.to_json(at, with_reply=False)
        return out


@dataclass
class Chat:
    id: int
    type: str
    titles: list[tuple[int, str]]  # (effective from, title), ascending
    username: str | None
    members: list[User]
    next_id: int
    joined: dict[int, int] = field(default_factory=dict)  # user id -> join time
    left: dict[int, int] = field(default_factory=dict)  # user id -> leave time
    history: list[Msg] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)  # cumulative speaking weights of members

    def json_at(self, at: int) -> Json:
        title = self.titles[0][1]
        for start, name in self.titles:
            if start <= at:
                title = name
        out: Json = {"id": self.id, "title": title}
        if self.username:
            out["username"] = self.username
        out["type"] = self.type
        if self.type == "group":
            out["all_members_are_administrators"] = True
        return out

    def is_member(self, user: User, at: int) -> bool:
        uid = user.json["id"]
        return self.joined.get(uid, -1) <= at < self.left.get(uid, 1 << 62)

    def pick(self, rng: random.Random, at: int, anchor: User) -> User:
        # Heavy-tailed: a few people write most; lurkers only now and then.
        for _ in range(8):
            user = rng.choices(self.members, cum_weights=self.cum)[0]
            if self.is_member(user, at):
                return user
        return anchor


@dataclass(order=True)
class Pending:
    """An update waiting for delivery; updates are numbered in (time, seq) order."""

    time: int
    seq: int
    kind: str = field(compare=False)
    msg: Msg | None = field(compare=False, default=None)
    payload: Json | None = field(compare=False, default=None)


def reply_fields(chat: Chat, target: Msg) -> Json:
    """The fields of a new message in ``chat`` that make it a reply to ``target``."""
    extra: Json = {"reply_to": target}
    if chat.type == "supergroup":
        # Supergroups thread replies under the first message of the chain.
        extra["thread_id"] = target.thread_id or target.message_id
    return extra

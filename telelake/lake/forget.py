"""Erasing one person from raw updates: the rule, and the audit record. Pure rules.

The rule (``telelake forget`` and ``telelake import`` apply it; see
``telelake/privacy.py`` for the whole erasure), per raw update:

- **deleted** when the update is the person's: they sent it, it is their
  reaction, vote, button press, join request or boost, their membership change
  (``chat_member`` about them, ``left_chat_member``, a ``new_chat_members``
  list of only them), or it is in their private chat with the bot;
- **rewritten** when it only mentions them in passing: a reply or pin that
  embeds their message keeps only the message id (the Bot API's "inaccessible
  message"; a quote of it is dropped); a forward of their message becomes a
  forward from a hidden "Deleted Account"; they leave member lists and the
  actor field of someone else's membership change; a ``text_mention`` of them
  is dropped; any other user object with their id is removed. Names they go
  by (learnt from their own user objects) are replaced where they stand
  without an id: member lists of imported exports, hidden-forward names;
- untouched otherwise. Words others wrote (their name typed in a message, an
  @username in text) are other people's text and stay.

An erasure is recorded as one JSON object under ``_telelake/erasures/`` of the
raw layer, without content: when, counts per date, and the user id only as a
salted scrypt hash plus a 16-bit tag. The tag lets ``import`` find, cheaply,
which people of an export were erased before (each tag is shared by ~10^5
possible ids, so it identifies no one); the scrypt hash confirms it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, date, datetime
from typing import Any

import orjson

from telelake import __version__
from telelake.lake.layout import STATE_PREFIX
from telelake.lake.storage import Store

ERASURES_PREFIX = f"{STATE_PREFIX}/erasures"
DELETED_ACCOUNT = "Deleted Account"
# Salted scrypt for the audit record: Telegram ids are small numbers, so a
# plain hash would be reversed by trying them all; this costs ~50 ms a guess.
SCRYPT = {"n": 2**14, "r": 8, "p": 1}

_MEMBER_KINDS = frozenset({"chat_member", "my_chat_member"})
_USER_KEYS = frozenset({"id", "is_bot", "first_name", "last_name", "username", "language_code"})


class Delete:
    """Marker: the whole object goes."""


DELETE = Delete()


class Person:
    """Tests for "this is them" over Bot API JSON."""

    def __init__(self, user_id: int, names: frozenset[str] = frozenset()) -> None:
        self.id = user_id
        self.names = names

    def is_user(self, value: Any) -> bool:
        return (
            isinstance(value, dict)
            and value.get("id") == self.id
            and not isinstance(value.get("id"), bool)
            and bool(value.keys() & {"first_name", "is_bot", "username", "type"})
        )

    def is_named(self, value: Any) -> bool:
        """A user object without an id that carries one of their names."""
        return (
            isinstance(value, dict)
            and "id" not in value
            and value.get("first_name") in self.names
            and value.keys() <= _USER_KEYS
        )

    def authored(self, message: Any) -> bool:
        return isinstance(message, dict) and self.is_user(message.get("from"))

    def forwarded(self, origin: Any) -> bool:
        """A forward origin naming them, by user object or by hidden sender name."""
        if not isinstance(origin, dict):
            return False
        return self.is_user(origin.get("sender_user")) or origin.get("sender_user_name") in (
            self.names
        )

    def anywhere(self, value: Any) -> bool:
        stack = [value]
        while stack:
            item = stack.pop()
            if self.is_user(item) or self.is_named(item):
                return True
            if isinstance(item, dict):
                if item.get("user_id") == self.id or self.forwarded(item):
                    return True
                if item.get("forward_sender_name") in self.names:
                    return True
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return False

    def learn_names(self, value: Any, into: set[str]) -> None:
        stack = [value]
        while stack:
            item = stack.pop()
            if self.is_user(item) and isinstance(item, dict):
                first, last = item.get("first_name"), item.get("last_name")
                for name in (first, last, item.get("username")):
                    if isinstance(name, str) and name and name != DELETED_ACCOUNT:
                        into.add(name)
                if isinstance(first, str) and isinstance(last, str) and first and last:
                    into.add(f"{first} {last}")
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)


def _is_theirs(kind: str, payload: dict[str, Any], person: Person) -> bool:
    """Whether the update is the person's own (deleted, not rewritten)."""
    chat = payload.get("chat")
    if isinstance(chat, dict) and chat.get("id") == person.id and chat.get("type") == "private":
        return True
    if kind in _MEMBER_KINDS:
        # About whose membership it is; ``from`` is only the admin who acted.
        subject = [payload.get(k) for k in ("new_chat_member", "old_chat_member")]
        return any(isinstance(s, dict) and person.is_user(s.get("user")) for s in subject)
    members = payload.get("new_chat_members")
    if isinstance(members, list) and members:
        return all(person.is_user(m) or person.is_named(m) for m in members)
    for key in ("left_chat_member", "left_chat_participant"):
        if isinstance(payload.get(key), dict):
            return person.is_user(payload[key]) or person.is_named(payload[key])
    if person.is_user(payload.get("from")) or person.is_user(payload.get("user")):
        return True
    boost = payload.get("boost")
    source = boost.get("source") if isinstance(boost, dict) else payload.get("source")
    return isinstance(source, dict) and person.is_user(source.get("user"))


def _stub(message: dict[str, Any]) -> dict[str, Any]:
    # The Bot API's inaccessible message: which message, in which chat, date 0.
    stub: dict[str, Any] = {"message_id": message.get("message_id"), "date": 0}
    if isinstance(message.get("chat"), dict):
        stub["chat"] = message["chat"]
    return stub


def _hidden(origin: dict[str, Any]) -> dict[str, Any]:
    hidden: dict[str, Any] = {"type": "hidden_user", "sender_user_name": DELETED_ACCOUNT}
    if "date" in origin:
        hidden["date"] = origin["date"]
    return hidden


def _rewrite(value: Any, person: Person) -> Any:
    """``value`` without the person (see the module docstring for the rule)."""
    if isinstance(value, list):
        kept = []
        for item in value:
            if person.is_user(item) or person.is_named(item):
                continue
            if isinstance(item, dict) and person.is_user(item.get("user")):
                continue  # a text_mention of them, or a member entry of theirs
            kept.append(_rewrite(item, person))
        return kept
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    quoted_theirs = False
    lost_member = False
    for key, item in value.items():
        if key in ("reply_to_message", "pinned_message") and person.authored(item):
            out[key] = _stub(item)
            quoted_theirs = quoted_theirs or key == "reply_to_message"
            continue
        if key == "forward_origin" and person.forwarded(item):
            out[key] = _hidden(item)
            continue
        if key == "forward_from" and person.is_user(item):
            out["forward_sender_name"] = DELETED_ACCOUNT
            continue
        if key in ("forward_sender_name", "sender_user_name") and item in person.names:
            out[key] = DELETED_ACCOUNT
            continue
        if key == "external_reply" and person.anywhere(item):
            continue
        if key in ("new_chat_member", "new_chat_participant") and person.is_user(item):
            lost_member = True
            continue
        if (
            person.is_user(item)
            or person.is_named(item)
            or (key == "user_id" and item == person.id)
        ):
            continue
        out[key] = _rewrite(item, person)
    if quoted_theirs:
        out.pop("quote", None)
    if lost_member and out.get("new_chat_members"):
        out["new_chat_member"] = out["new_chat_members"][0]
    return out


def erase(data: Any, person: Person) -> Any:
    """One raw update without the person: :data:`DELETE`, a rewritten update, or
    ``data`` itself when they are not in it."""
    if not isinstance(data, dict):
        return data
    kind = next((k for k in data if k != "update_id"), "unknown")
    payload = data.get(kind)
    if isinstance(payload, dict) and _is_theirs(kind, payload, person):
        return DELETE
    if not person.anywhere(data):
        return data
    return _rewrite(data, person)


def needles(person: Person) -> list[bytes]:
    """Byte strings one of which is in any object that mentions the person: the id
    first, then each name as UTF-8 and as JSON escapes (either case of hex digits)."""
    names: set[bytes] = set()
    for name in person.names:
        escaped = json.dumps(name)[1:-1]  # \uXXXX for non-ASCII, as Telegram sends it
        upper = re.sub(r"\\u[0-9a-f]{4}", lambda m: "\\u" + m.group()[2:].upper(), escaped)
        names |= {name.encode("utf-8"), escaped.encode(), upper.encode()}
    return [str(person.id).encode(), *sorted(names)]


def erasure_tag(user_id: int) -> str:
    """16 bits of SHA-256 of the id: a cheap pre-check, shared by ~10^5 possible ids."""
    return hashlib.sha256(f"telelake-erasure:{user_id}".encode()).hexdigest()[:4]


def audit_record(
    user_id: int,
    deleted: dict[date, int],
    rewritten: dict[date, int],
    pseudonymized: bool,
    now: float,
) -> bytes:
    """The audit record of one erasure: when, what, how many; never content."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(str(user_id).encode(), salt=salt, dklen=32, **SCRYPT)
    record = {
        "erased_at": datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds"),
        "user_id_scrypt": {"hash": digest.hex(), "salt": salt.hex(), **SCRYPT, "dklen": 32},
        "user_id_tag": erasure_tag(user_id),
        "raw_objects_deleted": {d.isoformat(): n for d, n in sorted(deleted.items())},
        "raw_objects_rewritten": {d.isoformat(): n for d, n in sorted(rewritten.items())},
        "partitions_rebuilt": sorted({d.isoformat() for d in (*deleted, *rewritten)}),
        "pseudonymized": pseudonymized,
        "telelake": __version__,
    }
    return orjson.dumps(record, option=orjson.OPT_INDENT_2)


def audit_key(now: float) -> str:
    stamp = datetime.fromtimestamp(now, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{ERASURES_PREFIX}/{stamp}-{os.urandom(4).hex()}.json"


def audit_matches(record: dict[str, Any], user_id: int) -> bool:
    """Whether an audit record is the erasure of ``user_id`` (for whoever holds the id)."""
    params = record["user_id_scrypt"]
    digest = hashlib.scrypt(
        str(user_id).encode(),
        salt=bytes.fromhex(params["salt"]),
        n=params["n"],
        r=params["r"],
        p=params["p"],
        dklen=params["dklen"],
    )
    return bool(digest.hex() == params["hash"])


def erasure_records(raw: Store) -> list[dict[str, Any]]:
    """Every audit record of the lake, oldest first."""
    keys = [k for k in raw.list(ERASURES_PREFIX) if k.endswith(".json")]
    return [orjson.loads(body) for body in raw.read_many(keys)]


def erased_among(records: list[dict[str, Any]], user_ids: set[int]) -> set[int]:
    """Which of ``user_ids`` an earlier erasure removed (tag first, then scrypt)."""
    tags = {r.get("user_id_tag") for r in records}
    return {
        uid
        for uid in user_ids
        if erasure_tag(uid) in tags
        and any(r.get("user_id_tag") == erasure_tag(uid) and audit_matches(r, uid) for r in records)
    }

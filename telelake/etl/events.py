"""Updates that are not messages -> rows: member changes, reactions, reaction counts.

Also the one row every kept update gets in ``telegram_updates`` (what arrived,
of which kind, from which chat and person), whatever its kind. Pure: a row is
a function of one parsed update; a payload that lacks what its table needs,
or holds a time no engine can read, raises ``ValueError``, which the
transform turns into a reject.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telelake.etl.timestamps import checked_seconds
from telelake.telegram.update import Update, as_bool, as_dict, as_int, as_str

Row = dict[str, Any]
# A ``telegram_updates`` row, in column order.
UPDATE_COLUMNS = ("update_id", "update_kind", "chat_id", "user_id", "date", "raw_key")
UpdateValues = tuple[int, str, int | None, int | None, int | None, str]

MEMBER_KINDS = frozenset({"chat_member", "my_chat_member"})
REACTION = "message_reaction"
REACTION_COUNT = "message_reaction_count"


def update_values(update: Update, key: str) -> UpdateValues:
    """The ``telegram_updates`` row of an update stored under ``key``."""
    return (update.update_id, update.kind, update.chat_id, update.user_id, update.event_time, key)


def _reaction(value: Any) -> str | None:
    """A ReactionType as one string: the emoji, ``custom:<id>`` or ``paid``."""
    reaction = as_dict(value)
    kind = reaction.get("type")
    if kind == "emoji":
        return as_str(reaction.get("emoji"))
    if kind == "custom_emoji":
        return f"custom:{reaction.get('custom_emoji_id')}"
    return as_str(kind)


def _reactions(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [r for r in (_reaction(v) for v in values) if r is not None]


def _chat_id_or_raise(payload: dict[str, Any]) -> int:
    chat_id = as_int(as_dict(payload.get("chat")).get("id"))
    if chat_id is None:
        raise ValueError("no integer chat.id")
    return chat_id


def _date(payload: dict[str, Any]) -> int | None:
    return checked_seconds(as_int(payload.get("date")), "date")


def member_row(update: Update) -> Row:
    """The ``telegram_members`` row of a ``chat_member``/``my_chat_member`` update."""
    payload = as_dict(update.payload)
    chat = as_dict(payload.get("chat"))
    old, new = as_dict(payload.get("old_chat_member")), as_dict(payload.get("new_chat_member"))
    user = as_dict(new.get("user")) or as_dict(old.get("user"))
    return {
        "update_id": update.update_id,
        "update_kind": update.kind,
        "chat_id": _chat_id_or_raise(payload),
        "chat_type": as_str(chat.get("type")),
        "chat_title": as_str(chat.get("title")),
        "actor_user_id": as_int(as_dict(payload.get("from")).get("id")),
        "user_id": as_int(user.get("id")),
        "user_first_name": as_str(user.get("first_name")),
        "user_is_bot": as_bool(user.get("is_bot")),
        "old_status": as_str(old.get("status")),
        "new_status": as_str(new.get("status")),
        "date": _date(payload),
        "invite_link_name": as_str(as_dict(payload.get("invite_link")).get("name")),
        "invite_link_creator_user_id": as_int(
            as_dict(as_dict(payload.get("invite_link")).get("creator")).get("id")
        ),
        "via_join_request": payload.get("via_join_request") is True,
    }


def reaction_row(update: Update) -> Row:
    """The ``telegram_reactions`` row of a ``message_reaction`` update."""
    payload = as_dict(update.payload)
    return {
        "update_id": update.update_id,
        "chat_id": _chat_id_or_raise(payload),
        "message_id": as_int(payload.get("message_id")),
        "user_id": as_int(as_dict(payload.get("user")).get("id")),
        "actor_chat_id": as_int(as_dict(payload.get("actor_chat")).get("id")),
        "date": _date(payload),
        "old_reactions": _reactions(payload.get("old_reaction")),
        "new_reactions": _reactions(payload.get("new_reaction")),
    }


def reaction_count_rows(update: Update) -> list[Row]:
    """``telegram_reaction_counts`` rows of a ``message_reaction_count`` update."""
    payload = as_dict(update.payload)
    chat_id = _chat_id_or_raise(payload)
    date = _date(payload)
    rows = []
    items = payload.get("reactions")
    for item in items if type(items) is list else []:
        item = as_dict(item)
        rows.append(
            {
                "update_id": update.update_id,
                "chat_id": chat_id,
                "message_id": as_int(payload.get("message_id")),
                "date": date,
                "reaction": _reaction(item.get("type")),
                "total_count": as_int(item.get("total_count")),
            }
        )
    return rows


def chat_stats_row(update: Update) -> Row:
    """The ``telegram_chat_stats`` row of a member-count snapshot (telegram/snapshot.py)."""
    payload = as_dict(update.payload)
    taken = _date(payload)
    count = as_int(payload.get("member_count"))
    if taken is None or count is None:
        raise ValueError("a member-count snapshot needs an integer date and member_count")
    return {
        "update_id": update.update_id,
        "chat_id": _chat_id_or_raise(payload),
        "date": taken,
        # Stored as UTC wall time in milliseconds, as the other *_at columns.
        "taken_at": datetime.fromtimestamp(taken, UTC).replace(tzinfo=None),
        "member_count": count,
    }

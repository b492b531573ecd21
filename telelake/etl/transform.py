"""Raw update objects of one date -> the enriched tables of that date. Pure.

No I/O and no clock: the same objects always give the same tables, which is
what makes the ETL idempotent (DESIGN §3.5) and lets the runner rebuild any
partition at any time. Rows are collected as Python column lists and turned
into one Arrow table per table at the end (one ``pa.table`` call, not one per
row: the original design's per-row concatenation was quadratic, §10).

A raw object that cannot be used is never fatal: it becomes a row of
``telegram_rejects`` with its key and reason (DESIGN §3.7).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa

from telelake.etl import schema
from telelake.etl.messages import (
    ServiceRow,
    is_service,
    message_row,
    service_rows,
    version_rank,
)
from telelake.etl.timestamps import add_timestamps
from telelake.telegram.export import is_imported
from telelake.telegram.update import MESSAGE_KINDS, Update, as_bool, as_dict, as_int, as_str

Row = dict[str, Any]


@dataclass
class Tables:
    """The rows of every table for one date, plus counts for the run report."""

    messages: list[Row] = field(default_factory=list)
    service: list[ServiceRow] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    reactions: list[Row] = field(default_factory=list)
    reaction_counts: list[Row] = field(default_factory=list)
    updates: list[Row] = field(default_factory=list)
    rejects: list[Row] = field(default_factory=list)
    duplicates: int = 0


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


def _member_row(update: Update, payload: dict[str, Any]) -> Row:
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
        "date": as_int(payload.get("date")),
        "invite_link_name": as_str(as_dict(payload.get("invite_link")).get("name")),
        "via_join_request": payload.get("via_join_request") is True,
    }


def _reaction_row(update: Update, payload: dict[str, Any]) -> Row:
    return {
        "update_id": update.update_id,
        "chat_id": _chat_id_or_raise(payload),
        "message_id": as_int(payload.get("message_id")),
        "user_id": as_int(as_dict(payload.get("user")).get("id")),
        "actor_chat_id": as_int(as_dict(payload.get("actor_chat")).get("id")),
        "date": as_int(payload.get("date")),
        "old_reactions": _reactions(payload.get("old_reaction")),
        "new_reactions": _reactions(payload.get("new_reaction")),
    }


def _reaction_count_rows(update: Update, payload: dict[str, Any]) -> list[Row]:
    chat_id = _chat_id_or_raise(payload)
    rows = []
    for item in payload.get("reactions") or []:
        item = as_dict(item)
        rows.append(
            {
                "update_id": update.update_id,
                "chat_id": chat_id,
                "message_id": as_int(payload.get("message_id")),
                "date": as_int(payload.get("date")),
                "reaction": _reaction(item.get("type")),
                "total_count": as_int(item.get("total_count")),
            }
        )
    return rows


def _canonical_first(item: tuple[str, bytes]) -> tuple[int, str]:
    # "<update_id>.json" before "<update_id>.<digest>.json" (a conflicting re-use
    # of the id) and before files of older tools, so de-duplication by
    # update_id keeps the object Telegram delivered first.
    name = item[0].rsplit("/", 1)[-1]
    stem = name[:-5] if name.endswith(".json") else name
    return (0 if stem.lstrip("-").isdigit() else 1, item[0])


def collect(objects: Iterable[tuple[str, bytes]]) -> Tables:
    """Parse, de-duplicate and route every object into row lists."""
    tables = Tables()
    # update_id -> contents seen with it. Telegram re-delivers the same update
    # with the same content; a different content under a reused id (test data,
    # hand-made backfills) is a different update and is kept.
    seen: dict[int, list[Any]] = {}
    # Latest version of each message, keyed by (chat_id, message_id).
    latest: dict[tuple[int, int], tuple[tuple[int, int, int, int], Row]] = {}
    for key, body in sorted(objects, key=_canonical_first):
        try:
            data = orjson.loads(body)
            update = Update.from_json(data)
        except (orjson.JSONDecodeError, ValueError) as exc:
            tables.rejects.append({"raw_key": key, "reason": str(exc), "size_bytes": len(body)})
            continue
        versions = seen.setdefault(update.update_id, [])
        if data in versions:
            tables.duplicates += 1
            continue
        versions.append(data)
        payload = update.payload
        try:
            if update.kind in MESSAGE_KINDS:
                if not isinstance(payload, dict):
                    raise ValueError(f"{update.kind} is not an object")
                if is_service(payload):
                    tables.service.extend(service_rows(update, payload))
                else:
                    row = message_row(update, payload)
                    ident = (row["chat_id"], row["message_id"])
                    rank = version_rank(update, payload)
                    current = latest.get(ident)
                    if current is None or rank > current[0]:
                        latest[ident] = (rank, row)
            elif update.kind in ("chat_member", "my_chat_member"):
                tables.members.append(_member_row(update, as_dict(payload)))
            elif update.kind == "message_reaction":
                tables.reactions.append(_reaction_row(update, as_dict(payload)))
            elif update.kind == "message_reaction_count":
                tables.reaction_counts.extend(_reaction_count_rows(update, as_dict(payload)))
        except ValueError as exc:
            reason = f"update {update.update_id} ({update.kind}): {exc}"
            tables.rejects.append({"raw_key": key, "reason": reason, "size_bytes": len(body)})
            continue
        tables.updates.append(
            {
                "update_id": update.update_id,
                "update_kind": update.kind,
                "chat_id": update.chat_id,
                "user_id": update.user_id,
                "date": update.event_time,
                "raw_key": key,
            }
        )
    tables.messages = [row for _, row in latest.values()]
    # A service message the bot received replaces its imported copy (whose
    # member list may lack ids, so the rows would not match one for one).
    received = {
        (r["chat_id"], r["message_id"]) for r in tables.service if not is_imported(r["update_id"])
    }
    # One service row per (chat, message, member): a message can only be one event.
    unique: dict[tuple[int, int, int | None], ServiceRow] = {}
    for service_row in tables.service:
        if is_imported(service_row["update_id"]) and (
            (service_row["chat_id"], service_row["message_id"]) in received
        ):
            continue
        service_ident = (
            service_row["chat_id"],
            service_row["message_id"],
            service_row["member_user_id"],
        )
        unique.setdefault(service_ident, service_row)
    tables.service = list(unique.values())
    return tables


def _arrow(rows: list[Row], table_schema: pa.Schema, order: tuple[str, ...]) -> pa.Table:
    rows.sort(key=lambda r: tuple((r[c] is not None, r[c] or 0) for c in order))
    columns = {name: [row.get(name) for row in rows] for name in table_schema.names}
    return pa.table(columns, schema=table_schema)


def to_arrow(tables: Tables, zone: ZoneInfo) -> dict[str, pa.Table]:
    """One Arrow table per enriched table, rows in a stable order."""
    service = [dict(row) for row in tables.service]
    out = {
        schema.MESSAGES: _arrow(tables.messages, schema.MESSAGES_SCHEMA, ("chat_id", "message_id")),
        schema.SERVICE: _arrow(
            service, schema.SERVICE_SCHEMA, ("chat_id", "message_id", "member_user_id")
        ),
        schema.MEMBERS: _arrow(tables.members, schema.MEMBERS_SCHEMA, ("update_id",)),
        schema.REACTIONS: _arrow(tables.reactions, schema.REACTIONS_SCHEMA, ("update_id",)),
        schema.REACTION_COUNTS: _arrow(
            tables.reaction_counts, schema.REACTION_COUNTS_SCHEMA, ("update_id", "reaction")
        ),
        schema.UPDATES: _arrow(tables.updates, schema.UPDATES_SCHEMA, ("update_id",)),
        schema.REJECTS: pa.table(
            {
                n: [r[n] for r in sorted(tables.rejects, key=lambda r: r["raw_key"])]
                for n in schema.REJECTS_SCHEMA.names
            },
            schema=schema.REJECTS_SCHEMA,
        ),
    }
    return add_timestamps(out, zone)


def transform(objects: Iterable[tuple[str, bytes]], zone: ZoneInfo) -> dict[str, pa.Table]:
    """The whole pure step: raw ``(key, bytes)`` pairs of one date -> Arrow tables."""
    return to_arrow(collect(objects), zone)

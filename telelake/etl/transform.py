"""Raw update objects of one date -> the enriched tables of that date. Pure.

No I/O and no clock: the same objects always give the same tables, which is
what makes the ETL idempotent (DESIGN §3.5) and lets the runner rebuild any
partition at any time. Rows are collected as Python tuples in column order,
transposed once and turned into one Arrow array per column at the end (not one
table per row: the original design's per-row concatenation was quadratic,
§10; nor one dict per row, which cost as much as parsing the JSON).

A raw object that cannot be used is never fatal: it becomes a row of
``telegram_rejects`` with its key and reason (DESIGN §3.7).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa

from telelake.etl import schema
from telelake.etl.messages import (
    EDITED_KINDS,
    MESSAGE_COLUMNS,
    MessageValues,
    ServiceRow,
    id_of,
    message_values,
    service_event,
    service_rows,
)
from telelake.etl.timestamps import add_timestamps
from telelake.telegram.export import is_imported
from telelake.telegram.update import MESSAGE_KINDS, Update, as_bool, as_dict, as_int, as_str

Row = dict[str, Any]
# A ``telegram_updates`` row, in schema order.
UPDATE_COLUMNS = ("update_id", "update_kind", "chat_id", "user_id", "date", "raw_key")
UpdateValues = tuple[int, str, int | None, int | None, int | None, str]
_MESSAGE_ORDER = itemgetter(MESSAGE_COLUMNS.index("chat_id"), MESSAGE_COLUMNS.index("message_id"))
_UPDATE_ORDER = itemgetter(0)


@dataclass
class Tables:
    """The rows of every table for one date, plus counts for the run report."""

    messages: list[MessageValues] = field(default_factory=list)
    service: list[ServiceRow] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    reactions: list[Row] = field(default_factory=list)
    reaction_counts: list[Row] = field(default_factory=list)
    updates: list[UpdateValues] = field(default_factory=list)
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
    key = item[0]
    stem = key[key.rfind("/") + 1 :].removesuffix(".json")
    return (0 if stem.lstrip("-").isdigit() else 1, key)


def _head(data: Any) -> tuple[int, str, Any]:
    """``update_id``, kind and payload, as :meth:`Update.from_json` reads them."""
    if type(data) is not dict:
        raise ValueError("an update must be a JSON object")
    update_id = data.get("update_id")
    if type(update_id) is not int:
        raise ValueError("an update needs an integer update_id")
    for kind in data:
        if kind != "update_id":
            return update_id, kind, data[kind]
    return update_id, "unknown", None


def _update_values(update_id: int, kind: str, payload: Any, key: str) -> UpdateValues:
    """The ``telegram_updates`` row: what ``Update.chat_id``/``user_id``/``event_time`` say."""
    if type(payload) is not dict:
        return (update_id, kind, None, None, None, key)
    chat_id = id_of(payload.get("chat"))
    if chat_id is None:
        nested = payload.get("message")  # callback_query.message and the like
        if type(nested) is dict:
            chat_id = id_of(nested.get("chat"))
    user_id = id_of(payload.get("from") or payload.get("user"))
    event_time = payload.get("date")
    if type(event_time) is not int or event_time <= 0:
        event_time = None
    return (update_id, kind, chat_id, user_id, event_time, key)


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a partition.

    Parsed JSON is thousands of dicts and lists per date, all kept until the
    date is written; each allocation burst would trigger collections that
    scan them again and again (a third of the transform's time), and none of
    them can be a cycle. Reference counting still frees everything; the
    collector resumes afterwards (unless the caller had turned it off).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def collect(objects: Iterable[tuple[str, bytes]]) -> Tables:
    """Parse, de-duplicate and route every object into rows.

    The hot loop of the ETL: messages and updates become tuples in column
    order (no per-row dicts), turned into Arrow columns by :func:`to_arrow`.
    """
    tables = Tables()
    # update_id -> contents seen with it. Telegram re-delivers the same update
    # with the same content; a different content under a reused id (test data,
    # hand-made backfills) is a different update and is kept.
    seen: dict[int, list[Any]] = {}
    # Latest version of each message, keyed by (chat_id, message_id).
    latest: dict[tuple[int, int], tuple[tuple[int, int, int, int], MessageValues]] = {}
    loads = orjson.loads
    updates = tables.updates
    rejects = tables.rejects
    for key, body in sorted(objects, key=_canonical_first):
        try:
            data = loads(body)
            update_id, kind, payload = _head(data)
        except ValueError as exc:  # orjson.JSONDecodeError is one
            rejects.append({"raw_key": key, "reason": str(exc), "size_bytes": len(body)})
            continue
        versions = seen.get(update_id)
        if versions is None:
            seen[update_id] = [data]
        elif data in versions:
            tables.duplicates += 1
            continue
        else:
            versions.append(data)
        try:
            if kind in MESSAGE_KINDS:
                if type(payload) is not dict:
                    raise ValueError(f"{kind} is not an object")
                if service_event(payload) is not None:
                    update = Update(update_id, kind, payload, data)
                    tables.service.extend(service_rows(update, payload))
                else:
                    values = message_values(update_id, kind, payload)
                    ident = (values[4], values[0])  # (chat_id, message_id)
                    # messages.version_rank, from the values already read
                    rank = (
                        1 if update_id >= 0 else 0,  # received over imported (export ids < 0)
                        values[10] or 0,  # edit_date
                        1 if kind in EDITED_KINDS else 0,
                        update_id,
                    )
                    current = latest.get(ident)
                    if current is None or rank > current[0]:
                        latest[ident] = (rank, values)
            elif kind in ("chat_member", "my_chat_member"):
                update = Update(update_id, kind, payload, data)
                tables.members.append(_member_row(update, as_dict(payload)))
            elif kind == "message_reaction":
                update = Update(update_id, kind, payload, data)
                tables.reactions.append(_reaction_row(update, as_dict(payload)))
            elif kind == "message_reaction_count":
                update = Update(update_id, kind, payload, data)
                tables.reaction_counts.extend(_reaction_count_rows(update, as_dict(payload)))
        except ValueError as exc:
            reason = f"update {update_id} ({kind}): {exc}"
            rejects.append({"raw_key": key, "reason": reason, "size_bytes": len(body)})
            continue
        updates.append(_update_values(update_id, kind, payload, key))
    tables.messages = [values for _, values in latest.values()]
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


def _columnar(
    rows: list[tuple[Any, ...]], names: tuple[str, ...], table_schema: pa.Schema
) -> pa.Table:
    """Rows as tuples in ``names`` order -> a table of ``table_schema``.

    One transpose in C (``zip``), then one Arrow conversion per column;
    columns of the schema not in ``names`` (derived timestamps) start null.
    """
    count = len(rows)
    by_name = dict(zip(names, zip(*rows, strict=True), strict=True)) if rows else {}
    arrays = [
        pa.array(by_name.get(f.name, ()), type=f.type)
        if f.name in by_name or not count
        else pa.nulls(count, type=f.type)
        for f in table_schema
    ]
    return pa.Table.from_arrays(arrays, schema=table_schema)


def to_arrow(tables: Tables, zone: ZoneInfo) -> dict[str, pa.Table]:
    """One Arrow table per enriched table, rows in a stable order."""
    service = [dict(row) for row in tables.service]
    # Sorts are stable, so rows with equal keys keep the order collect() gave.
    tables.messages.sort(key=_MESSAGE_ORDER)
    tables.updates.sort(key=_UPDATE_ORDER)
    out = {
        schema.MESSAGES: _columnar(tables.messages, MESSAGE_COLUMNS, schema.MESSAGES_SCHEMA),
        schema.SERVICE: _arrow(
            service, schema.SERVICE_SCHEMA, ("chat_id", "message_id", "member_user_id")
        ),
        schema.MEMBERS: _arrow(tables.members, schema.MEMBERS_SCHEMA, ("update_id",)),
        schema.REACTIONS: _arrow(tables.reactions, schema.REACTIONS_SCHEMA, ("update_id",)),
        schema.REACTION_COUNTS: _arrow(
            tables.reaction_counts, schema.REACTION_COUNTS_SCHEMA, ("update_id", "reaction")
        ),
        schema.UPDATES: _columnar(tables.updates, UPDATE_COLUMNS, schema.UPDATES_SCHEMA),
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
    with no_cyclic_gc():
        return to_arrow(collect(objects), zone)

"""Raw update objects of one date -> the enriched tables of that date. Pure.

No I/O and no clock: the same objects always give the same tables, which is
what makes the ETL idempotent (DESIGN §3.5) and lets the runner rebuild any
partition at any time. Rows are collected as Python tuples in column order,
transposed once and turned into one Arrow array per column at the end (not one
table per row: the original design's per-row concatenation was quadratic,
§10; nor one dict per row, which cost as much as parsing the JSON).

A raw object that cannot be used is never fatal: it becomes a row of
``telegram_rejects`` with its key and reason (DESIGN §3.7). That includes an
object carrying a value no column can hold (DESIGN §3.11): an integer beyond
signed 64 bits anywhere in it (Telegram's are at most 52 bits), or a time no
engine reads (etl/timestamps.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa

from telelake.etl.events import (
    MEMBER_KINDS,
    REACTION,
    REACTION_COUNT,
    UPDATE_COLUMNS,
    Row,
    UpdateValues,
    chat_stats_row,
    member_row,
    reaction_count_rows,
    reaction_row,
    update_values,
)
from telelake.etl.messages import (
    MESSAGE_COLUMNS,
    MessageValues,
    Rank,
    ServiceRow,
    message_key,
    message_values,
    service_event,
    service_rows,
    version_rank,
)
from telelake.etl.text.columns import TERMS, annotate, split_terms
from telelake.etl.timestamps import add_timestamps, checked_seconds
from telelake.lake.segments import paused_gc
from telelake.lake.tables import (
    CHAT_STATS,
    MEMBERS,
    MESSAGES,
    REACTION_COUNTS,
    REACTIONS,
    REJECTS,
    SERVICE,
    UPDATES,
    arrow_schema,
)
from telelake.telegram.export import is_imported
from telelake.telegram.snapshot import KIND as CHAT_STATS_KIND
from telelake.telegram.update import MESSAGE_KINDS, Update

_MESSAGE_ORDER = itemgetter(MESSAGE_COLUMNS.index("chat_id"), MESSAGE_COLUMNS.index("message_id"))
_UPDATE_ORDER = itemgetter(UPDATE_COLUMNS.index("update_id"))
# Any integer outside signed 64 bits has at least 19 digits: objects without such
# a run of digits (nearly all) skip the walk through their values.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_INT64 = (-(2**63), 2**63 - 1)


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
    chat_stats: list[Row] = field(default_factory=list)
    duplicates: int = 0
    # The version of each message kept so far: (chat_id, message_id) -> (rank, values).
    latest: dict[tuple[int, int], tuple[Rank, MessageValues]] = field(default_factory=dict)

    def reject(self, key: str, reason: str, body: bytes) -> None:
        self.rejects.append({"raw_key": key, "reason": reason, "size_bytes": len(body)})


def canonical_order(key: str) -> tuple[int, str]:
    """Where the object ``key`` comes in a build: "<update_id>.json" before
    "<update_id>.<digest>.json" (a conflicting re-use of the id) and before
    files of older tools, so de-duplication by update_id keeps the object
    Telegram delivered first."""
    stem = key[key.rfind("/") + 1 :].removesuffix(".json")
    return (0 if stem.lstrip("-").isdigit() else 1, key)


def canonical_first(item: tuple[str, bytes]) -> tuple[int, str]:
    return canonical_order(item[0])


def collect(objects: Iterable[tuple[str, bytes]]) -> Tables:
    """Parse, de-duplicate and route every object into rows.

    The hot loop of the ETL: messages and updates become tuples in column
    order (no per-row dicts), turned into Arrow columns by :func:`to_arrow`.
    """
    tables, _ = collect_rows(objects)
    tables.messages = [values for _, values in tables.latest.values()]
    tables.service = one_row_per_event(tables.service)
    return tables


def collect_rows(
    objects: Iterable[tuple[str, bytes]], *, ordered: bool = False
) -> tuple[Tables, list[int]]:
    """:func:`collect` without its last step, and every ``update_id`` it parsed.

    Messages stay in :attr:`Tables.latest` and service rows are not yet
    de-duplicated: a build split into chunks (etl/chunked.py) merges the
    chunks' rows first, then does both over the whole date. ``ordered``:
    ``objects`` already come in :func:`canonical_order`.
    """
    tables = Tables()
    # update_id -> contents seen with it. Telegram re-delivers the same update
    # with the same content; a different content under a reused id (test data,
    # hand-made backfills) is a different update and is kept.
    seen: dict[int, list[Any]] = {}
    loads = orjson.loads
    for key, body in objects if ordered else sorted(objects, key=canonical_first):
        try:
            update = Update.from_json(loads(body))
        except ValueError as exc:  # orjson.JSONDecodeError is one
            tables.reject(key, str(exc), body)
            continue
        versions = seen.get(update.update_id)
        if versions is None:
            seen[update.update_id] = [update.data]
        elif update.data in versions:
            tables.duplicates += 1
            continue
        else:
            versions.append(update.data)
        try:
            if _LONG_DIGITS.search(body) is not None:
                # Python's json, not orjson: orjson reads integers beyond 64
                # bits as floats, which would become NULL ids instead of rejects.
                _check_integers(json.loads(body))
            if update.event_time is not None:
                checked_seconds(update.event_time, "date")
            _route(update, tables)
        except ValueError as exc:
            tables.reject(key, f"update {update.update_id} ({update.kind}): {exc}", body)
            continue
        tables.updates.append(update_values(update, key))
    return tables, list(seen)


def _check_integers(data: Any) -> None:
    """``ValueError`` naming the first integer of ``data`` outside signed 64 bits."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if type(value) is dict:
            stack.extend((v, f"{path}.{k}" if path else k) for k, v in value.items())
        elif type(value) is list:
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
        elif type(value) is int and not _INT64[0] <= value <= _INT64[1]:
            where = path or "the update"
            raise ValueError(f"{where} = {value} does not fit a signed 64-bit integer")


def _route(update: Update, tables: Tables) -> None:
    """Put one update's rows into ``tables``; ``ValueError`` when it lacks what they need."""
    kind, payload = update.kind, update.payload
    if kind in MESSAGE_KINDS:
        if type(payload) is not dict:
            raise ValueError(f"{kind} is not an object")
        if service_event(payload) is not None:
            tables.service.extend(service_rows(update, payload))
            return
        values = message_values(update.update_id, kind, payload)
        rank = version_rank(update.update_id, kind, values)
        ident = message_key(values)
        current = tables.latest.get(ident)
        if current is None or rank > current[0]:
            tables.latest[ident] = (rank, values)
    elif kind in MEMBER_KINDS:
        tables.members.append(member_row(update))
    elif kind == REACTION:
        tables.reactions.append(reaction_row(update))
    elif kind == REACTION_COUNT:
        tables.reaction_counts.extend(reaction_count_rows(update))
    elif kind == CHAT_STATS_KIND:
        tables.chat_stats.append(chat_stats_row(update))


def one_row_per_event(rows: list[ServiceRow]) -> list[ServiceRow]:
    """One service row per (chat, message, member): a message can only be one event.

    A service message the bot received replaces its imported copy (whose
    member list may lack ids, so the rows would not match one for one).
    """
    received = {(r["chat_id"], r["message_id"]) for r in rows if not is_imported(r["update_id"])}
    unique: dict[tuple[int, int, int | None], ServiceRow] = {}
    for row in rows:
        if is_imported(row["update_id"]) and (row["chat_id"], row["message_id"]) in received:
            continue
        unique.setdefault((row["chat_id"], row["message_id"], row["member_user_id"]), row)
    return list(unique.values())


def _arrow(rows: list[Row], table_schema: pa.Schema, order: tuple[str, ...]) -> pa.Table:
    rows.sort(key=lambda r: tuple((r[c] is not None, r[c] or 0) for c in order))
    columns = {name: [row.get(name) for row in rows] for name in table_schema.names}
    return pa.table(columns, schema=table_schema)


def columnar(
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
    # Sorts are stable, so rows with equal keys keep the order collect() gave.
    tables.messages.sort(key=_MESSAGE_ORDER)
    tables.updates.sort(key=_UPDATE_ORDER)
    messages = annotate(columnar(tables.messages, MESSAGE_COLUMNS, arrow_schema(MESSAGES)))
    updates = columnar(tables.updates, UPDATE_COLUMNS, arrow_schema(UPDATES))
    return assemble(messages, updates, tables, zone)


def assemble(
    messages: pa.Table, updates: pa.Table, tables: Tables, zone: ZoneInfo
) -> dict[str, pa.Table]:
    """Every table of a date: ``messages`` and ``updates`` already in their final
    order, the other tables from the rows in ``tables``; then the timestamps.
    ``messages`` carry their terms (etl/text/columns.py): they become ``telegram_terms``."""
    messages, terms = split_terms(messages)
    service: list[Row] = [dict(row) for row in tables.service]
    rejects = sorted(tables.rejects, key=lambda r: r["raw_key"])
    out = {
        MESSAGES: messages,
        SERVICE: _arrow(
            service, arrow_schema(SERVICE), ("chat_id", "message_id", "member_user_id")
        ),
        MEMBERS: _arrow(tables.members, arrow_schema(MEMBERS), ("update_id",)),
        REACTIONS: _arrow(tables.reactions, arrow_schema(REACTIONS), ("update_id",)),
        REACTION_COUNTS: _arrow(
            tables.reaction_counts, arrow_schema(REACTION_COUNTS), ("update_id", "reaction")
        ),
        UPDATES: updates,
        REJECTS: pa.table(
            {n: [r[n] for r in rejects] for n in arrow_schema(REJECTS).names},
            schema=arrow_schema(REJECTS),
        ),
        CHAT_STATS: _arrow(tables.chat_stats, arrow_schema(CHAT_STATS), ("chat_id", "date")),
        TERMS: terms,
    }
    return add_timestamps(out, zone)


def transform(objects: Iterable[tuple[str, bytes]], zone: ZoneInfo) -> dict[str, pa.Table]:
    """The whole pure step: raw ``(key, bytes)`` pairs of one date -> Arrow tables."""
    with paused_gc():
        return to_arrow(collect(objects), zone)

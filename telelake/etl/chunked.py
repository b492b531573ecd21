"""One date on every core: its updates cut into chunks, built in several processes, merged.

The daily run builds one date, and parsing a busy group's day is CPU-bound
Python. So a big date is cut into contiguous chunks of the order the
one-process build reads its objects in (:func:`~telelake.etl.transform.canonical_order`);
the calling process and the worker processes of :mod:`telelake.etl.workers`
each read (when the date is still one object per update), parse and route
whole chunks, and the caller merges the chunks' rows into exactly the tables
one process would have built, byte for byte:

- a message keeps its highest version (``messages.version_rank`` is a total
  order), whichever chunk it is in;
- rows of the other tables are concatenated in chunk order, so the stable
  sorts that order each table leave equal keys as one process would; service
  rows are then made one per event over the whole date, as one process does;
- de-duplication by ``update_id`` happens inside a chunk. An id in two
  chunks (a conflicting re-use of an id: lake/layout.raw_conflict_key) would
  need it across chunks, so such a date is built again in one process, the
  path every small date takes.

Workers send back Arrow tables for messages and updates (a few buffers to
pickle, not a hundred thousand tuples) and Python rows for the small tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from telelake.etl.events import UPDATE_COLUMNS, Row
from telelake.etl.messages import EDITED_KINDS, MESSAGE_COLUMNS, ServiceRow
from telelake.etl.text.columns import annotate
from telelake.etl.transform import (
    Tables,
    assemble,
    canonical_first,
    canonical_order,
    collect,
    collect_rows,
    columnar,
    one_row_per_event,
    to_arrow,
)
from telelake.lake.layout import RAW_PREFIX, partition_dir
from telelake.lake.segments import is_object, is_segment, paused_gc, read_partition
from telelake.lake.storage import Store
from telelake.lake.tables import MESSAGES, UPDATES, arrow_schema

if TYPE_CHECKING:
    from telelake.etl.workers import WorkerPool

Pair = tuple[str, bytes]
T = TypeVar("T")

# Below this many objects a date is built in one process: cutting, shipping
# and merging would cost more than the second core gives back.
MIN_OBJECTS = 20_000
# Chunks per process: small enough that whoever finishes last waits little,
# big enough that each chunk's fixed costs (a round trip, Arrow tables) stay small.
CHUNKS_PER_PROCESS = 4
MIN_CHUNK = 2_000


@dataclass(frozen=True)
class Chunk:
    """Contiguous objects of one date, in build order; ``index`` of ``count``.

    Either the objects themselves, or the keys of objects to read from the raw
    layer (whoever builds the chunk reads it: reading is a third of the work).
    """

    day: date
    index: int
    count: int
    objects: list[Pair] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.day} (part {self.index + 1} of {self.count})"


@dataclass
class Part:
    """What one chunk gave: messages and updates as Arrow, the other rows as they are.

    ``vanished``: an object of the chunk was gone when read (a compaction
    packed it meanwhile); the date is then read again whole.
    """

    index: int
    ids: list[int] = field(default_factory=list)
    messages: pa.Table | None = None
    updates: pa.Table | None = None
    service: list[ServiceRow] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    reactions: list[Row] = field(default_factory=list)
    reaction_counts: list[Row] = field(default_factory=list)
    chat_stats: list[Row] = field(default_factory=list)
    rejects: list[Row] = field(default_factory=list)
    duplicates: int = 0
    vanished: bool = False


@dataclass
class Built:
    """A date's tables, and what the run report says about its objects."""

    tables: dict[str, pa.Table]
    objects: int
    rejects: list[Row]
    duplicates: int


def build_day(
    raw: Store, day: date, zone: ZoneInfo, helpers: WorkerPool[Chunk, Part] | None = None
) -> Built:
    """Read and build one date, on every core ``helpers`` gives (an open
    :class:`~telelake.etl.workers.WorkerPool` running :func:`build_part`).

    A date still kept as one object per update (the daily case) is listed
    here and each chunk is read by the process that builds it; a compacted
    one is read whole by :func:`~telelake.lake.segments.read_partition`.
    """
    if helpers is not None and helpers.helpers:
        listed = raw.list(partition_dir(RAW_PREFIX, day))
        # Objects only: read_partition would give exactly these keys and bytes.
        if not any(is_segment(key) for key in listed):
            keys = [key for key in listed if is_object(key)]
            del listed
            if len(keys) >= MIN_OBJECTS:
                order = sorted(keys, key=canonical_order)
                chunks = [
                    Chunk(day, i, n, keys=piece) for i, n, piece in _cut(order, _chunks(helpers))
                ]
                with paused_gc():
                    parts = _build_parts(raw, chunks, helpers)
                    merged = None if parts is None else merge(parts, zone, len(keys))
                if merged is not None:
                    return merged
    return build_tables(read_partition(raw, day), zone, day, helpers, raw)


def build_tables(
    objects: list[Pair],
    zone: ZoneInfo,
    day: date,
    helpers: WorkerPool[Chunk, Part] | None = None,
    raw: Store | None = None,
) -> Built:
    """The tables of one date from its ``(key, bytes)`` objects, on every core
    ``helpers`` gives (``raw``: the store the helpers were given).

    ``objects`` is emptied once parsed, so its bytes are freed before the tables are built.
    """
    count = len(objects)
    with paused_gc():
        if helpers is not None and helpers.helpers and count >= MIN_OBJECTS:
            chunks = split(objects, day, _chunks(helpers))
            parts = _build_parts(raw, chunks, helpers)
            del chunks
            merged = None if parts is None else merge(parts, zone, count)
            if merged is not None:
                objects.clear()
                return merged
        tables = collect(objects)
        objects.clear()
        rejects, duplicates = tables.rejects, tables.duplicates
        arrow = to_arrow(tables, zone)
        # Freed here, not later: the first collection after the collector
        # resumes would otherwise scan every row object once more.
        del tables
        return Built(arrow, count, rejects, duplicates)


def _chunks(helpers: WorkerPool[Chunk, Part]) -> int:
    return CHUNKS_PER_PROCESS * (helpers.helpers + 1)


def _cut(ordered: list[T], count: int) -> list[tuple[int, int, list[T]]]:
    """``ordered`` in about ``count`` contiguous pieces: (index, how many, piece)."""
    size = max(MIN_CHUNK, -(-len(ordered) // max(1, count)))
    pieces = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    return [(i, len(pieces), piece) for i, piece in enumerate(pieces)]


def split(objects: list[Pair], day: date, count: int) -> list[Chunk]:
    """``objects`` in build order, cut into about ``count`` contiguous chunks."""
    ordered = sorted(objects, key=canonical_first)
    return [Chunk(day, i, n, objects=piece) for i, n, piece in _cut(ordered, count)]


def _build_parts(
    raw: Store | None, chunks: list[Chunk], helpers: WorkerPool[Chunk, Part]
) -> list[Part] | None:
    """Every chunk built, by this process and the helpers, in chunk order;
    ``None`` if one of them found an object gone."""
    helpers.add(chunks)
    parts: dict[int, Part] = {}
    while (chunk := helpers.take()) is not None:
        parts[chunk.index] = build_part(raw, chunk)
        parts.update((p.index, p) for p in helpers.finished(block=False))
    # Every chunk was taken: wait for those the workers are still building
    # (one that dies mid-chunk raises WorkerError, failing this date's build).
    parts.update((p.index, p) for p in helpers.finished(block=True))
    ordered = [parts[i] for i in range(len(chunks))]
    return None if any(p.vanished for p in ordered) else ordered


def build_part(raw: Store | None, chunk: Chunk) -> Part:
    """Read (if need be, from ``raw``), parse and route one chunk, in a worker
    process (which got ``raw`` once, when it started) or the caller."""
    objects = chunk.objects
    if chunk.keys:
        if raw is None:
            raise TypeError(f"{chunk}: a chunk of keys needs the raw layer to read them from")
        try:
            objects = list(zip(chunk.keys, raw.read_many(chunk.keys), strict=True))
        except FileNotFoundError:
            return Part(chunk.index, vanished=True)
    with paused_gc():
        tables, ids = collect_rows(objects, ordered=True)
        del objects
        versions = [values for _, values in tables.latest.values()]
        tables.latest.clear()
        return Part(
            index=chunk.index,
            ids=ids,
            # Text columns per row: the same values whichever process builds the row.
            messages=annotate(columnar(versions, MESSAGE_COLUMNS, arrow_schema(MESSAGES))),
            updates=columnar(tables.updates, UPDATE_COLUMNS, arrow_schema(UPDATES)),
            service=tables.service,
            members=tables.members,
            reactions=tables.reactions,
            reaction_counts=tables.reaction_counts,
            chat_stats=tables.chat_stats,
            rejects=tables.rejects,
            duplicates=tables.duplicates,
        )


def merge(parts: list[Part], zone: ZoneInfo, objects: int = 0) -> Built | None:
    """The date's tables from its parts in chunk order; ``None`` if an ``update_id``
    occurs in two parts (de-duplication by id would then span chunks)."""
    ids = list(chain.from_iterable(part.ids for part in parts))
    if len(set(ids)) != len(ids):
        return None
    del ids
    rest = Tables(
        service=one_row_per_event(list(chain.from_iterable(p.service for p in parts))),
        members=list(chain.from_iterable(p.members for p in parts)),
        reactions=list(chain.from_iterable(p.reactions for p in parts)),
        reaction_counts=list(chain.from_iterable(p.reaction_counts for p in parts)),
        chat_stats=list(chain.from_iterable(p.chat_stats for p in parts)),
        rejects=list(chain.from_iterable(p.rejects for p in parts)),
        duplicates=sum(p.duplicates for p in parts),
    )
    versions = pa.concat_tables([p.messages for p in parts if p.messages is not None])
    updates = pa.concat_tables([p.updates for p in parts if p.updates is not None])
    messages = latest_versions(versions)
    # sort_indices is stable: equal update_ids keep chunk order, as list.sort does.
    updates = updates.take(pc.sort_indices(updates["update_id"])).combine_chunks()
    tables = assemble(messages, updates, rest, zone)
    return Built(tables, objects, rest.rejects, rest.duplicates)


def latest_versions(messages: pa.Table) -> pa.Table:
    """One row per ``(chat_id, message_id)``, its highest ``version_rank``, in that order.

    The rank (received over imported, latest ``edit_date``, an edit over the
    original, the later update) computed per column, as ``messages.version_rank``
    computes it per row.
    """
    update_id = messages["update_id"]
    keys = pa.table(
        {
            "chat_id": messages["chat_id"],
            "message_id": messages["message_id"],
            "received": pc.greater_equal(update_id, 0),
            "edit_date": pc.fill_null(messages["edit_date"], 0),
            "edited": pc.is_in(messages["update_kind"], value_set=pa.array(sorted(EDITED_KINDS))),
            "update_id": update_id,
        }
    )
    order = pc.sort_indices(
        keys,
        sort_keys=[
            ("chat_id", "ascending"),
            ("message_id", "ascending"),
            ("received", "descending"),
            ("edit_date", "descending"),
            ("edited", "descending"),
            ("update_id", "descending"),
        ],
    )
    chat = keys["chat_id"].take(order).combine_chunks()
    message = keys["message_id"].take(order).combine_chunks()
    # The first row of each (chat_id, message_id) run is its highest version.
    later = pc.or_(pc.not_equal(chat[1:], chat[:-1]), pc.not_equal(message[1:], message[:-1]))
    first = pa.concat_arrays([pa.array([True]), later]) if len(chat) else later
    return messages.take(order.filter(first)).combine_chunks()

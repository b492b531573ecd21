"""Reading one raw partition, whatever form its updates are kept in, and the segment format.

A raw partition holds one object per update (``<update_id>.json``, the
landing format) and, once compacted (:mod:`telelake.lake.compaction`), one
or more segments: ``segment-<content hash>.jsonl.gz``, gzip'd JSON Lines,
one update per line. Every reader of raw updates (the ETL, ``forget``,
``import``) goes through :func:`read_partition` (or :func:`read_day`), so
the forms a partition may take are known in one place.

**A line is a stored object's bytes.** Each line is exactly the bytes of
one object, with one reversible exception: a line break, which in a JSON
object can only be whitespace between tokens, is written as a tab and read
back as a line break. Telegram's own webhook body is
``{"update_id":N,\\n"message":…}`` (the Bot API server writes that line
break), so without this no update received by webhook could ever be
packed. An object that holds a raw tab or carriage return, that is not a
JSON object with an integer ``update_id``, or whose name does not follow
from its bytes (below), stays an object. Engines read the lines as the JSON
they are (Athena's JSON SerDe, Spark, DuckDB: a tab is whitespace).

**Keys survive compaction without an index.** The ETL records each update's
raw key, and de-duplicates by it, so reading a segment must give back the
keys the objects had. A line's key follows from its bytes and the lines
before it: the first line with update id X is ``X.json``, a later line with
X is ``X.<sha256 prefix>.json`` (exactly :func:`raw_conflict_key`, the name
ingest gives a different body under a reused id). Lines are written sorted
by update id, ``X.json`` first; :func:`pack` puts only objects whose key is
what reading back derives into a segment, so a rebuild after compaction is
byte-identical to one before. The update id is read from the line's start
(``{"update_id":N`` as Telegram, long polling and ``import`` write it) and
parsed from the whole line otherwise; the same function names keys when
packing and when reading, so the two always agree.

**One update, whatever its forms.** A partition may hold an update both in a
segment and as an object (a compaction killed before it deleted the
originals, a re-delivery or an import after compaction): the same key with
the same bytes is one update. The same key with *different* bytes means the
object arrived after its key was packed (ingest could not see the packed
one and wrote it under its plain name): it is renamed as ingest would have
named it, ``X.<sha256 prefix>.json``, so the ETL sees exactly what it would
have seen without compaction.
"""

from __future__ import annotations

import gc
import hashlib
import re
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import orjson

from telelake.errors import StorageError
from telelake.lake.layout import RAW_PREFIX, partition_dir, raw_conflict_key, raw_key
from telelake.lake.storage import Store

SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".jsonl.gz"
# Level 6 (zlib's default) packs ~20% smaller than level 1 for ~0.4 s more
# per 100k updates; a segment is written once and read many times.
GZIP_LEVEL = 6
DECOMPRESS_CHUNK = 1 << 20
# A partition whose objects vanish between listing and reading (a compaction
# deleting what it packed) is listed again, after a pause that doubles up to a
# second, for at most this long: deleting a big day's objects takes seconds.
READ_PATIENCE_SECONDS = 120.0

Pair = tuple[str, bytes]

_ID_AT_START = re.compile(rb'\{"update_id":(-?(?:0|[1-9][0-9]*))[,} \t\n\r]')
_INT64 = (-(2**63), 2**63 - 1)
# gzip member header: magic, deflate, no flags, mtime 0, no extra flags, OS
# "unknown": fixed bytes, so the same lines give the same segment anywhere.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def is_segment(key: str) -> bool:
    name = key[key.rfind("/") + 1 :]
    return name.startswith(SEGMENT_PREFIX) and name.endswith(SEGMENT_SUFFIX)


def is_object(key: str) -> bool:
    return key.endswith(".json")


def update_id_of(body: bytes) -> int | None:
    """The update id a line's key is derived from, or ``None`` when it has none."""
    match = _ID_AT_START.match(body)
    if match is not None:
        return int(match.group(1))
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    update_id = data.get("update_id") if type(data) is dict else None
    return update_id if type(update_id) is int else None


def _packable_id(body: bytes) -> int | None:
    """The update id of ``body`` when it may become a line: a whole JSON object
    with an integer (64-bit) update id, no raw tab or carriage return."""
    if b"\t" in body or b"\r" in body:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict:
        return None
    update_id = data.get("update_id")
    if type(update_id) is not int or not _INT64[0] <= update_id <= _INT64[1]:
        return None
    # Both must agree (they differ only for an object with update_id twice).
    return update_id if update_id_of(body) == update_id else None


def derived_keys(day: date, bodies: Iterable[bytes]) -> Iterator[str | None]:
    """The key of each line, in order (``None`` for a line with no update id)."""
    seen: set[int] = set()
    for body in bodies:
        update_id = update_id_of(body)
        if update_id is None:
            yield None
        elif update_id in seen:
            yield raw_conflict_key(update_id, day, body)
        else:
            seen.add(update_id)
            yield raw_key(update_id, day)


@dataclass
class Packed:
    """What goes into a segment (in line order) and what stays an object."""

    lines: list[Pair] = field(default_factory=list)
    left: list[Pair] = field(default_factory=list)


def pack(day: date, pairs: Iterable[Pair], *, rekey: bool = False) -> Packed:
    """Split ``pairs`` into a segment's lines and the objects that must stay objects.

    A pair becomes a line only if reading the segment back derives its key
    (see the module docstring). With ``rekey`` (``forget`` rewriting a
    segment) every packable body becomes a line under the key it derives.
    """
    out = Packed()
    groups: dict[int, list[Pair]] = {}
    for key, body in pairs:
        update_id = _packable_id(body)
        if update_id is None:
            out.left.append((key, body))
        else:
            groups.setdefault(update_id, []).append((key, body))
    for update_id in sorted(groups):
        canonical = raw_key(update_id, day)
        group = sorted(groups[update_id], key=lambda pair: (pair[0] != canonical, pair[0]))
        taken: set[str] = set()
        for key, body in group:
            derived = canonical if not taken else raw_conflict_key(update_id, day, body)
            if derived in taken or (not rekey and derived != key):
                out.left.append((key, body))
                continue
            taken.add(derived)
            out.lines.append((derived, body))
    return out


def segment_name(day: date, digest: str) -> str:
    return f"{partition_dir(RAW_PREFIX, day)}/{SEGMENT_PREFIX}{digest[:32]}{SEGMENT_SUFFIX}"


def encode(lines: Iterable[Pair], day: date) -> tuple[str, bytes]:
    """The segment of ``lines`` (from :func:`pack`): its key, named by a hash of its
    content, and its gzip bytes (fixed header and level: the same lines give the
    same bytes)."""
    content = hashlib.sha256()
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
    chunks: list[bytes] = [_GZIP_HEADER]
    crc, size = 0, 0
    batch: list[bytes] = []
    for _, body in lines:
        batch.append(body.replace(b"\n", b"\t") if b"\n" in body else body)
        if len(batch) == 4096:
            crc, size = _feed(batch, content, deflate, chunks, crc, size)
            batch = []
    crc, size = _feed(batch, content, deflate, chunks, crc, size)
    chunks.append(deflate.flush())
    chunks.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
    return segment_name(day, content.hexdigest()), b"".join(chunks)


def _feed(
    batch: list[bytes],
    content: hashlib._Hash,
    deflate: zlib._Compress,
    chunks: list[bytes],
    crc: int,
    size: int,
) -> tuple[int, int]:
    if not batch:
        return crc, size
    text = b"\n".join(batch) + b"\n"
    content.update(text)
    chunks.append(deflate.compress(text))
    return zlib.crc32(text, crc), size + len(text)


def decode(key: str, data: bytes, day: date) -> list[Pair]:
    """The ``(key, bytes)`` of every line of the segment ``key`` holding ``data``.

    A line with no update id (a segment edited by hand) keeps a key naming
    the segment and the line, so the ETL sets it aside with its place.
    """
    bodies = _lines(key, data)
    bodies = [b.replace(b"\t", b"\n") if b"\t" in b else b for b in bodies]
    return [
        (derived if derived is not None else f"{key}#{number}", body)
        for number, (derived, body) in enumerate(
            zip(derived_keys(day, bodies), bodies, strict=True), 1
        )
    ]


def _lines(key: str, data: bytes) -> list[bytes]:
    """The lines of a gzip file (every member: other tools may concatenate), each
    as stored; ``StorageError`` when it is cut short or corrupt.

    Decompressed a megabyte at a time, so the whole text never sits in memory
    beside its lines.
    """
    bodies: list[bytes] = []
    carry = b""
    rest = data
    try:
        while rest:
            member = zlib.decompressobj(31)  # gzip; checks the CRC and length
            while not member.eof:
                chunk = member.decompress(rest, DECOMPRESS_CHUNK)
                rest = member.unconsumed_tail
                if not chunk and not rest and not member.eof:
                    raise StorageError(f"{key} is not a readable segment: it is cut short")
                lines = (carry + chunk).split(b"\n")
                carry = lines.pop()
                bodies += lines
            rest = member.unused_data
    except zlib.error as exc:
        raise StorageError(f"{key} is not a readable segment: {exc}") from None
    if carry:
        bodies.append(carry)  # a last line without its line break
    return bodies


@dataclass
class Partition:
    """One day's raw partition as read: its objects and the lines of its segments."""

    day: date
    objects: list[Pair] = field(default_factory=list)
    segments: dict[str, list[Pair]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def merged(self) -> tuple[list[Pair], dict[tuple[str, int], str]]:
        """Every update once (the rule of the module docstring), sorted by key; and,
        for each update the rule renamed, ``(object or segment key, line index)`` ->
        the key it is known by (an object's index is 0)."""
        if not self.segments:
            return self.objects, {}  # keys from one listing: unique, sorted
        found: dict[str, bytes] = {}
        extra: list[Pair] = []
        renamed: dict[tuple[str, int], str] = {}
        with paused_gc():
            sources = [*sorted(self.segments.items()), *((k, [(k, b)]) for k, b in self.objects)]
            for source, pairs in sources:
                for index, (key, body) in enumerate(pairs):
                    known = _place(key, body, found, extra, self.day)
                    if known != key:
                        renamed[source, index] = known
            merged = sorted([*found.items(), *extra])
        return merged, renamed


def _place(key: str, body: bytes, found: dict[str, bytes], extra: list[Pair], day: date) -> str:
    """Add one update to ``found`` by the merge rule; the key it is known by."""
    held = found.get(key)
    if held is None:
        found[key] = body
        return key
    if held == body:
        return key  # the same update in two forms
    stem = key[key.rfind("/") + 1 :].split(".", 1)[0]
    if not stem.lstrip("-").isdigit():
        extra.append((key, body))
        return key
    renamed = raw_conflict_key(int(stem), day, body)
    held = found.get(renamed)
    if held is None:
        found[renamed] = body
    elif held != body:
        extra.append((renamed, body))  # a 64-bit prefix collision: keep both
    return renamed


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a day is read, parsed or built.

    A day is a hundred thousand tuples, byte strings and parsed dicts, all
    kept until the day is written and none of them in a cycle; each
    allocation burst would make the collector scan them all again (it doubled
    the time of a read and took a third of the transform's). Reference
    counting still frees them; the collector resumes afterwards unless the
    caller had turned it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def partition_keys(raw: Store, day: date) -> list[str]:
    """Keys of the update objects of ``day``'s raw partition, sorted."""
    return [k for k in raw.list(partition_dir(RAW_PREFIX, day)) if is_object(k)]


def read_day(raw: Store, day: date, *, objects: bool = True) -> Partition:
    """``day``'s raw partition: every object and every segment's lines.

    An object or segment deleted between listing and reading (a compaction
    that just packed it, an erasure) makes the partition be listed again:
    whatever was deleted is, by then, in a segment the new listing shows.
    With ``objects=False`` only segments are read; objects are listed with
    empty bytes (``import`` asks which keys exist).
    """
    deadline = time.monotonic() + READ_PATIENCE_SECONDS
    pause = 0.01
    while True:
        keys = raw.list(partition_dir(RAW_PREFIX, day))
        names = [k for k in keys if is_object(k)]
        segments = [k for k in keys if is_segment(k)]
        try:
            data = raw.read_many(segments + names if objects else segments)
        except FileNotFoundError:
            if time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
            pause = min(1.0, pause * 2)
            continue
        bodies = data[len(segments) :] if objects else [b""] * len(names)
        with paused_gc():
            part = Partition(day, list(zip(names, bodies, strict=True)))
            for key, blob in zip(segments, data, strict=False):
                part.segments[key] = decode(key, blob, day)
                part.sizes[key] = len(blob)
        return part
    raise StorageError(
        f"{partition_dir(RAW_PREFIX, day)} in {raw.url}: objects kept vanishing while it was "
        "read for two minutes (a compaction or an erasure running?); try again"
    )


def read_partition(raw: Store, day: date) -> list[Pair]:
    """Every update of ``day`` once, as ``(key, stored bytes)``, sorted by key."""
    part = read_day(raw, day)
    if not part.segments:
        return part.objects  # already sorted and unique: the listing's keys
    return part.merged()[0]

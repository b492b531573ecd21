"""One date built in chunks on several processes: the very bytes one process writes.

The reference is the one-process build (``collect`` + ``to_arrow``, the path
every small date takes); the chunked build must write the same Parquet
bytes for simulated traffic cut at many places (edits, imported copies and
service messages on both sides of a border, rejects, duplicates), for ids
re-used across chunks (built again in one process), and for the shared
corpus of real updates. Then the same through ``run`` with real worker
processes, a worker killed mid-chunk, and helpers that were never needed.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from telelake.config import load_settings
from telelake.demo.simulator import simulate
from telelake.errors import BadUpdateError, WorkerError
from telelake.etl import chunked, runner
from telelake.etl.chunked import (
    Chunk,
    Part,
    build_day,
    build_part,
    build_tables,
    merge,
    split,
)
from telelake.etl.layers import Layers
from telelake.etl.partition import parquet_bytes
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.etl.transform import collect, to_arrow
from telelake.etl.workers import WorkerPool
from telelake.ingest.core import Ingestor
from telelake.lake import tables
from telelake.lake.changes import dirty_dates
from telelake.lake.compaction import compact_day
from telelake.lake.layout import raw_conflict_key, raw_key
from telelake.lake.segments import is_segment
from telelake.lake.storage import LocalStore, Store
from telelake.telegram.snapshot import snapshot_record

ZONE = ZoneInfo("UTC")
DAY = date(2025, 11, 24)
NOON = int(datetime(2025, 11, 24, 12, tzinfo=UTC).timestamp())
CHAT = {"id": -1001, "type": "supergroup", "title": "Grupo"}
PERSON = {"id": 42, "is_bot": False, "first_name": "Ana"}


def _message(update_id: int, message_id: int, kind: str = "message", **fields: Any) -> bytes:
    payload = {"message_id": message_id, "from": PERSON, "chat": CHAT, "date": NOON, **fields}
    return orjson.dumps({"update_id": update_id, kind: payload})


def _tricky() -> list[tuple[str, bytes]]:
    """Updates whose merging spans chunks: imported copies (negative ids, which
    sort first) against the bot's copies, edits, service rows, rejects."""
    bodies = [
        # An imported message, its imported later edit, and the bot's own copy:
        # the bot's copy wins over even a later imported edit.
        _message(-9_000_001, 77, text="imported"),
        _message(-9_000_002, 77, "edited_message", text="imported edit", edit_date=NOON + 900),
        _message(5_000_001, 77, text="received"),
        _message(5_000_002, 77, "edited_message", text="received edit", edit_date=NOON + 60),
        # An imported service message (members without ids) and the received one.
        _message(-9_000_003, 78, new_chat_members=[{"first_name": "Bia"}]),
        _message(5_000_003, 78, new_chat_members=[{"id": 7, "is_bot": False, "first_name": "Bia"}]),
        _message(5_000_004, 79, left_chat_member={"id": 8, "is_bot": False, "first_name": "Caio"}),
        # Reaction counts ordered by (update_id, reaction), one reaction null.
        orjson.dumps(
            {
                "update_id": 5_000_005,
                "message_reaction_count": {
                    "chat": CHAT,
                    "message_id": 77,
                    "date": NOON,
                    "reactions": [
                        {"type": {"type": "emoji", "emoji": "👍"}, "total_count": 3},
                        {"type": {"type": "emoji"}, "total_count": 1},
                        {"type": {"type": "emoji", "emoji": "🔥"}, "total_count": 2},
                    ],
                },
            }
        ),
        # Member-count snapshots (telegram/snapshot.py), ordered by (chat_id, date).
        orjson.dumps(snapshot_record(-1002, DAY, NOON, 9)),
        orjson.dumps(snapshot_record(CHAT["id"], DAY, NOON + 5, 40)),
        # Set aside: not JSON, not an update, a message without a chat.
        b"{not json",
        b"[1, 2]",
        orjson.dumps({"update_id": 5_000_006, "message": {"message_id": 1, "date": NOON}}),
    ]
    objects = [(raw_key(i, DAY), body) for i, body in zip(_ids(bodies), bodies, strict=True)]
    # An older tool's file names: the same update twice (a duplicate within one chunk).
    same = _message(5_000_007, 80, text="kept once")
    objects += [(f"{_folder()}/legacy-a.json", same), (f"{_folder()}/legacy-b.json", same)]
    return objects


def _ids(bodies: list[bytes]) -> list[int]:
    ids = []
    for n, body in enumerate(bodies):
        try:
            ids.append(int(orjson.loads(body)["update_id"]))
        except (orjson.JSONDecodeError, TypeError):
            ids.append(6_000_000 + n)  # the key of a body that is not an update
    return ids


def _folder() -> str:
    return raw_key(0, DAY).rsplit("/", 1)[0]


def _simulated(per_day: int = 1200, seed: int = 3) -> list[tuple[str, bytes]]:
    """One simulated day (edits hours later, media, joins, reactions), one object per update."""
    traffic = simulate(seed=seed, days=1, messages_per_day=per_day, end=DAY, timezone="UTC")
    objects: dict[str, bytes] = {}
    for body in traffic.bodies:  # re-deliveries repeat bytes: ingest keeps one object
        objects.setdefault(raw_key(orjson.loads(body)["update_id"], DAY), body)
    return list(objects.items())


def _one_process(objects: list[tuple[str, bytes]]) -> dict[str, bytes]:
    return {name: parquet_bytes(t) for name, t in to_arrow(collect(objects), ZONE).items()}


def _chunked(parts: list[Part]) -> dict[str, bytes] | None:
    built = merge(parts, ZONE)
    if built is None:
        return None
    return {name: parquet_bytes(t) for name, t in built.tables.items()}


def _spanning(parts: list[Part]) -> int:
    """Messages whose versions lie in more than one part."""
    where: dict[tuple[int, int], set[int]] = {}
    for part in parts:
        assert part.messages is not None
        chats, messages = part.messages["chat_id"], part.messages["message_id"]
        for pair in zip(chats.to_pylist(), messages.to_pylist(), strict=True):
            where.setdefault(pair, set()).add(part.index)
    return sum(len(indexes) > 1 for indexes in where.values())


@pytest.mark.parametrize("count", [1, 2, 3, 7, 40])
def test_chunks_merged_give_the_bytes_of_one_process(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked, "MIN_CHUNK", 1)
    objects = _simulated() + _tricky()
    expected = _one_process(objects)
    parts = [build_part(None, chunk) for chunk in split(objects, DAY, count)]
    assert len(parts) == count
    if count > 1:
        assert _spanning(parts) > 0  # edits and their originals on both sides of a border
    assert _chunked(parts) == expected
    # The expectation itself is not vacuous: every table has rows.
    built = to_arrow(collect(objects), ZONE)
    assert all(built[name].num_rows for name in set(tables.TABLES) - tables.WEEKLY), {
        name: t.num_rows for name, t in built.items()
    }


def test_an_id_in_two_chunks_is_built_again_in_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chunked, "MIN_CHUNK", 1)
    objects = _simulated(400)
    # A different body re-using an id (kept under its conflict key, which sorts
    # after every canonical key, so in the last chunk), and a re-delivery of
    # another update under an older tool's name (also last).
    update_id = orjson.loads(objects[0][1])["update_id"]
    other = _message(update_id, 999_999, text="re-used id")
    objects.append((raw_conflict_key(update_id, DAY, other), other))
    objects.append((f"{_folder()}/from-an-older-tool.json", objects[1][1]))
    expected = _one_process(objects)
    assert _chunked([build_part(None, chunk) for chunk in split(objects, DAY, 4)]) is None
    # Whole, through the entry point: the same bytes, its duplicate counted once.
    built = build_tables(list(objects), ZONE, DAY, _AlwaysHelping())
    assert {n: parquet_bytes(t) for n, t in built.tables.items()} == expected
    assert built.duplicates == 1


class _AlwaysHelping:
    """A helper pool whose workers never get anything: the caller builds every chunk."""

    helpers = 1

    def add(self, items: list[Chunk]) -> None:
        self.items = list(items)

    def take(self) -> Chunk | None:
        return self.items.pop(0) if self.items else None

    def finished(self, *, block: bool) -> list[Part]:
        return []


class _Compacting(LocalStore):
    """A raw layer whose first read finds an object gone (a compaction packed it meanwhile)."""

    vanished = 0

    def read_many(self, keys: list[str]) -> list[bytes]:
        if not self.vanished and len(keys) > 1:
            self.vanished += 1
            raise FileNotFoundError(keys[-1])
        return super().read_many(keys)


def _raw_lake(root: Path, objects: list[tuple[str, bytes]]) -> LocalStore:
    raw = LocalStore(root)
    for key, body in objects:
        raw.create(key, body)
    return raw


def test_a_date_read_in_chunks_is_read_again_whole_if_an_object_vanished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked, "MIN_OBJECTS", 10)
    monkeypatch.setattr(chunked, "MIN_CHUNK", 1)
    objects = _simulated(400) + _tricky()
    _raw_lake(tmp_path, objects)
    raw = _Compacting(tmp_path)
    built = build_day(raw, DAY, ZONE, _AlwaysHelping())
    assert raw.vanished == 1
    assert {n: parquet_bytes(t) for n, t in built.tables.items()} == _one_process(objects)
    assert built.objects == len(objects)


def test_a_compacted_date_gives_the_same_bytes_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked, "MIN_OBJECTS", 10)
    monkeypatch.setattr(chunked, "MIN_CHUNK", 1)
    objects = _simulated(600) + _tricky()
    raw = _raw_lake(tmp_path, objects)
    compact_day(raw, DAY)
    assert any(is_segment(key) for key in raw.list(_folder()))  # read whole, cut in chunks
    built = build_day(raw, DAY, ZONE, _AlwaysHelping())
    assert {n: parquet_bytes(t) for n, t in built.tables.items()} == _one_process(objects)


def _corpus(corpus_dir: Path) -> list[bytes]:
    lines = []
    for path in sorted((corpus_dir / "updates").glob("*.jsonl")) + sorted(
        (corpus_dir / "negative").glob("*.jsonl")
    ):
        lines += [line for line in path.read_bytes().splitlines() if line.strip()]
    return lines


def test_the_shared_corpus_gives_the_same_bytes_in_chunks(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked, "MIN_CHUNK", 1)
    lines = _corpus(corpus_dir)
    # As ingest keeps them (ids re-used across sources get conflict keys) ...
    stored: dict[str, bytes] = {}
    for n, line in enumerate(lines):
        try:
            update_id = orjson.loads(line)["update_id"]
            key = raw_key(update_id, DAY)
            if key in stored and stored[key] != line:
                key = raw_conflict_key(update_id, DAY, line)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            key = f"{_folder()}/unparsable-{n}.json"
        stored.setdefault(key, line)
    objects = list(stored.items())
    built = build_tables(list(objects), ZONE, DAY, _AlwaysHelping())
    assert {n: parquet_bytes(t) for n, t in built.tables.items()} == _one_process(objects)
    # ... and with every update under an id of its own (only its number
    # changed), so no chunk shares an id and the merge itself is compared.
    renumbered = []
    for n, line in enumerate(lines):
        new = re.sub(rb'^\{"update_id":\d+', b'{"update_id":%d' % (700_000 + n), line)
        renumbered.append((raw_key(700_000 + n, DAY), new))
    assert sum(line.startswith(b'{"update_id":7') for _, line in renumbered) > 150
    expected = _one_process(renumbered)
    for count in (2, 5, 17):
        parts = [build_part(None, chunk) for chunk in split(renumbered, DAY, count)]
        assert _chunked(parts) == expected, count


def test_parts_built_by_worker_processes_merge_to_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chunked, "MIN_CHUNK", 1)
    objects = _simulated() + _tricky()
    chunks = split(objects, DAY, 6)
    with WorkerPool(build_part, (None,), chunks, 2) as pool:  # the caller takes none
        parts = sorted(pool.finished(block=True), key=lambda p: p.index)
    assert [p.index for p in parts] == list(range(6))
    assert _chunked(parts) == _one_process(objects)
    assert multiprocessing.active_children() == []


# Through the runner, with real helper processes ----------------------------


def _lake(root: Path, bodies: list[bytes]) -> Layers:
    settings = load_settings({"lake": str(root), "timezone": "UTC"}, env={})
    raw, enriched = LocalStore(settings.raw_url), LocalStore(settings.enriched_url)
    ingestor = Ingestor(settings, raw)
    for n, body in enumerate(bodies):
        try:
            ingestor.accept(body, received_at=NOON)
        except BadUpdateError:  # ingest refuses it; a hand-made backfill may not
            raw.create(f"{_folder()}/hand-made-{n}.json", body)
    return Layers(raw, enriched, ZONE)


def _files(layers: Layers) -> dict[str, bytes]:
    root = Path(layers.enriched.url)
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.parquet")}


def _bodies() -> list[bytes]:
    traffic = simulate(seed=11, days=2, messages_per_day=900, end=DAY, timezone="UTC")
    return traffic.bodies + [body for _, body in _tricky()]


def test_a_run_on_two_cores_writes_what_a_run_on_one_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked, "MIN_OBJECTS", 100)
    monkeypatch.setattr(chunked, "MIN_CHUNK", 50)
    # This process builds its chunks slowly, so the helper surely takes some.
    mine: list[int] = []
    real = build_part

    def slow(raw: Store | None, chunk: Chunk) -> Part:
        mine.append(chunk.index)
        time.sleep(0.3)
        return real(raw, chunk)

    monkeypatch.setattr(chunked, "build_part", slow)
    monkeypatch.setattr(runner, "build_part", _in_a_worker)
    one = _lake(tmp_path / "one", _bodies())
    run(one, Selection(everything=True), workers=1)
    two = _lake(tmp_path / "two", _bodies())
    summary = run(two, Selection(everything=True), workers=2)
    assert len(summary.partitions) < runner.PARALLEL_MIN_DATES  # the daily path
    total = sum(-(-p.raw_objects // 50) for p in summary.partitions)
    assert 0 < len(mine) < total  # both processes built chunks
    files = _files(two)
    assert files and files == _files(one)
    assert dirty_dates(two.raw) == []
    assert multiprocessing.active_children() == []


def test_helpers_a_run_never_needed_are_stopped(tmp_path: Path) -> None:
    layers = _lake(tmp_path / "lake", [body for _, body in _tricky()])
    summary = run(layers, Selection(everything=True), workers=2)
    assert summary.partitions[0].rows[tables.MESSAGES] == 2  # messages 77 and 80
    assert multiprocessing.active_children() == []


def _in_a_worker(raw: Store | None, chunk: Chunk) -> Part:
    # What helpers run: the module's own build_part (this process patches its copy).
    return chunked.build_part(raw, chunk)


def _dies_in_a_worker(raw: Store | None, chunk: Chunk) -> Part:
    # A spawned helper inherits the environment: the caller's pid tells them apart.
    if str(os.getpid()) != os.environ["TEST_ETL_PARENT_PID"]:
        os.kill(os.getpid(), signal.SIGKILL)
    return build_part(raw, chunk)


def test_a_helper_killed_mid_chunk_fails_the_date_and_keeps_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ETL_PARENT_PID", str(os.getpid()))
    monkeypatch.setattr(chunked, "MIN_OBJECTS", 100)
    monkeypatch.setattr(chunked, "MIN_CHUNK", 50)
    monkeypatch.setattr(runner, "build_part", _dies_in_a_worker)
    real = build_part

    def slow(raw: Store | None, chunk: Chunk) -> Part:
        time.sleep(0.3)
        return real(raw, chunk)

    monkeypatch.setattr(chunked, "build_part", slow)
    layers = _lake(tmp_path / "lake", _bodies())
    days = dirty_dates(layers.raw)
    with pytest.raises(WorkerError, match=r"died while building \d{4}-\d\d-\d\d \(part \d+ of"):
        run(layers, Selection(everything=True), workers=2)
    assert dirty_dates(layers.raw) == days  # nothing lost: the next run builds them
    assert multiprocessing.active_children() == []
    monkeypatch.setattr(chunked, "build_part", real)
    run(layers, workers=1)
    assert dirty_dates(layers.raw) == []

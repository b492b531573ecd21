"""The ingest writer's rounds: order of writes, flushes and acknowledgements; failed flushes.

A store that records every stage, publish, marker check and flush (a real
folder, the real ``syncfs`` unless a test swaps in a failing stand-in) lets
each test check DESIGN §3.1/§3.6 from the log: an update is acknowledged only
after a successful flush between its bytes and its name, and another between
its name (and its date's marker, checked after the name is visible) and the
acknowledgement; a failed flush fails every update of its round.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from memory_store import MemoryStore

from telelake.config import Settings
from telelake.errors import StorageError
from telelake.ingest import batcher as batcher_module
from telelake.ingest.batcher import Batcher, batcher_for
from telelake.ingest.core import Ingestor, Planned, Receipt
from telelake.ingest.webhook import create_app
from telelake.lake.groupsync import group_sync_for
from telelake.lake.layout import dirty_key, raw_conflict_key, raw_key
from telelake.lake.local import LocalStore, Staged

DAY = datetime(2024, 6, 15, 12, tzinfo=UTC)
GROUP = -1001234567890
Event = tuple[str, str]


class Recording(LocalStore):
    """A local store that logs, in order, what the writer does to it."""

    def __init__(self, root: Path, **options: Any) -> None:
        super().__init__(root, **options)
        self.lock = threading.Lock()
        self.events: list[Event] = []

    def note(self, what: str, key: str = "") -> None:
        with self.lock:
            self.events.append((what, key))

    def stage(self, key: str, data: bytes) -> Staged:
        staged = super().stage(key, data)
        self.note("stage", key)
        return staged

    def publish(self, staged: Staged) -> bool:
        created = super().publish(staged)
        self.note("publish", staged.key)
        return created

    def exists(self, key: str) -> bool:
        self.note("check", key)
        return super().exists(key)

    def flush(self) -> None:
        self.note("flush", "start")
        try:
            super().flush()
        except StorageError:
            self.note("flush", "failed")
            raise
        self.note("flush", "ok")


class FailingFlush:
    """Stand-in for ``syncfs`` that fails the calls numbered in ``failing`` (1-based)."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing
        self.calls = 0

    def __call__(self, fd: int) -> int:
        self.calls += 1
        if self.calls in self.failing:
            ctypes.set_errno(errno.EIO)
            return -1
        return 0


def body(update_id: int, text: str = "olá", day: datetime = DAY) -> bytes:
    message = {
        "message_id": update_id,
        "from": {"id": 42, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": GROUP, "type": "supergroup"},
        "date": int(day.timestamp()),
        "text": text,
    }
    return orjson.dumps({"update_id": update_id, "message": message})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Recording]:
    if group_sync_for(str(tmp_path)) is None:
        pytest.skip("no syncfs on this platform: the webhook stores each update in a thread")
    yield Recording(tmp_path / "lake" / "raw")


def make(store: LocalStore) -> tuple[Ingestor, Batcher]:
    ingestor = Ingestor(Settings(lake=str(store.root.parent)), store)
    ingestor.record_zone()  # as serve does at start; until then updates bypass the rounds
    batcher = batcher_for(ingestor)
    assert batcher is not None and batcher.can_batch()
    return ingestor, batcher


async def submit_all(
    ingestor: Ingestor, batcher: Batcher, bodies: list[bytes], log: Recording | None = None
) -> list[Receipt | BaseException]:
    async def one(data: bytes) -> Receipt:
        planned = ingestor.plan_on_loop(data)
        assert isinstance(planned, Planned)
        receipt = await batcher.store_planned(planned)
        if log is not None:
            log.note("ack", planned.key)
        return receipt

    return await asyncio.gather(*(one(b) for b in bodies), return_exceptions=True)


def check_acknowledged(events: list[Event], key: str, marker: str) -> None:
    """``key``'s bytes flushed before its name; name and marker flushed before its ack."""
    where = {e: i for i, e in enumerate(events)}  # last occurrence of each event
    staged = events.index(("stage", key))
    published = events.index(("publish", key))
    acked = where[("ack", key)]
    flushes_ok = [i for i, e in enumerate(events) if e == ("flush", "ok")]
    assert any(staged < i < published for i in flushes_ok), f"{key} named before its bytes"
    checks = [i for i, e in enumerate(events) if e == ("check", marker) and i > published]
    assert checks, f"marker of {key} not checked after its name was visible"
    assert any(checks[0] < i < acked for i in flushes_ok), f"{key} acknowledged before a flush"


def test_acknowledged_only_after_bytes_then_name_and_marker_are_flushed(store: Recording) -> None:
    ingestor, batcher = make(store)
    bodies = [body(i) for i in range(1, 61)] + [body(7)]  # one re-delivery among them
    receipts = asyncio.run(submit_all(ingestor, batcher, bodies, store))
    assert all(isinstance(r, Receipt) for r in receipts), receipts
    outcomes = [r.outcome for r in receipts if isinstance(r, Receipt)]
    assert sorted(outcomes).count("stored") == 60 and outcomes.count("duplicate") == 1
    marker = dirty_key(DAY.date())
    for update_id in range(1, 61):
        key = raw_key(update_id, DAY.date())
        check_acknowledged(store.events, key, marker)
        assert store.read(key) == body(update_id)
    assert store.exists(marker)
    # Rounds are shared: far fewer flushes than updates.
    assert batcher.rounds < 61


def test_a_failed_flush_fails_every_update_of_its_round(store: Recording) -> None:
    # The real syncfs does not fail on demand: this store's flush does, from here on.
    flush = FailingFlush(set())
    store = Recording(store.root, syncfs=flush)
    ingestor, batcher = make(store)
    flush.failing = {flush.calls + 2, flush.calls + 3}
    bodies = [body(i) for i in range(100, 140)]
    results = asyncio.run(submit_all(ingestor, batcher, bodies, store))
    flush.failing = set()  # the file system recovered
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures, "two failed flushes failed nobody"
    assert all(isinstance(f, StorageError) and f.retryable for f in failures)
    events = store.events
    # Every update published or staged in a round whose flush failed got an error.
    failed_keys = {
        raw_key(i, DAY.date()) for i, r in zip(range(100, 140), results, strict=True)
        if isinstance(r, BaseException)
    }  # fmt: skip
    round_start = 0
    for i, event in enumerate(events):
        if event == ("flush", "failed"):
            in_round = {
                k for what, k in events[round_start:i]
                if what in ("stage", "publish") and k.startswith("telegram/")
            }  # fmt: skip
            assert in_round <= failed_keys, "an update of a failed round was acknowledged"
        if event[0] == "flush" and event[1] != "start":
            round_start = i + 1
    for result in results:
        if isinstance(result, Receipt):
            check_acknowledged(events, result.key or "", dirty_key(DAY.date()))
    # Telegram retries what failed: a later round takes them all (some were named already).
    retried = asyncio.run(submit_all(ingestor, batcher, bodies))
    assert all(isinstance(r, Receipt) and r.outcome in ("stored", "duplicate") for r in retried)
    assert {k for k in store.list("telegram")} == {raw_key(i, DAY.date()) for i in range(100, 140)}


def test_nothing_is_visible_when_the_data_flush_fails(store: Recording) -> None:
    flush = FailingFlush(set())
    store = Recording(store.root, syncfs=flush)
    ingestor, batcher = make(store)
    flush.failing = set(range(flush.calls + 1, 10**6))
    results = asyncio.run(submit_all(ingestor, batcher, [body(i) for i in range(5)]))
    assert all(isinstance(r, StorageError) for r in results)
    assert store.list("") == [] or all(not k.startswith("telegram/") for k in store.list(""))
    # No name, not even a hidden temporary one, below the partitions.
    assert not [p for p in (store.root / "telegram").rglob("*") if p.is_file()]


UPDATES = st.lists(st.tuples(st.integers(1, 4), st.integers(0, 2)), min_size=1, max_size=24)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sends=UPDATES)
def test_create_only_under_concurrency(
    tmp_path_factory: pytest.TempPathFactory, sends: Any
) -> None:
    """Same id and bytes = duplicate; same id, other bytes = kept beside it; one stored each."""
    root = tmp_path_factory.mktemp("lake")
    if group_sync_for(str(root)) is None:
        pytest.skip("no syncfs on this platform")
    store = LocalStore(root / "raw")
    ingestor, batcher = make(store)
    bodies = [body(i, text=f"version {v}") for i, v in sends]
    receipts = asyncio.run(submit_all(ingestor, batcher, bodies))
    day = DAY.date()
    for data, receipt in zip(bodies, receipts, strict=True):
        assert isinstance(receipt, Receipt)
        assert receipt.key is not None and store.read(receipt.key) == data
    for update_id in {i for i, _ in sends}:
        mine = [r for r in receipts if isinstance(r, Receipt) and r.update_id == update_id]
        assert [r.outcome for r in mine].count("stored") == 1
        versions = {body(update_id, text=f"version {v}") for i, v in sends if i == update_id}
        first = store.read(raw_key(update_id, day))
        expected = {raw_key(update_id, day)} | {
            raw_conflict_key(update_id, day, v) for v in versions if v != first
        }
        assert {k for k in store.list("telegram") if f"/{update_id}" in k} == expected
    assert store.exists(dirty_key(day))


def test_the_writer_thread_ends_when_idle_and_restarts(
    store: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batcher_module, "IDLE_EXIT_SECONDS", 0.05)
    ingestor, batcher = make(store)

    def writers() -> int:
        return sum(t.name == "telelake-ingest-writer" for t in threading.enumerate())

    assert all(
        isinstance(r, Receipt) for r in asyncio.run(submit_all(ingestor, batcher, [body(1)]))
    )
    deadline = time.monotonic() + 5
    while writers() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writers() == 0
    again = asyncio.run(submit_all(ingestor, batcher, [body(2), body(3)]))
    assert [r.outcome for r in again if isinstance(r, Receipt)] == ["stored", "stored"]


async def post_all(app: Any, bodies: list[bytes]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lake") as client:
        return await asyncio.gather(*(client.post("/webhook", content=b) for b in bodies))


def test_webhook_batches_for_a_local_store_and_not_for_others(store: Recording) -> None:
    # Local folder: dated updates go through the rounds, a dateless one through
    # the core in a thread (it needs a look at the day before); both stored.
    ingestor = Ingestor(Settings(lake=str(store.root.parent)), store)
    ingestor.record_zone()  # as `serve` does at start (Ingestor.open)
    app = create_app(ingestor)
    dateless = orjson.dumps({"update_id": 9, "callback_query": {"id": "q", "data": "x"}})
    answers = asyncio.run(post_all(app, [body(1), body(2), dateless]))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert ("publish", raw_key(1, DAY.date())) in store.events
    assert any(k.endswith("/9.json") for k in store.list("telegram"))
    # A store without staging (S3, in-memory): every update through Ingestor.accept.
    memory = MemoryStore()
    app = create_app(Ingestor(Settings(lake="unused"), memory))
    answers = asyncio.run(post_all(app, [body(3), body(3), body(4)]))
    assert [a.json()["outcome"] for a in answers].count("stored") == 2
    assert raw_key(3, DAY.date()) in memory.objects and dirty_key(DAY.date()) in memory.objects

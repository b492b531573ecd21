"""Group commit: every waiter is covered by a flush that started after its writes.

The flush is a stand-in for ``syncfs`` that records which writes existed when
it started; the real ``syncfs`` runs in tests/lake/test_storage.py and
tests/lake/test_store_contract.py.
"""

from __future__ import annotations

import ctypes
import errno
import threading
import time
from pathlib import Path

import pytest

from telelake.errors import StorageError
from telelake.lake.groupsync import GroupSync, group_sync_for
from telelake.lake.storage import LocalStore


class RecordingFlush:
    """A slow flush that makes durable exactly the writes done before it started."""

    def __init__(self, seconds: float = 0.005, fail_first: int = 0) -> None:
        self.lock = threading.Lock()
        self.written: set[int] = set()
        self.durable: set[int] = set()
        self.calls = 0
        self.seconds = seconds
        self.fail_first = fail_first

    def write(self, item: int) -> None:
        with self.lock:
            self.written.add(item)

    def __call__(self, fd: int) -> int:
        with self.lock:
            self.calls += 1
            call = self.calls
            snapshot = set(self.written)
        time.sleep(self.seconds)
        if call <= self.fail_first:
            ctypes.set_errno(errno.EIO)
            return -1
        with self.lock:
            self.durable |= snapshot
        return 0


def run_writers(sync: GroupSync, flush: RecordingFlush, count: int) -> dict[int, BaseException]:
    start = threading.Barrier(count)
    errors: dict[int, BaseException] = {}
    not_durable: list[int] = []

    def writer(item: int) -> None:
        start.wait()
        flush.write(item)
        try:
            sync.wait()
        except OSError as exc:
            errors[item] = exc
            return
        with flush.lock:
            if item not in flush.durable:
                not_durable.append(item)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a waiter was never released"
    assert not not_durable, f"returned before its write was flushed: {not_durable}"
    return errors


def test_every_waiter_is_covered_and_flushes_are_shared(tmp_path: Path) -> None:
    flush = RecordingFlush()
    sync = GroupSync(str(tmp_path), flush)
    try:
        assert run_writers(sync, flush, 48) == {}
        # 48 writers arriving together while 5 ms flushes run: they must share.
        assert 1 <= flush.calls < 48
        # A later writer needs a flush of its own (one that started after it wrote).
        before = flush.calls
        assert run_writers(sync, flush, 1) == {}
        assert flush.calls == before + 1
    finally:
        sync.close()


def test_a_failed_flush_fails_its_waiters_and_the_next_one_recovers(tmp_path: Path) -> None:
    flush = RecordingFlush(fail_first=1)
    sync = GroupSync(str(tmp_path), flush)
    try:
        errors = run_writers(sync, flush, 16)
        assert errors, "the failed flush reported nothing"
        assert all(isinstance(e, OSError) and e.errno == errno.EIO for e in errors.values())
        # Exactly the first flush failed: the waiters it covered were told, the rest not.
        assert 1 <= len(errors) < 16 or flush.calls == 1
        assert run_writers(sync, flush, 4) == {}
    finally:
        sync.close()


def test_the_flusher_thread_ends_when_idle_and_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("telelake.lake.groupsync.IDLE_EXIT_SECONDS", 0.05)
    flush = RecordingFlush(seconds=0)
    sync = GroupSync(str(tmp_path), flush)
    try:
        assert run_writers(sync, flush, 2) == {}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
            t.name == "telelake-groupsync" for t in threading.enumerate()
        ):
            time.sleep(0.02)
        assert not any(t.name == "telelake-groupsync" for t in threading.enumerate())
        assert run_writers(sync, flush, 3) == {}
    finally:
        sync.close()


def test_a_given_flush_function_replaces_the_systems(tmp_path: Path) -> None:
    flush = RecordingFlush(seconds=0)
    sync = group_sync_for(str(tmp_path), flush)
    assert sync is not None, "a flush function was given: there is a group flusher"
    try:
        assert run_writers(sync, flush, 3) == {}
        assert flush.calls == sync.flushes >= 1
    finally:
        sync.close()


def test_store_refuses_when_the_flush_fails_and_shows_nothing(tmp_path: Path) -> None:
    # The real syncfs does not fail on demand: the store gets a flush that does.
    flush = RecordingFlush(seconds=0)
    store = LocalStore(tmp_path / "layer", syncfs=flush)
    assert store.create("a/1.json", b"one")
    assert flush.calls == store.flushes == 2  # bytes, then the name
    flush.fail_first = 10**9
    with pytest.raises(StorageError) as info:
        store.create("a/2.json", b"two")
    assert info.value.retryable
    # The data flush failed, so no name was ever linked to the bytes.
    assert store.list("") == ["a/1.json"]
    assert sorted(p.name for p in (tmp_path / "layer" / "a").iterdir()) == ["1.json"]
    for unnamed in (True, False):  # nor a hidden temporary one, either way
        other = LocalStore(tmp_path / f"other-{unnamed}", unnamed_files=unnamed, syncfs=flush)
        with pytest.raises(StorageError):
            other.create("a/2.json", b"two")
        assert [p.name for p in (tmp_path / f"other-{unnamed}" / "a").iterdir()] == []

"""Dates built in worker processes: same bytes, errors and dead workers reported, markers kept."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from telelake.config import load_settings
from telelake.errors import StorageError, WorkerError
from telelake.etl.layers import Layers
from telelake.etl.partition import PartitionResult, build_partition
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.etl.workers import WorkerPool
from telelake.ingest.core import Ingestor
from telelake.lake import tables
from telelake.lake.changes import dirty_dates
from telelake.lake.storage import LocalStore

ZONE = ZoneInfo("UTC")
DAYS = [date(2025, 11, d) for d in range(1, 7)]


def _body(update_id: int, day: date, text: str) -> bytes:
    payload = {
        "message_id": update_id,
        "from": {"id": 7, "is_bot": False, "first_name": "Bia"},
        "chat": {"id": -100, "type": "group", "title": "G"},
        "date": int(datetime(day.year, day.month, day.day, 9, tzinfo=UTC).timestamp()),
        "text": text,
    }
    return orjson.dumps({"update_id": update_id, "message": payload})


def _lake(root: Path) -> tuple[LocalStore, LocalStore]:
    settings = load_settings({"lake": str(root)}, env={})
    raw, enriched = LocalStore(settings.raw_url), LocalStore(settings.enriched_url)
    ingestor = Ingestor(settings, raw)
    for day in DAYS:
        for i in range(4):
            ingestor.accept(_body(1000 * day.day + i, day, f"{day} #{i} @ana"))
    return raw, enriched


def _parquet(enriched: LocalStore) -> dict[str, bytes]:
    root = Path(enriched.url)
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.parquet")}


def _by_workers_only(raw: LocalStore, enriched: LocalStore) -> list[PartitionResult]:
    """Every date built by two worker processes; the calling process builds nothing."""
    with WorkerPool(build_partition, (Layers(raw, enriched, ZONE),), DAYS, 2) as pool:
        return list(pool.finished(block=True))


class Recorder:
    """A progress display that remembers what it was told."""

    def __init__(self) -> None:
        self.plan: list[date] = []
        self.done: list[date] = []

    def planned(self, days: Sequence[date]) -> None:
        self.plan = list(days)

    def built(self, result: PartitionResult) -> None:
        self.done.append(result.day)


def test_dates_built_only_by_workers_match_a_sequential_run(tmp_path: Path) -> None:
    raw, enriched = _lake(tmp_path / "workers")
    results = _by_workers_only(raw, enriched)
    assert sorted(r.day for r in results) == DAYS
    assert sum(r.rows[tables.MESSAGES] for r in results) == 4 * len(DAYS)
    seq_raw, seq_enriched = _lake(tmp_path / "sequential")
    run(Layers(seq_raw, seq_enriched, ZONE), Selection(dates=tuple(DAYS)), workers=1)
    built = _parquet(enriched)
    assert len(built) == 3 * len(DAYS)  # telegram, telegram_updates, telegram_terms per date
    assert built == _parquet(seq_enriched)
    assert dirty_dates(raw) == []
    assert multiprocessing.active_children() == []


def test_a_run_shared_with_a_worker_builds_every_date_once(tmp_path: Path) -> None:
    raw, enriched = _lake(tmp_path / "lake")
    seen = Recorder()
    summary = run(
        Layers(raw, enriched, ZONE), Selection(dates=tuple(DAYS)), workers=2, progress=seen
    )
    assert seen.plan == DAYS
    assert sorted(seen.done) == DAYS  # each date reported once, whoever built it
    assert [p.day for p in summary.partitions] == DAYS
    assert summary.total(tables.MESSAGES) == 4 * len(DAYS)
    assert dirty_dates(raw) == []
    # A worker that got no date (the caller was faster) is stopped, not left behind.
    assert multiprocessing.active_children() == []


def test_an_error_in_a_worker_is_raised_and_its_date_stays_changed(tmp_path: Path) -> None:
    raw, enriched = _lake(tmp_path / "lake")
    # A file where the telegram table's folder must go: every write of it fails.
    Path(enriched.url).mkdir(parents=True, exist_ok=True)
    (Path(enriched.url) / tables.MESSAGES).write_bytes(b"not a folder")
    with pytest.raises(StorageError, match=tables.MESSAGES):
        _by_workers_only(raw, enriched)
    # The failed date is retried by the next run, and no later date was started.
    assert dirty_dates(raw) == DAYS
    assert multiprocessing.active_children() == []


class DiesInWorker(LocalStore):
    """Kills the process writing a partition, as a power cut or the OOM killer would."""

    def replace(self, key: str, data: bytes) -> None:
        # A spawned worker re-imports this module, so the parent's pid comes from
        # the environment it inherited.
        if str(os.getpid()) != os.environ["TEST_ETL_PARENT_PID"]:
            os.kill(os.getpid(), signal.SIGKILL)
        super().replace(key, data)


def test_a_worker_killed_mid_build_fails_the_run_and_keeps_the_date_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ETL_PARENT_PID", str(os.getpid()))
    raw, enriched = _lake(tmp_path / "lake")
    dying = DiesInWorker(enriched.url)
    with pytest.raises(WorkerError, match=r"died while building 2025-11-0[12] \(exit -9\)"):
        _by_workers_only(raw, dying)
    # The building marker outlives the killed build (lake/changes.py); no date got built.
    assert dirty_dates(raw) == DAYS
    assert multiprocessing.active_children() == []
    run(Layers(raw, enriched, ZONE), workers=1)
    assert dirty_dates(raw) == []
    assert len(_parquet(enriched)) == 3 * len(DAYS)


UNGUARDED_SCRIPT = """
import sys, time
from datetime import date
from zoneinfo import ZoneInfo
from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.lake.storage import LocalStore

class SlowRaw(LocalStore):
    def read_many(self, keys):
        time.sleep(0.5)  # the caller is still building when the worker dies
        return super().read_many(keys)

# No `if __name__ == "__main__":` guard: a spawned worker re-runs this file and
# dies while starting (multiprocessing refuses to spawn from a spawning child).
days = [date(2025, 11, d) for d in range(1, 7)]
layers = Layers(SlowRaw(sys.argv[1]), LocalStore(sys.argv[2]), ZoneInfo("UTC"))
summary = run(layers, Selection(dates=tuple(days)), workers=2)
print(summary.total("telegram"))
"""


def test_a_worker_that_cannot_start_leaves_its_share_to_the_caller(tmp_path: Path) -> None:
    import subprocess
    import sys

    raw, enriched = _lake(tmp_path / "lake")
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), raw.url, enriched.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(4 * len(DAYS))
    assert "died while starting" in done.stderr  # said (a warning), not hidden
    assert dirty_dates(raw) == []
    assert len(_parquet(enriched)) == 3 * len(DAYS)


def test_a_run_where_no_worker_process_starts_is_built_by_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, enriched = _lake(tmp_path / "lake")
    monkeypatch.setattr(multiprocessing.get_context("spawn"), "Process", _NoProcess)
    summary = run(Layers(raw, enriched, ZONE), Selection(dates=tuple(DAYS)), workers=2)
    assert [p.day for p in summary.partitions] == DAYS
    assert summary.left == []
    assert dirty_dates(raw) == []


class _NoProcess:
    """A process that cannot be started, as when the system has no more to give."""

    def __init__(self, **kwargs: object) -> None:
        pass

    def start(self) -> None:
        raise OSError(11, "Resource temporarily unavailable")


def _pid_of_square(n: int) -> tuple[int, int, int]:
    return n, n * n, os.getpid()


def _drain(pool: WorkerPool[int, tuple[int, int, int]], count: int) -> list[tuple[int, int, int]]:
    """What the workers built, polled until ``count`` items came back (this process takes none)."""
    got: list[tuple[int, int, int]] = []
    deadline = time.monotonic() + 60
    while len(got) < count and time.monotonic() < deadline:
        got += pool.finished(block=False)
        time.sleep(0.01)
    return got


def test_an_open_pool_builds_items_added_later_in_the_same_workers() -> None:
    # The chunks of one date, then those of the next: one start-up serves both.
    with WorkerPool(_pid_of_square, (), [], 2, more=True) as pool:
        pool.add(list(range(10)))
        first = _drain(pool, 10)
        # Nothing left and nothing under way: waiting returns at once, the workers stay.
        assert list(pool.finished(block=True)) == []
        assert len(multiprocessing.active_children()) == 2
        pool.add(list(range(10, 25)))
        second = _drain(pool, 15)
    assert sorted((n, square) for n, square, _ in first + second) == [(n, n * n) for n in range(25)]
    pids = {pid for _, _, pid in first + second}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # no worker was started again
    assert multiprocessing.active_children() == []


class _Unpicklable(LocalStore):
    """A store a worker process cannot be sent (it refuses to pickle, as one holding a
    lock or a connection of its own would)."""

    def __getstate__(self) -> dict[str, object]:
        raise TypeError("cannot pickle this store")


def test_a_store_workers_cannot_get_is_built_by_the_caller(tmp_path: Path) -> None:
    raw, enriched = _lake(tmp_path / "lake")
    layers = Layers(_Unpicklable(raw.url), enriched, ZONE)
    for days in (DAYS[:1], DAYS):  # the helpers of a daily run, the workers of a big one
        summary = run(layers, Selection(dates=tuple(days)), workers=2)
        assert [p.day for p in summary.partitions] == days
    assert dirty_dates(raw) == []
    assert multiprocessing.active_children() == []

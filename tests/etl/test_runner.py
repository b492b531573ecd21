"""Partition builds on a real folder: idempotent, atomic, local to their date, never stale."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import orjson
import pyarrow.parquet as pq
import pytest

from telelake.config import load_settings
from telelake.errors import StorageError, UsageError
from telelake.etl.layers import Layers
from telelake.etl.partition import build_partition
from telelake.etl.plan import Selection, plan
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.lake import tables
from telelake.lake.changes import dirty_dates
from telelake.lake.layout import table_key
from telelake.lake.storage import LocalStore

UTC = ZoneInfo("UTC")
DAY1, DAY2, DAY3 = date(2025, 11, 20), date(2025, 11, 21), date(2025, 11, 22)


def epoch(day: date, hour: int = 12) -> int:
    return int(
        __import__("datetime").datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp()
    )


def body(update_id: int, message_id: int, day: date, text: str = "hello", **extra: Any) -> bytes:
    kind = "edited_message" if "edit_date" in extra else "message"
    payload = {
        "message_id": message_id,
        "from": {"id": 1, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": -100, "type": "group", "title": "G"},
        "date": epoch(day),
        "text": text,
        **extra,
    }
    return orjson.dumps({"update_id": update_id, kind: payload})


class Lake:
    def __init__(self, root: Path) -> None:
        self.settings = load_settings({"lake": str(root)}, env={})
        self.raw = LocalStore(self.settings.raw_url)
        self.enriched = LocalStore(self.settings.enriched_url)
        self.ingestor = Ingestor(self.settings, self.raw)
        self.layers = Layers(self.raw, self.enriched, UTC)

    def send(self, *bodies: bytes) -> None:
        for item in bodies:
            self.ingestor.accept(item)

    def etl(self, days: list[date] | None = None) -> None:
        run(self.layers, Selection() if days is None else Selection(dates=tuple(days)))

    def messages(self, day: date) -> list[dict[str, Any]]:
        path = Path(self.enriched.url) / table_key(tables.MESSAGES, day)
        rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
        return rows

    def files(self) -> dict[str, tuple[int, int, bytes]]:
        root = Path(self.enriched.url)
        return {
            str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in root.rglob("*.parquet")
        }


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def test_running_twice_gives_the_same_partition_bytes(lake: Lake) -> None:
    lake.send(body(1, 1, DAY1, "a"), body(2, 2, DAY1, "b"), body(3, 3, DAY2, "c"))
    lake.etl([DAY1, DAY2])
    first = {k: v[2] for k, v in lake.files().items()}
    lake.etl([DAY1, DAY2])
    second = {k: v[2] for k, v in lake.files().items()}
    assert first == second
    assert len(first) >= 4  # messages + updates tables for two dates


def test_building_one_date_never_touches_another_dates_files(lake: Lake) -> None:
    lake.send(body(1, 1, DAY1), body(2, 2, DAY2), body(3, 3, DAY3))
    lake.etl([DAY1, DAY2, DAY3])
    before = lake.files()
    lake.send(body(4, 4, DAY2, "late"))
    lake.etl()
    after = lake.files()
    for key, value in before.items():
        if "2025-11-21" not in key:
            assert after[key] == value, key
    assert [r["text"] for r in lake.messages(DAY2)] == ["hello", "late"]


def test_default_run_rebuilds_only_changed_partitions(lake: Lake) -> None:
    lake.send(body(1, 1, DAY1), body(2, 2, DAY3))
    assert plan(lake.raw, lake.enriched) == [DAY1, DAY3]
    lake.etl()
    assert plan(lake.raw, lake.enriched) == []
    # An edit of an old message lands in the old partition and marks only it.
    lake.send(body(3, 1, DAY1, "edited", edit_date=epoch(DAY3)))
    assert plan(lake.raw, lake.enriched) == [DAY1]
    lake.etl()
    assert [r["text"] for r in lake.messages(DAY1)] == ["edited"]


def test_redelivery_and_reruns_never_inflate_counts(lake: Lake) -> None:
    updates = [body(i, i, DAY1, f"m{i}") for i in range(1, 30)]
    for _ in range(3):
        lake.send(*updates)
        lake.etl()
        lake.etl([DAY1])
    assert len(lake.messages(DAY1)) == 29


def test_an_update_stored_after_the_listing_is_not_missed(lake: Lake) -> None:
    lake.send(body(1, 1, DAY1))

    class SlowRaw(LocalStore):
        def list(self, prefix: str) -> list[str]:
            keys = super().list(prefix)
            # Telegram delivers while the partition is being built.
            lake.send(body(2, 2, DAY1, "during the build"))
            return keys

    build_partition(Layers(SlowRaw(lake.raw.url), lake.enriched, UTC), DAY1)
    assert [r["message_id"] for r in lake.messages(DAY1)] == [1]
    assert dirty_dates(lake.raw) == [DAY1]
    lake.etl()
    assert [r["message_id"] for r in lake.messages(DAY1)] == [1, 2]


def test_a_crash_mid_build_keeps_the_old_partition_readable_and_a_rerun_completes(
    lake: Lake,
) -> None:
    lake.send(body(1, 1, DAY1, "old"))
    lake.etl()
    lake.send(body(2, 2, DAY1, "new"))

    class Failing(LocalStore):
        calls = 0

        def replace(self, key: str, data: bytes) -> None:
            Failing.calls += 1
            if Failing.calls == 2:
                raise StorageError(f"disk full while writing {key}")
            super().replace(key, data)

    with pytest.raises(StorageError):
        build_partition(Layers(lake.raw, Failing(lake.enriched.url), UTC), DAY1)
    assert [r["text"] for r in lake.messages(DAY1)] in (["old"], ["old", "new"])
    assert not [p for p in Path(lake.enriched.url).rglob(".tmp-*")]
    assert dirty_dates(lake.raw) == [DAY1]  # the failed date is retried next run
    lake.etl()
    assert [r["text"] for r in lake.messages(DAY1)] == ["old", "new"]


KILLED_MID_BUILD = """
import os, signal, sys
from datetime import date
from zoneinfo import ZoneInfo
from telelake.etl.layers import Layers
from telelake.etl.partition import build_partition
from telelake.lake.storage import LocalStore

class Dies(LocalStore):
    def replace(self, key, data):
        os.kill(os.getpid(), signal.SIGKILL)  # no except/finally runs: as a power cut

layers = Layers(LocalStore(sys.argv[1]), Dies(sys.argv[2]), ZoneInfo("UTC"))
build_partition(layers, date.fromisoformat(sys.argv[3]))
"""


def test_a_build_killed_mid_write_is_built_by_the_next_default_run(lake: Lake) -> None:
    import subprocess
    import sys

    lake.send(body(1, 1, DAY1, "old"))
    lake.etl()
    lake.send(body(2, 2, DAY1, "new"))
    died = subprocess.run(
        [sys.executable, "-c", KILLED_MID_BUILD, lake.raw.url, lake.enriched.url, str(DAY1)],
        capture_output=True,
        timeout=60,
    )
    assert died.returncode == -9, died.stderr
    assert [r["text"] for r in lake.messages(DAY1)] == ["old"]
    assert plan(lake.raw, lake.enriched) == [DAY1]  # the change is not forgotten
    lake.etl()
    assert [r["text"] for r in lake.messages(DAY1)] == ["old", "new"]
    assert plan(lake.raw, lake.enriched) == []


def test_readers_never_see_a_half_written_partition(lake: Lake) -> None:
    lake.send(*[body(i, i, DAY1, "x" * 200) for i in range(1, 400)])
    lake.etl()
    path = Path(lake.enriched.url) / table_key(tables.MESSAGES, DAY1)
    seen: set[int] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        # A real engine reading the partition while it is replaced.
        connection = duckdb.connect()
        while not stop.is_set():
            try:
                [(count,)] = connection.execute(
                    "SELECT count(*) FROM read_parquet(?)", [str(path)]
                ).fetchall()
                with path.open("rb") as handle:  # one open = one version of the file
                    assert pq.read_table(handle).num_rows == pq.read_metadata(handle).num_rows
                seen.add(count)
            except BaseException as exc:  # any partial read is a failure
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(400, 420):
            lake.send(body(i, i, DAY1))
            build_partition(lake.layers, DAY1)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert seen <= set(range(399, 420))


def test_a_date_whose_raw_data_is_gone_loses_its_partition_with_all(lake: Lake) -> None:
    lake.send(body(1, 1, DAY1), body(2, 2, DAY2))
    lake.etl()
    for key in lake.raw.list("telegram/context_date=2025-11-20"):
        lake.raw.delete(key)
    lake.etl(plan(lake.raw, lake.enriched, Selection(everything=True)))
    assert not (Path(lake.enriched.url) / table_key(tables.MESSAGES, DAY1)).exists()
    assert (Path(lake.enriched.url) / table_key(tables.MESSAGES, DAY2)).exists()


def test_plan_modes(lake: Lake) -> None:
    lake.send(body(1, 1, DAY1), body(2, 2, DAY2), body(3, 3, DAY3))
    assert plan(lake.raw, lake.enriched, Selection(day=DAY2)) == [DAY2]
    assert plan(lake.raw, lake.enriched, Selection(since=DAY2)) == [DAY2, DAY3]
    assert plan(lake.raw, lake.enriched, Selection(until=DAY2)) == [DAY1, DAY2]
    assert plan(lake.raw, lake.enriched, Selection(everything=True)) == [DAY1, DAY2, DAY3]
    assert plan(lake.raw, lake.enriched, Selection(dates=(DAY3, DAY1, DAY3))) == [DAY1, DAY3]
    with pytest.raises(UsageError):
        Selection(day=DAY1, everything=True)
    with pytest.raises(UsageError):
        Selection(since=DAY3, until=DAY1)


def test_corrupt_raw_object_is_set_aside_and_reported(lake: Lake) -> None:
    lake.send(body(1, 1, DAY1, "fine"))
    lake.raw.create("telegram/context_date=2025-11-20/999.json", b'{"update_id": 999, "mess')
    [result] = run(lake.layers, Selection(day=DAY1)).partitions
    assert result.rejected == 1
    assert "999.json" in result.reject_reasons[0]
    assert [r["text"] for r in lake.messages(DAY1)] == ["fine"]
    rejects = pq.read_table(Path(lake.enriched.url) / table_key(tables.REJECTS, DAY1))
    assert rejects.column("raw_key").to_pylist() == ["telegram/context_date=2025-11-20/999.json"]


def test_parallel_run_builds_the_same_partitions_as_a_sequential_one(tmp_path: Path) -> None:
    days = [date(2025, 11, d) for d in range(1, 7)]
    lakes = [Lake(tmp_path / name) for name in ("sequential", "parallel")]
    for lake in lakes:
        lake.send(*[body(100 * d.day + i, i, d, f"day {d} #{i}") for d in days for i in range(5)])
    every = Selection(everything=True)
    sequential = run(lakes[0].layers, every, workers=1)
    parallel = run(lakes[1].layers, every, workers=2)
    assert [p.day for p in parallel.partitions] == days
    assert parallel.total(tables.MESSAGES) == sequential.total(tables.MESSAGES) == 30
    assert {k: v[2] for k, v in lakes[0].files().items()} == {
        k: v[2] for k, v in lakes[1].files().items()
    }
    assert dirty_dates(lakes[1].raw) == []


SIX_DAYS = [date(2025, 11, d) for d in range(1, 7)]


def _six_days(lake: Lake) -> None:
    lake.send(*[body(100 * d.day, 1, d, f"day {d}") for d in SIX_DAYS])


def test_a_stop_request_leaves_the_dates_not_started_changed(lake: Lake) -> None:
    _six_days(lake)
    summary = run(lake.layers, stop=lambda: len(lake.files()) >= 4, workers=1)
    # Two dates (two files each: telegram + telegram_updates) were built, then it stopped.
    assert [p.day for p in summary.partitions] == SIX_DAYS[:2]
    assert summary.left == SIX_DAYS[2:]
    assert "4 date(s) left for the next run" in summary.describe()
    assert plan(lake.raw, lake.enriched) == SIX_DAYS[2:]
    assert run(lake.layers, workers=1).left == []
    assert plan(lake.raw, lake.enriched) == []


def test_a_time_budget_starts_no_date_it_cannot_finish(lake: Lake) -> None:
    _six_days(lake)
    # Seconds left, asked once before each date: plenty twice, then under the
    # 30 s any Lambda invocation keeps in reserve.
    # (The weekly topics, built once their dates are, are asked too: 29 s, so left
    # for later.)
    left = iter([600.0, 600.0])
    summary = run(lake.layers, time_left=lambda: next(left, 29.0), workers=1)
    assert [p.day for p in summary.partitions] == SIX_DAYS[:2]
    assert summary.left == SIX_DAYS[2:]
    assert plan(lake.raw, lake.enriched) == SIX_DAYS[2:]


def test_a_stop_before_the_first_date_builds_nothing_on_any_core(lake: Lake) -> None:
    import multiprocessing

    _six_days(lake)
    summary = run(lake.layers, stop=lambda: True, workers=2)
    assert summary.partitions == [] and summary.left == SIX_DAYS
    assert plan(lake.raw, lake.enriched) == SIX_DAYS
    assert multiprocessing.active_children() == []

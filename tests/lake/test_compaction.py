"""Compaction of closed days: nothing lost, nothing counted twice, at any moment.

Real folders, the real ETL and, for kills, a real child process that dies
with SIGKILL (no ``finally`` runs: as a power cut). "The same rows" is
checked two ways that do not trust the code under test: the raw layer's
``(key, bytes)`` pairs against what was stored, and every enriched Parquet
file, byte for byte, against a build made before compaction.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from telelake.config import load_settings
from telelake.demo.simulator import simulate
from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.lake.compaction import (
    compact_day,
    compact_lake,
    plan_compaction,
)
from telelake.lake.segments import read_partition
from telelake.lake.storage import LocalStore

UTC_ZONE = ZoneInfo("UTC")
DAY = date(2026, 1, 5)
LATER = datetime(2026, 3, 1, tzinfo=UTC).timestamp()  # every simulated day is closed by then


class Lake:
    """A lake in a folder, written by the real ingest core."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings = load_settings({"lake": str(root), "timezone": "UTC"}, env={})
        self.raw = LocalStore(self.settings.raw_url)
        self.enriched = LocalStore(self.settings.enriched_url)
        self.ingestor = Ingestor(self.settings, self.raw)

    @property
    def layers(self) -> Layers:
        return Layers(self.raw, self.enriched, UTC_ZONE)

    def send(self, *bodies: bytes) -> None:
        for body in bodies:
            self.ingestor.accept(body)

    def etl(self) -> None:
        run(self.layers, Selection(everything=True), workers=1)

    def partition(self, day: date = DAY) -> list[str]:
        folder = self.root / "raw" / "telegram" / f"context_date={day.isoformat()}"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    def tables(self) -> dict[str, bytes]:
        """Every enriched data file, by path (the build's own records left out)."""
        base = self.root / "enriched"
        return {
            str(p.relative_to(base)): p.read_bytes()
            for p in sorted(base.rglob("*.parquet"))
            if "_telelake" not in p.parts
        }

    def days(self) -> list[date]:
        folder = self.root / "raw" / "telegram"
        return sorted(date.fromisoformat(p.name.split("=")[1]) for p in folder.iterdir())

    def pairs(self) -> dict[date, list[tuple[str, bytes]]]:
        return {day: read_partition(self.raw, day) for day in self.days()}


def webhook(body: bytes) -> bytes:
    """The body as Telegram's Bot API server sends it: a line break after the update id."""
    data = orjson.loads(body)
    rest = orjson.dumps({k: v for k, v in data.items() if k != "update_id"})
    return b'{"update_id":%d,\n' % data["update_id"] + rest[1:]


def message(update_id: int, text: str, day: date = DAY, message_id: int | None = None) -> bytes:
    sent = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
    return orjson.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": message_id or update_id,
                "from": {"id": 7, "is_bot": False, "first_name": "Ana"},
                "chat": {"id": -100, "type": "supergroup", "title": "g"},
                "date": sent,
                "text": text,
            },
        }
    )


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def simulated(lake: Lake, days: int = 3, per_day: int = 600) -> None:
    traffic = simulate(seed=11, days=days, messages_per_day=per_day, end=DAY, timezone="UTC")
    # Half as Telegram's webhook sends them (a line break inside), half as polled.
    lake.send(*(webhook(b) if orjson.loads(b)["update_id"] % 2 else b for b in traffic.bodies))


def test_simulated_days_rebuild_byte_identical_after_compaction(lake: Lake) -> None:
    simulated(lake)
    # Two rejects of the ETL: an update it cannot use (packed like any other) and
    # bytes that are not JSON (they stay an object).
    folder = f"telegram/context_date={DAY.isoformat()}"
    lake.raw.create(f"{folder}/1.json", b'{"update_id": 1, "message": "not an object"}')
    lake.raw.create(f"{folder}/2.json", b'{"update_id": 2, "message": {"text": "cut sh')
    before_pairs = lake.pairs()
    lake.etl()
    before = lake.tables()
    assert any("telegram_rejects" in path for path in before)
    summary = compact_lake(lake.raw, UTC_ZONE, 3, now=LATER)
    assert summary.compacted == len(before_pairs) == 3
    assert summary.objects_left == 1
    for day in lake.days():
        names = [n for n in lake.partition(day) if n != "2.json"]
        assert len(names) == 1 and names[0].startswith("segment-"), names
    assert lake.pairs() == before_pairs
    shutil.rmtree(lake.root / "enriched")
    lake.etl()
    assert lake.tables() == before


def test_corpus_day_rebuilds_byte_identical_after_compaction(lake: Lake, corpus_dir: Path) -> None:
    lines = []
    for path in sorted((corpus_dir / "updates").glob("*.jsonl")):
        lines += [line for line in path.read_bytes().splitlines() if line.strip()]
    # Every corpus update into one partition, as ingest names them (ids are reused
    # across the corpus's sources: the later bodies are kept by content).
    lake.send(*(message(1, "anchor"),))
    for body in lines:
        day_key = f"telegram/context_date={DAY.isoformat()}"
        update_id = orjson.loads(body)["update_id"]
        if not lake.raw.create(f"{day_key}/{update_id}.json", body):
            stored = lake.raw.read(f"{day_key}/{update_id}.json")
            if stored != body:
                import hashlib

                digest = hashlib.sha256(body).hexdigest()[:16]
                lake.raw.create(f"{day_key}/{update_id}.{digest}.json", body)
    before_pairs = read_partition(lake.raw, DAY)
    lake.etl()
    before = lake.tables()
    result = compact_day(lake.raw, DAY)
    assert result.packed == len(before_pairs) and result.left == 0
    assert read_partition(lake.raw, DAY) == before_pairs
    shutil.rmtree(lake.root / "enriched")
    lake.etl()
    assert lake.tables() == before


class Counting(LocalStore):
    """Counts every change a compaction makes to the store."""

    changes: list[str]

    def replace(self, key: str, data: bytes) -> None:
        self.changes.append(f"replace {key}")
        super().replace(key, data)

    def create(self, key: str, data: bytes) -> bool:
        self.changes.append(f"create {key}")
        return super().create(key, data)

    def delete(self, key: str) -> None:
        self.changes.append(f"delete {key}")
        super().delete(key)

    def delete_many(self, keys: list[str]) -> None:
        self.changes += [f"delete {key}" for key in keys]
        super().delete_many(keys)


def test_compacting_a_compacted_day_changes_nothing(lake: Lake) -> None:
    lake.send(*(webhook(message(i, f"m{i}")) for i in range(1, 30)))
    compact_day(lake.raw, DAY)
    [segment] = lake.partition()
    path = lake.root / "raw" / "telegram" / f"context_date={DAY}" / segment
    stat = path.stat()
    store = Counting(lake.raw.url)
    store.changes = []
    result = compact_day(store, DAY)
    assert not result.changed
    assert store.changes == []
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)


def test_later_objects_are_merged_into_a_new_segment(lake: Lake) -> None:
    lake.send(*(message(i, f"m{i}") for i in range(1, 11)))
    compact_day(lake.raw, DAY)
    [old] = lake.partition()
    # A late update, a re-delivery of a packed one, other bytes under a packed id.
    lake.send(message(11, "late"), message(3, "m3"), message(4, "m4 edited by a backfill"))
    assert len(lake.partition()) == 4
    pairs = read_partition(lake.raw, DAY)
    assert len(pairs) == 12  # the re-delivery is the same update
    result = compact_day(lake.raw, DAY)
    assert (result.packed, result.merged, result.updates) == (3, 1, 12)
    [new] = lake.partition()
    assert new != old and new.startswith("segment-")
    assert read_partition(lake.raw, DAY) == pairs
    lake.etl()
    import duckdb

    texts = duckdb.sql(
        f"SELECT text FROM '{lake.root}/enriched/telegram/*/*.parquet' ORDER BY update_id"
    ).fetchall()
    # 11 messages; message 4's two bodies are two versions of one message.
    assert len(texts) == 11


# ------------------------------------------------------------------ SIGKILL at every step

KILLED = """
import os, signal, sys
from datetime import date
from telelake.lake.compaction import compact_lake
from telelake.lake.storage import LocalStore
from zoneinfo import ZoneInfo

class Dies(LocalStore):
    steps = 0
    def _step(self):
        if self.steps == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)  # no except/finally runs: as a power cut
        self.steps += 1
    def replace(self, key, data):
        self._step(); super().replace(key, data)
    def create(self, key, data):
        self._step(); return super().create(key, data)
    def delete(self, key):
        self._step(); super().delete(key)
    def delete_many(self, keys):
        for key in keys:  # a kill between any two deletes of a batch, too
            self._step(); super().delete_many([key])

store = Dies(sys.argv[1])
compact_lake(store, ZoneInfo("UTC"), 3, day=date.fromisoformat(sys.argv[3]))
print(store.steps)
"""


def test_a_compaction_killed_at_any_step_leaves_the_same_rows(lake: Lake, tmp_path: Path) -> None:
    # An earlier segment and new objects: every kind of step (write, read back,
    # delete objects, delete the old segment, the markers) happens.
    lake.send(*(webhook(message(i, f"m{i}")) for i in range(1, 5)))
    compact_day(lake.raw, DAY)
    lake.send(*(message(i, f"m{i}") for i in range(5, 9)), message(2, "other bytes, same id"))
    lake.send(message(3, "m3"))  # same bytes as packed: a re-delivery
    lake.etl()
    pairs, tables = read_partition(lake.raw, DAY), lake.tables()
    template = tmp_path / "template"
    shutil.copytree(lake.root, template)

    step, steps = 0, None
    while steps is None or step <= steps:
        shutil.rmtree(lake.root)
        shutil.copytree(template, lake.root)
        child = subprocess.run(
            [sys.executable, "-c", KILLED, lake.raw.url, str(step), DAY.isoformat()],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if child.returncode == 0:
            steps = int(child.stdout)  # the run with no kill: how many steps there are
            assert step >= steps
        else:
            assert child.returncode == -9, child.stderr
        assert read_partition(lake.raw, DAY) == pairs, f"killed at step {step}"
        # A killed compaction keeps its date on the list; the next one finishes it.
        if child.returncode != 0:
            assert DAY in plan_compaction(lake.raw, UTC_ZONE, 3, now=LATER).days
        compact_lake(lake.raw, UTC_ZONE, 3, now=LATER)
        [segment] = lake.partition()
        assert segment.startswith("segment-")
        assert read_partition(lake.raw, DAY) == pairs
        shutil.rmtree(lake.root / "enriched")
        lake.etl()
        assert lake.tables() == tables, f"killed at step {step}"
        step += 1
    assert steps is not None and steps >= 8


# ------------------------------------------------------------------ reading while compacting


def test_readers_and_the_etl_see_the_same_updates_while_compactions_run(lake: Lake) -> None:
    days = [DAY + timedelta(days=i) for i in range(4)]
    for n, day in enumerate(days):
        lake.send(*(message(n * 1000 + i, f"m{i}", day) for i in range(1, 400)))
    expected = lake.pairs()
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader(day: date) -> None:
        while not stop.is_set():
            try:
                assert read_partition(lake.raw, day) == expected[day]
            except BaseException as exc:
                errors.append(exc)
                return

    for round_ in range(3):
        # New objects each round, so each compaction writes, verifies and deletes.
        for n, day in enumerate(days):
            lake.send(message(n * 1000 + 500 + round_, "late", day))
            expected[day] = read_partition(lake.raw, day)
        lake.etl()
        tables = lake.tables()
        readers = [threading.Thread(target=reader, args=(day,)) for day in days]
        builder = threading.Thread(target=lake.etl)  # the ETL rebuilds every day meanwhile
        for thread in [*readers, builder]:
            thread.start()
        try:
            for day in days:
                assert compact_day(lake.raw, day).packed == (400 if round_ == 0 else 1)
        finally:
            builder.join()
            stop.set()
            for thread in readers:
                thread.join()
            stop.clear()
        assert not errors, errors[0]
        assert lake.tables() == tables, f"round {round_}"


# ------------------------------------------------------------------ which days


def test_the_first_compaction_lists_every_partition_then_markers_decide(lake: Lake) -> None:
    days = [DAY + timedelta(days=i) for i in range(6)]
    for i, day in enumerate(days):
        lake.send(message(i + 1, "x", day))
    lake.etl()  # clears the change markers, as every build does
    now = datetime(2026, 1, 12, 10, tzinfo=UTC).timestamp()  # 3 days ago: 2026-01-09
    plan = plan_compaction(lake.raw, UTC_ZONE, 3, now=now)
    assert plan.full_scan and plan.days == days[:5]
    compact_lake(lake.raw, UTC_ZONE, 3, now=now)
    # Marked by the scan, though not closed yet: compacted once it is.
    assert plan_compaction(lake.raw, UTC_ZONE, 3, now=now).days == []
    assert plan_compaction(lake.raw, UTC_ZONE, 3, now=now + 86400).days == [days[5]]
    # A late edit of a compacted day: its change marker makes it a candidate, and
    # after the ETL cleared that, the build's own compaction marker does.
    lake.send(message(100, "edit", days[1]))
    assert plan_compaction(lake.raw, UTC_ZONE, 3, now=now).days == [days[1]]
    run(lake.layers, workers=1)
    assert plan_compaction(lake.raw, UTC_ZONE, 3, now=now).days == [days[1]]
    summary = compact_lake(lake.raw, UTC_ZONE, 3, now=now)
    assert [d.day for d in summary.days] == [days[1]] and summary.packed == 1
    assert plan_compaction(lake.raw, UTC_ZONE, 3, now=now).days == []


def test_closed_means_closed_in_the_lake_s_zone() -> None:
    from telelake.lake.compaction import last_closed

    # 2026-01-12 11:00 UTC is already 2026-01-13 in Kiritimati (UTC+14).
    now = datetime(2026, 1, 12, 11, tzinfo=UTC).timestamp()
    assert last_closed(UTC_ZONE, 3, now) == date(2026, 1, 9)
    assert last_closed(ZoneInfo("Pacific/Kiritimati"), 3, now) == date(2026, 1, 10)
    assert last_closed(ZoneInfo("Pacific/Kiritimati"), 0, now) == date(2026, 1, 13)


def test_the_etl_runner_compacts_closed_days_when_asked(lake: Lake) -> None:
    today = datetime.now(UTC).date()
    old, recent = today - timedelta(days=10), today - timedelta(days=1)
    lake.send(message(1, "old", old), message(2, "recent", recent))
    summary = run(lake.layers, workers=1, compact_after=3)
    assert summary.compacted == 1
    assert lake.partition(old)[0].startswith("segment-")
    assert lake.partition(recent) == ["2.json"]
    assert "compacted 1 closed raw day" in summary.describe()
    # Nothing changed since: the next daily run neither builds nor compacts.
    again = run(lake.layers, workers=1, compact_after=3)
    assert (again.partitions, again.compacted) == ([], 0)


def test_a_run_without_compaction_leaves_the_raw_layer_as_it_is(lake: Lake) -> None:
    lake.send(message(1, "old", DAY))
    run(lake.layers, workers=1)
    assert lake.partition() == ["1.json"]

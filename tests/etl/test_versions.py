"""Table versions (DESIGN §3.9): a lake an older telelake built upgrades itself, readers never fail.

The older telelake is played the way it wrote a lake: Parquet files written
here with pyarrow alone (the original design's eight columns, no version
metadata), no table but ``telegram``, and no build record. The lake around
them is built by the real ETL, on a folder and on an S3 bucket (moto).
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import io
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telelake.analytics.engine import Engine
from telelake.errors import StorageError
from telelake.etl.layers import Layers
from telelake.etl.partition import PartitionResult, build_partition
from telelake.etl.plan import plan
from telelake.etl.runner import run
from telelake.etl.status import etl_status
from telelake.lake import tables
from telelake.lake.changes import dirty_dates, mark_dirty
from telelake.lake.layout import raw_key
from telelake.lake.storage import LocalStore, Store
from telelake.lake.versions import built_dates

UTC = ZoneInfo("UTC")
DAYS = [date(2025, 11, d) for d in range(1, 6)]
OLD = [DAYS[1], DAYS[3]]
CHAT = {"id": -100, "type": "group", "title": "G"}


def epoch(day: date, hour: int = 12) -> int:
    return calendar.timegm((day.year, day.month, day.day, hour, 0, 0, 0, 0, 0))


def message(update_id: int, message_id: int, day: date, text: str) -> bytes:
    sender = {"id": 7, "is_bot": False, "first_name": "Ana"}
    body = {"message_id": message_id, "from": sender, "chat": CHAT, "date": epoch(day),
            "text": text}  # fmt: skip
    return orjson.dumps({"update_id": update_id, "message": body})


def send(raw: Store, update_id: int, message_id: int, day: date, text: str) -> None:
    """What ingest does: the object, then the change marker."""
    raw.create(raw_key(update_id, day), message(update_id, message_id, day, text))
    mark_dirty(raw, day)


def old_partition(enriched: Store, day: date, message_ids: list[int]) -> None:
    """``day`` as telelake wrote it before versions: the original design's columns only,
    the messages table only, no version in the footer, no build record."""
    n = len(message_ids)
    columns = {
        "message_id": pa.array(message_ids, pa.int64()),
        "user_id": pa.array([7] * n, pa.int64()),
        "user_is_bot": pa.array([False] * n),
        "user_first_name": pa.array(["Ana"] * n),
        "chat_id": pa.array([-100] * n, pa.int64()),
        "chat_type": pa.array(["group"] * n),
        "text": pa.array([f"old {i}" for i in message_ids]),
        "date": pa.array([epoch(day)] * n, pa.int64()),
    }
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    folder = f"context_date={day.isoformat()}"
    for name in tables.TABLES:
        enriched.delete(f"{name}/{folder}/part-00000.parquet")
    enriched.replace(f"telegram/{folder}/part-00000.parquet", sink.getvalue())
    for key in enriched.list(f"_telelake/built/{folder}"):
        enriched.delete(key)


def footer_version(enriched: Store, key: str) -> bytes | None:
    metadata = pq.read_metadata(io.BytesIO(enriched.read(key))).metadata or {}
    return metadata.get(b"telelake.table_version")


class Recorder:
    """A progress display that remembers what the driver told it."""

    def __init__(self) -> None:
        self.planned_days: list[date] = []
        self.built_days: list[date] = []

    def planned(self, days: Any) -> None:
        self.planned_days = list(days)

    def built(self, result: PartitionResult) -> None:
        self.built_days.append(result.day)


@pytest.fixture(params=["folder", "s3"])
def layers(request: pytest.FixtureRequest, tmp_path: Path) -> Layers:
    """A lake built by the real ETL: two messages on each of five days."""
    if request.param == "s3":
        request.getfixturevalue("aws_env")
        from telelake.lake.s3 import S3Store

        bucket = request.getfixturevalue("bucket")
        raw: Store = S3Store(bucket, "lake/raw")
        enriched: Store = S3Store(bucket, "lake/enriched")
    else:
        raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    for index, day in enumerate(DAYS):
        send(raw, 10 * index + 1, 10 * index + 1, day, f"new {10 * index + 1}")
        send(raw, 10 * index + 2, 10 * index + 2, day, f"new {10 * index + 2}")
    built = Layers(raw, enriched, UTC)
    run(built, workers=1)
    return built


def test_an_older_lake_is_read_then_rebuilt_by_the_default_run(layers: Layers) -> None:
    raw, enriched = layers.raw, layers.enriched
    for day in OLD:
        index = DAYS.index(day)
        old_partition(enriched, day, [10 * index + 1, 10 * index + 2])
    send(raw, 99, 43, DAYS[4], "late")  # and one date changed since its build

    # Before the rebuild: old and new partitions in one query, the missing columns NULL.
    with Engine(enriched.url) as engine:
        rows = engine.query(
            "SELECT message_id, text, sent_at IS NULL, update_id, urls, context_date "
            "FROM telegram ORDER BY message_id"
        ).rows
    expected = []
    for index, day in enumerate(DAYS):
        for m in (10 * index + 1, 10 * index + 2):
            if day in OLD:
                expected.append((m, f"old {m}", True, None, None, day))
            else:
                expected.append((m, f"new {m}", False, m, [], day))
    assert rows == expected

    status = etl_status(raw, enriched)
    by_table = {t.name: t for t in status.tables}
    assert (by_table["telegram"].partitions, by_table["telegram"].outdated) == (5, tuple(OLD))
    assert (by_table["telegram_updates"].partitions, by_table["telegram_updates"].outdated) == (
        3,
        (),
    )
    assert status.changed == [DAYS[4]]
    assert status.outdated == OLD
    assert status.planned == [*OLD, DAYS[4]]
    assert status.left_alone == []

    recorder = Recorder()
    summary = run(layers, progress=recorder, workers=1)
    assert recorder.planned_days == [DAYS[1], DAYS[3], DAYS[4]]
    if layers.remote:  # a few dates in flight at once: started oldest first, finished in any order
        assert sorted(recorder.built_days) == [DAYS[1], DAYS[3], DAYS[4]]
    else:
        assert recorder.built_days == [DAYS[1], DAYS[3], DAYS[4]]  # oldest first
    assert summary.left == []

    for day in DAYS:
        key = f"telegram/context_date={day.isoformat()}/part-00000.parquet"
        assert footer_version(enriched, key) == str(tables.TABLES["telegram"].version).encode()
    with Engine(enriched.url) as engine:
        rows = engine.query(
            "SELECT count(*), count(sent_at), count(DISTINCT context_date) FROM telegram"
        ).rows
    assert rows == [(11, 11, 5)]
    status = etl_status(raw, enriched)
    assert [len(t.outdated) for t in status.tables] == [0] * len(tables.TABLES)
    assert (status.changed, status.outdated, status.planned) == ([], [], [])
    nothing = run(layers, workers=1)
    assert (nothing.partitions, nothing.left) == ([], [])


class Counting(LocalStore):
    """A folder store that counts the calls made to it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: list[str] = []

    def list(self, prefix: str) -> list[str]:
        self.calls.append("list")
        return super().list(prefix)

    def list_dirs(self, prefix: str) -> list[str]:
        self.calls.append("list_dirs")
        return super().list_dirs(prefix)

    def read(self, key: str) -> bytes:
        self.calls.append("read")
        return super().read(key)

    def read_many(self, keys: list[str]) -> list[bytes]:
        self.calls.append("read_many")
        return super().read_many(keys)

    def exists(self, key: str) -> bool:
        self.calls.append("exists")
        return super().exists(key)


@pytest.mark.parametrize("days", [2, 40])
def test_the_default_plan_of_an_up_to_date_lake_is_a_few_listings(
    tmp_path: Path, days: int
) -> None:
    raw, enriched = Counting(tmp_path / "raw"), Counting(tmp_path / "enriched")
    for n in range(days):
        send(raw, n + 1, n + 1, date(2025, 1, 1 + n % 28).replace(month=1 + n // 28), "x")
    run(Layers(raw, enriched, UTC), workers=1)
    raw.calls.clear()
    enriched.calls.clear()
    assert plan(raw, enriched) == []
    # The change markers (two folders, each listed both ways), the raw dates, the records:
    # the same whatever the number of dates, and no file is read.
    assert sorted(raw.calls) == ["list", "list", "list_dirs", "list_dirs", "list_dirs"]
    assert enriched.calls == ["list"]


@pytest.fixture
def fresh_schemas() -> Iterator[None]:
    """Arrow schemas are cached per table: forget them around a change of the contract."""
    tables.arrow_schema.cache_clear()
    yield
    tables.arrow_schema.cache_clear()


@pytest.mark.usefixtures("fresh_schemas")
def test_a_new_table_version_makes_every_date_outdated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    for n, day in enumerate(DAYS):
        send(raw, n + 1, n + 1, day, "x")
    layers = Layers(raw, enriched, UTC)
    run(layers, workers=1)
    assert plan(raw, enriched) == []

    # The next telelake writes table telegram_reactions differently: no date has a
    # file of it (no reactions here), yet every date was built by the older writer.
    bumped = dataclasses.replace(tables.TABLES[tables.REACTIONS], version=2)
    monkeypatch.setitem(tables.TABLES, tables.REACTIONS, bumped)
    tables.arrow_schema.cache_clear()
    assert plan(raw, enriched) == DAYS
    assert [p.day for p in run(layers, workers=1).partitions] == DAYS
    assert plan(raw, enriched) == []

    messages = dataclasses.replace(tables.TABLES[tables.MESSAGES], version=3)
    monkeypatch.setitem(tables.TABLES, tables.MESSAGES, messages)
    tables.arrow_schema.cache_clear()
    assert plan(raw, enriched) == DAYS
    by_table = {t.name: t for t in etl_status(raw, enriched).tables}
    assert by_table[tables.MESSAGES].outdated == tuple(DAYS)
    assert by_table[tables.MESSAGES].version == 3
    run(layers, workers=1)
    key = f"telegram/context_date={DAYS[0].isoformat()}/part-00000.parquet"
    assert footer_version(enriched, key) == b"3"
    assert plan(raw, enriched) == []

    # Going back to an older telelake: its contract is not the one the dates were built with.
    monkeypatch.undo()
    tables.arrow_schema.cache_clear()
    assert plan(raw, enriched) == DAYS


def test_a_new_table_in_the_contract_makes_every_date_outdated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    for n, day in enumerate(DAYS):
        send(raw, n + 1, n + 1, day, "x")
    layers = Layers(raw, enriched, UTC)
    run(layers, workers=1)
    terms = tables.Table("telegram_new_table", (("term", "string"), ("uses", "bigint")))
    monkeypatch.setitem(tables.TABLES, terms.name, terms)
    # No date has a file of the new table, and none could have: they are outdated all the same.
    assert plan(raw, enriched) == DAYS
    run(layers, workers=1)
    assert plan(raw, enriched) == []
    status = etl_status(raw, enriched)
    assert [(t.name, t.partitions) for t in status.tables][-1] == ("telegram_new_table", 0)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_deleting_the_build_records_loses_nothing(tmp_path: Path) -> None:
    raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    for n, day in enumerate(DAYS):
        send(raw, n + 1, n + 1, day, f"m{n}")
    layers = Layers(raw, enriched, UTC)
    run(layers, workers=1)
    before = files(tmp_path / "enriched")
    assert len(before) == 2 * len(DAYS)  # telegram + telegram_updates

    [one] = enriched.list(f"_telelake/built/context_date={DAYS[2].isoformat()}")
    enriched.delete(one)
    assert plan(raw, enriched) == [DAYS[2]]  # rebuilt once more, no harm
    shutil.rmtree(tmp_path / "enriched" / "_telelake" / "built")
    assert plan(raw, enriched) == DAYS
    run(layers, workers=1)
    assert files(tmp_path / "enriched") == before
    assert plan(raw, enriched) == []

    # Even the whole enriched layer: the default run puts it back.
    shutil.rmtree(tmp_path / "enriched")
    assert plan(raw, enriched) == DAYS
    run(layers, workers=1)
    assert files(tmp_path / "enriched") == before


def test_a_build_that_fails_writing_its_record_stays_changed(tmp_path: Path) -> None:
    raw = LocalStore(tmp_path / "raw")
    send(raw, 1, 1, DAYS[0], "x")

    class NoRecords(LocalStore):
        def replace(self, key: str, data: bytes) -> None:
            if key.startswith("_telelake/built/"):
                raise StorageError(f"access denied writing {key}")
            super().replace(key, data)

    failing = Layers(raw, NoRecords(tmp_path / "enriched"), UTC)
    with pytest.raises(StorageError):
        build_partition(failing, DAYS[0])
    enriched = LocalStore(tmp_path / "enriched")
    assert dirty_dates(raw) == [DAYS[0]]
    assert built_dates(enriched) == set()
    assert plan(raw, enriched) == [DAYS[0]]
    run(Layers(raw, enriched, UTC), workers=1)
    assert plan(raw, enriched) == []


def test_a_date_whose_raw_data_is_gone_is_reported_not_removed(tmp_path: Path) -> None:
    raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    for n, day in enumerate(DAYS[:2]):
        send(raw, n + 1, n + 1, day, "x")
    run(Layers(raw, enriched, UTC), workers=1)
    old_partition(enriched, DAYS[0], [1])
    for key in raw.list(f"telegram/context_date={DAYS[0].isoformat()}"):
        raw.delete(key)
    # Rebuilding it would remove the partition: only --all does that, on purpose.
    assert plan(raw, enriched) == []
    status = etl_status(raw, enriched)
    assert status.left_alone == [DAYS[0]]
    assert (tmp_path / "enriched" / "telegram" / "context_date=2025-11-01").is_dir()


# Each table's version and a digest of its columns: a change to what a table holds must
# come with a new version, or lakes built before it would never be rebuilt. When a
# table changes, raise its Table.version, then record both here.
KNOWN_CONTRACT = {
    "telegram": (2, "05e2ca265b67"),
    "telegram_service": (1, "26eb90c067ae"),
    "telegram_members": (2, "a8472356c982"),
    "telegram_reactions": (1, "8cb14a8f2592"),
    "telegram_reaction_counts": (1, "b579bd08de2a"),
    "telegram_updates": (1, "69617b4c5808"),
    "telegram_rejects": (1, "2a48714966f1"),
    "telegram_chat_stats": (1, "121cc435331a"),
    "telegram_terms": (1, "99201a6655e5"),
    "telegram_topics": (1, "5badd2906cf7"),
}


def test_a_table_whose_columns_change_has_a_new_version() -> None:
    for name, table in tables.TABLES.items():
        digest = hashlib.sha256(repr(table.columns).encode()).hexdigest()[:12]
        known_version, known_digest = KNOWN_CONTRACT.get(name, (None, None))
        assert known_version is not None, f"new table {name}: record it in KNOWN_CONTRACT"
        if digest != known_digest:
            assert table.version > known_version, f"{name}'s columns changed: raise its version"
            pytest.fail(f"{name} is version {table.version} now: record it in KNOWN_CONTRACT")
        assert table.version == known_version, f"{name}: record version {table.version}"


def test_a_weeks_monday_is_not_a_date_to_build(tmp_path: Path) -> None:
    """Topics live in the partition of their week's Monday; a Monday with no raw data of its
    own is no date of the lake (building it would only write an empty partition)."""
    from telelake.etl.plan import Selection, existing_dates
    from telelake.lake.local import LocalStore
    from telelake.lake.tables import TOPICS

    raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    raw.create("telegram/context_date=2025-11-19/1.json", b'{"update_id": 1}')
    enriched.replace(f"{TOPICS}/context_date=2025-11-17/part-00000.parquet", b"PAR1")
    enriched.replace("telegram/context_date=2025-11-18/part-00000.parquet", b"PAR1")
    # 2025-11-18: a stale daily partition (its raw data is gone) is a date, to be removed.
    expected = [date(2025, 11, 18), date(2025, 11, 19)]
    assert existing_dates(raw, enriched) == expected
    assert plan(raw, enriched, Selection(everything=True)) == expected

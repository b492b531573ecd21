"""Which dates were built with today's table contract, known from one listing.

Every enriched Parquet file records the version of its table that wrote it
(:data:`telelake.lake.tables.VERSION_KEY`). Reading every file's footer on
every run to find the old ones would cost a request per file on S3, and a
footer cannot say that a date was built before a table was added (a date
with no rows for a table has no file of it, so a missing file alone means
nothing). So a build, once it has written every file of its date, also
leaves a small record in the enriched layer naming the contract it used:

    _telelake/built/context_date=YYYY-MM-DD/<contract id>.json

The contract id is a digest of every table's name and version; the record
holds them in clear. A date is current when it has a record of today's
contract; any other date with raw data is outdated: built by an older
version of a table, before a table existed, or before records existed. One
listing of the records and one of the raw dates tell them apart.

Losing a record loses nothing: its date counts as outdated and is rebuilt
once more. A record is written only after every file of its build (see
:func:`telelake.lake.changes.finish_build`), so it never vouches for files
that are not there. Dates whose raw data is gone are never called outdated:
rebuilding them would remove their partitions, which only ``telelake etl
--all`` does, on purpose.
"""

from __future__ import annotations

import hashlib
from datetime import date

import orjson

from telelake.lake.layout import RAW_PREFIX, STATE_PREFIX, date_of_key, partition_dir
from telelake.lake.storage import Store
from telelake.lake.tables import TABLES

BUILT_PREFIX = f"{STATE_PREFIX}/built"


def contract() -> dict[str, int]:
    """Every table of the contract and its version (read each time: tests change them)."""
    return {name: table.version for name, table in TABLES.items()}


def contract_id(versions: dict[str, int] | None = None) -> str:
    """A short digest naming a set of tables and their versions (default: today's)."""
    chosen = contract() if versions is None else versions
    text = ",".join(f"{name}={version}" for name, version in sorted(chosen.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_key(day: date, contract: str) -> str:
    """Where the record of ``day`` built with contract id ``contract`` lives."""
    return f"{partition_dir(BUILT_PREFIX, day)}/{contract}.json"


def record_build(enriched: Store, day: date) -> None:
    """Record that ``day`` was just built with today's contract (call after its files).

    Records of other contracts for the date are removed after this one is
    written: a crash in between leaves both, which still names the date
    current for today's contract, as it is.
    """
    versions = contract()
    current = record_key(day, contract_id(versions))
    enriched.replace(current, orjson.dumps({"tables": versions}, option=orjson.OPT_SORT_KEYS))
    for key in enriched.list(partition_dir(BUILT_PREFIX, day)):
        if key != current:
            enriched.delete(key)


def built_dates(enriched: Store) -> set[date]:
    """Dates whose last finished build used today's contract (one listing)."""
    suffix = f"/{contract_id()}.json"
    days = {date_of_key(key) for key in enriched.list(BUILT_PREFIX) if key.endswith(suffix)}
    return {day for day in days if day is not None}


def raw_dates(raw: Store) -> set[date]:
    """Dates with a raw partition (one listing of folder names)."""
    days = {date_of_key(name) for name in raw.list_dirs(RAW_PREFIX)}
    return {day for day in days if day is not None}


def outdated_dates(raw: Store, enriched: Store) -> list[date]:
    """Dates with raw data not built with today's contract, oldest first.

    Two listings, whatever the size of the lake: the raw partitions' names
    and the build records.
    """
    return sorted(raw_dates(raw) - built_dates(enriched))

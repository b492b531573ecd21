"""What ``telelake etl --status`` reports: changed and outdated partitions, per table.

The default run decides from listings alone (:func:`telelake.etl.plan.plan`);
this report also reads the footer of every enriched file, the version its
table wrote into it, so a person sees per table how much an older telelake
left behind. That costs a small read per file (concurrent, through the
layer's pyarrow file system, so an S3 lake works too), which is fine for a
command someone asks for and too much for every run.

Partitions whose footers say "older" are normally exactly the outdated dates
the default run builds. Those it leaves alone are reported apart: a date
whose raw data is gone (rebuilding it would remove its partition, which
only ``--all`` does), or one rebuilt by a telelake that wrote no build
records after a newer one had recorded it.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from telelake.errors import StorageError
from telelake.etl.plan import plan
from telelake.lake.changes import dirty_dates
from telelake.lake.layout import date_of_key
from telelake.lake.storage import Store
from telelake.lake.tables import PARTITION_COLUMN, TABLES, file_version
from telelake.lake.versions import outdated_dates

# Footers are small reads that wait on the network on S3: many at once.
FOOTER_READERS = 16

_PARTITION_FILE = re.compile(rf"^{PARTITION_COLUMN}=[^/]+/[^/]+\.parquet$")


@dataclass(frozen=True)
class TableStatus:
    """One table: its version today, its partitions, those another version wrote."""

    name: str
    version: int
    partitions: int
    outdated: tuple[date, ...]


@dataclass(frozen=True)
class EtlStatus:
    """Changed and outdated dates, what a default run builds, and each table's files."""

    changed: list[date]
    outdated: list[date]
    planned: list[date]
    tables: list[TableStatus]

    @property
    def left_alone(self) -> list[date]:
        """Dates with a file another version wrote that a default run does not build."""
        planned = set(self.planned)
        return sorted({d for t in self.tables for d in t.outdated if d not in planned})


def partition_files(enriched: Store, table: str) -> list[str]:
    """Keys of ``table``'s Parquet files in partition folders (bookkeeping is skipped)."""
    return [k for k in enriched.list(table) if _PARTITION_FILE.match(k[len(table) + 1 :])]


def etl_status(raw: Store, enriched: Store) -> EtlStatus:
    """The lake's build state; reads every enriched file's footer (see the module doc)."""
    files = {table: partition_files(enriched, table) for table in TABLES}
    every = [key for keys in files.values() for key in keys]
    versions = dict(zip(every, _file_versions(enriched, every), strict=True))
    tables = []
    for name, table in TABLES.items():
        days: dict[date, bool] = {}
        for key in files[name]:
            day = date_of_key(key)
            found = versions[key]
            if day is not None and found is not None:
                days[day] = days.get(day, False) or found != table.version
        old = tuple(sorted(day for day, outdated in days.items() if outdated))
        tables.append(TableStatus(name, table.version, len(days), old))
    return EtlStatus(
        changed=dirty_dates(raw),
        outdated=outdated_dates(raw, enriched),
        planned=plan(raw, enriched),
        tables=tables,
    )


def _file_versions(enriched: Store, keys: list[str]) -> list[int | None]:
    """The table version each file's footer records (0: none, or not a Parquet file;
    ``None``: the file went away since the listing, as a build that found no rows
    for a table removes it)."""
    if not keys:
        return []
    import pyarrow as pa
    import pyarrow.parquet as pq

    filesystem, root = enriched.arrow_location()

    def version(key: str) -> int | None:
        try:
            return file_version(pq.read_metadata(f"{root}/{key}", filesystem=filesystem).metadata)
        except FileNotFoundError:
            return None
        except pa.ArrowInvalid:
            return 0  # not a Parquet file: a rebuild replaces it
        except OSError as exc:
            raise StorageError(f"could not read {enriched.url}/{key}: {exc}") from exc

    with ThreadPoolExecutor(FOOTER_READERS) as pool:
        return list(pool.map(version, keys))

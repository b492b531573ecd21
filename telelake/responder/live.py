"""The lake as of this moment: built partitions from the enriched layer, the rest from raw.

An answer must count everything stored until the command, and the daily ETL
has built only the days before. So for the days an answer needs, a day that
is changed since its last build (a change or "building" marker of
:mod:`telelake.lake.changes`: today, always, and any day a late update
touched) is read from the raw layer and run through the same pure transform
as the ETL (with the lake's pseudonyms), in memory; every other day is read
from its Parquet files. Nothing is written, so this never races the ETL: a
marker is set before an update is acknowledged and cleared only by a build
that lists the day afterwards, so a day without a marker is complete in the
enriched layer.

Raw objects already read are kept, so asking again reads only what arrived
since (today's partition may hold a hundred thousand objects). The tables
go to an in-memory DuckDB session under their lake names.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from telelake.etl.layers import Layers
from telelake.etl.transform import transform
from telelake.lake.changes import dirty_dates
from telelake.lake.layout import RAW_PREFIX, partition_dir
from telelake.lake.segments import is_object, is_segment, read_partition
from telelake.lake.tables import PARTITION_COLUMN, TABLES, arrow_schema

log = logging.getLogger("telelake.responder")

Pair = tuple[str, bytes]


def _conform(table: pa.Table, name: str, columns: Sequence[str], day: date) -> pa.Table:
    """``columns`` of ``table`` in the contract's types (missing ones NULL), plus the date."""
    schema = arrow_schema(name)
    arrays = []
    for column in columns:
        kind = schema.field(column).type
        if column in table.column_names:
            arrays.append(table.column(column).cast(kind))
        else:
            arrays.append(pa.nulls(table.num_rows, type=kind))
    arrays.append(pa.array([day] * table.num_rows, type=pa.date32()))
    return pa.table(arrays, names=[*columns, PARTITION_COLUMN])


class LiveLake:
    """Reads of one lake for answers; keeps the raw objects of changed days it has read."""

    def __init__(self, layers: Layers) -> None:
        self.layers = layers
        self._raw: dict[date, dict[str, bytes]] = {}

    def raw_pairs(self, day: date) -> list[Pair]:
        """Every update of ``day`` in the raw layer, reading only objects not read before."""
        raw = self.layers.raw
        keys = raw.list(partition_dir(RAW_PREFIX, day))
        if any(is_segment(key) for key in keys):
            self._raw.pop(day, None)
            return read_partition(raw, day)
        known = self._raw.setdefault(day, {})
        objects = [key for key in keys if is_object(key)]
        new = [key for key in objects if key not in known]
        if new:
            try:
                known.update(zip(new, raw.read_many(new), strict=True))
            except FileNotFoundError:
                # Packed or erased while we listed: the reader that retries knows how.
                self._raw.pop(day, None)
                return read_partition(raw, day)
        listed = set(objects)
        for key in [key for key in known if key not in listed]:
            del known[key]
        return sorted(known.items())

    def forget(self) -> None:
        """Drop every raw object kept (after an erasure rewrote some)."""
        self._raw.clear()

    def tables(
        self, days: Iterable[date], wanted: Mapping[str, Sequence[str]]
    ) -> dict[str, pa.Table]:
        """For each table in ``wanted`` (name -> columns), its rows of ``days``."""
        days = sorted(set(days))
        changed = set(dirty_dates(self.layers.raw))
        # A day built since it was read comes from Parquet now: a long `run` must not keep
        # every past day's raw objects in memory.
        for day in [day for day in self._raw if day not in changed]:
            del self._raw[day]
        parts: dict[str, list[pa.Table]] = {name: [] for name in wanted}
        for day in days:
            if day in changed:
                built = transform(self.raw_pairs(day), self.layers.zone)
                if self.layers.pseudonyms is not None:
                    built = self.layers.pseudonyms.apply(built)
                for name, columns in wanted.items():
                    if name in built:
                        parts[name].append(_conform(built[name], name, columns, day))
            else:
                for name, columns in wanted.items():
                    parts[name].extend(self._built(name, columns, day))
        out = {}
        for name, columns in wanted.items():
            if parts[name]:
                out[name] = pa.concat_tables(parts[name])
            else:
                empty = pa.table(
                    {c: pa.array([], arrow_schema(name).field(c).type) for c in columns}
                )
                out[name] = _conform(empty, name, columns, days[0] if days else date.min)
        return out

    def _built(self, name: str, columns: Sequence[str], day: date) -> list[pa.Table]:
        enriched = self.layers.enriched
        keys = [k for k in enriched.list(partition_dir(name, day)) if k.endswith(".parquet")]
        if not keys:
            return []
        found = []
        for data in enriched.read_many(keys):
            file = pq.ParquetFile(io.BytesIO(data))
            present = [c for c in columns if c in file.schema_arrow.names]
            found.append(_conform(file.read(columns=present), name, columns, day))
        return found

    def session(
        self, days: Iterable[date], wanted: Mapping[str, Sequence[str]]
    ) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB session (UTC, offline) with each table under its lake name."""
        wanted = {name: columns for name, columns in wanted.items() if name in TABLES}
        tables = self.tables(days, wanted)
        con = duckdb.connect(
            ":memory:",
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
        con.execute("SET TimeZone = 'UTC'")
        for name, table in tables.items():
            con.register(name, table)
        return con

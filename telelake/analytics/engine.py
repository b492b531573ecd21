"""DuckDB over the enriched layer: every table a view, queried with plain SQL.

The engine is an in-memory DuckDB session whose views read the lake's
Hive-partitioned Parquet in place (nothing is loaded or copied), so opening
one is cheap and a query sees the files as they are when it runs. Every
table of :data:`telelake.lake.tables.TABLES` has a view even before the ETL
wrote its first file, with the right columns and no rows, so SQL written
against an empty lake fails only where it is wrong. ``telegram`` is also
reachable as ``chatbot`` and ``messages`` (the names older queries use).

A session runs in UTC (and the other :data:`dialect.SESSION_SETTINGS`), so
results never depend on the machine's time zone. One engine is one DuckDB
connection: use it from one thread at a time.

The layer is opened as a :class:`~telelake.lake.storage.Store`, which says
where pyarrow finds its files. A local folder is read by DuckDB itself; any
other layer (``s3://``) without DuckDB's httpfs extension (it would have to
be downloaded, and telelake works offline): each table's files are listed
once when the engine opens and served to DuckDB as an Arrow dataset, which
it scans with column projection and filter pushdown (a ``context_date``
filter skips other partitions' files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa
from pyarrow import fs

from telelake.analytics.dialect import (
    DUCKDB,
    FIXES,
    SESSION_MACROS,
    SESSION_SETTINGS,
    Schema,
    check_dialect,
    translate,
)
from telelake.analytics.trino_zoned import zone_info
from telelake.errors import QueryError, StorageError
from telelake.lake.manifest import recorded_zone
from telelake.lake.storage import Store, open_store
from telelake.lake.tables import MESSAGES, PARTITION_COLUMN, TABLES, arrow_schema

ALIASES: dict[str, str] = {"chatbot": MESSAGES, "messages": MESSAGES}
_PARTITION_GLOB = f"{PARTITION_COLUMN}=*/*.parquet"
_PARTITION_FILE = re.compile(rf"^{PARTITION_COLUMN}=[^/]+/[^/]+\.parquet$")


@dataclass(frozen=True)
class Result:
    """Rows of a query, as Python values (``date``, ``datetime``, ``Decimal``, lists)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def table_files(store: Store, table: str) -> list[str]:
    """Keys of every Parquet file of ``table`` in partition folders, sorted.

    Only partition folders are read (``context_date=*``), so bookkeeping
    folders and temporary files next to them are never mistaken for data.
    """
    return [key for key in store.list(table) if _PARTITION_FILE.match(key[len(table) + 1 :])]


def _dataset(files: list[str], base: str, arrow: pa.Schema, filesystem: fs.FileSystem) -> Any:
    import pyarrow.dataset as ds

    # Timestamps as microseconds: DuckDB then types them TIMESTAMP, as it
    # does reading the same files locally (Arrow milliseconds would be TIMESTAMP_MS).
    fields = [
        field.with_type(pa.timestamp("us", field.type.tz))
        if pa.types.is_timestamp(field.type)
        else field
        for field in arrow
    ]
    full = pa.schema([*fields, pa.field(PARTITION_COLUMN, pa.date32())])
    return ds.dataset(
        files,
        schema=full,
        format="parquet",
        filesystem=filesystem,
        partitioning=ds.partitioning(
            pa.schema([pa.field(PARTITION_COLUMN, pa.date32())]), flavor="hive"
        ),
        partition_base_dir=base,
    )


def duckdb_type(arrow_type: pa.DataType) -> str:
    """The DuckDB type a Parquet column of ``arrow_type`` is read as."""
    simple = {
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.string(): "VARCHAR",
        pa.large_string(): "VARCHAR",
        pa.binary(): "BLOB",
        pa.date32(): "DATE",
    }
    if arrow_type in simple:
        return simple[arrow_type]
    if pa.types.is_timestamp(arrow_type):
        # Parquet stores milli/microseconds; DuckDB reads both as TIMESTAMP.
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"{duckdb_type(arrow_type.value_type)}[]"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision}, {arrow_type.scale})"
    raise TypeError(f"no DuckDB type for Arrow type {arrow_type}")


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def _literal_glob(path: str) -> str:
    """``path`` as a DuckDB glob matching only itself: a lake named ``lake[1]``
    or ``lake*`` must never read its siblings (``[c]`` matches just ``c``)."""
    return re.sub(r"([\[*?])", r"[\1]", path)


def _files_view(glob: str, union_by_name: bool) -> str:
    return (
        f"SELECT * FROM read_parquet({_quote_string(glob)}, hive_partitioning = true, "
        f"hive_types = {{{_quote_string(PARTITION_COLUMN)}: 'DATE'}}, "
        f"union_by_name = {str(union_by_name).lower()})"
    )


def _empty_view(arrow_schema: pa.Schema) -> str:
    columns = [
        f"CAST(NULL AS {duckdb_type(field.type)}) AS {_quote_identifier(field.name)}"
        for field in arrow_schema
    ]
    columns.append(f"CAST(NULL AS DATE) AS {_quote_identifier(PARTITION_COLUMN)}")
    return f"SELECT {', '.join(columns)} WHERE false"


def _current_view(files_view: str, arrow_schema: pa.Schema) -> str:
    """The table's current columns over files of any version.

    ``UNION ALL BY NAME`` with the empty view adds, as NULL, a column no file
    has yet (every partition predates it, until the next run rebuilds them);
    the outer list keeps the current order and drops a column the contract no
    longer has, as the S3 path and Athena's DDL do. Filters and projections
    still reach the Parquet scan.
    """
    names = [_quote_identifier(field.name) for field in arrow_schema]
    names.append(_quote_identifier(PARTITION_COLUMN))
    return (
        f"SELECT {', '.join(names)} FROM ({files_view} "
        f"UNION ALL BY NAME {_empty_view(arrow_schema)})"
    )


def _in_zones(rows: list[tuple[Any, ...]], zones: tuple[str | None, ...]) -> list[tuple[Any, ...]]:
    """Rows with each Trino ``timestamp with time zone`` shown in its zone, as Athena does.

    DuckDB returns the instant (in the session zone, UTC); the zone comes
    from the translation (:class:`~telelake.analytics.dialect.Translation`).
    """
    targets = [zone_info(zone) if zone else None for zone in zones]

    def convert(value: Any, target: tzinfo | None) -> Any:
        if target is None or not isinstance(value, datetime):
            return value
        if value.tzinfo is None:
            # An instant DuckDB returned without its zone is in the session zone, UTC:
            # never let the machine's zone in (datetime.astimezone would use it).
            value = value.replace(tzinfo=UTC)
        return value.astimezone(target)

    return [tuple(convert(v, t) for v, t in zip(row, targets, strict=False)) for row in rows]


class Engine:
    """A DuckDB session over the enriched layer at ``enriched_url``.

    ``union_by_name`` lets partitions written by different versions of the
    ETL (a column added later) be read together, at the price of reading
    every file's footer when a query starts. Either way every view has the
    table's current columns: one no file has yet reads as NULL.
    """

    def __init__(self, enriched_url: str, *, union_by_name: bool = True) -> None:
        self.enriched_url = enriched_url
        self.store = open_store(enriched_url)
        self._schema: dict[str, dict[str, str]] | None = None
        # telelake works offline: DuckDB must never download an extension on
        # its own (it would try when a query names an https:// or s3:// URL).
        self._con = duckdb.connect(
            ":memory:",
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
        try:
            # A progress bar would be printed into CSV/JSON written to stdout.
            self._con.execute("SET enable_progress_bar = false")
            for name, value in SESSION_SETTINGS.items():
                self._con.execute(f"SET {name} = {_quote_string(value)}")
            for macro in SESSION_MACROS:
                self._con.execute(macro)
            self._views(union_by_name)
        except (duckdb.Error, OSError) as exc:
            # OSError: pyarrow's S3 errors (unreachable endpoint, access denied)
            self._con.close()
            raise StorageError(
                f"cannot read the enriched layer at {enriched_url}: {_first_line(exc)}"
            ) from exc
        except BaseException:
            self._con.close()
            raise

    def _views(self, union_by_name: bool) -> None:
        """A view per table (and alias) over its files, or with no rows when it has none."""
        filesystem, root = self.store.arrow_location()
        local = isinstance(filesystem, fs.LocalFileSystem)
        for table in TABLES:
            name = _quote_identifier(table)
            if local:
                folder = Path(root) / table
                if next(folder.glob(_PARTITION_GLOB), None) is not None:
                    glob = f"{_literal_glob(str(folder))}/{_PARTITION_GLOB}"
                    scan = _files_view(glob, union_by_name)
                    view = _current_view(scan, arrow_schema(table))
                    self._con.execute(f"CREATE VIEW {name} AS {view}")
                    continue
            elif files := table_files(self.store, table):
                # Every file is read with the table's current schema: a column
                # an older partition lacks reads as NULL (union_by_name, locally).
                paths = [f"{root}/{key}" for key in files]
                data = _dataset(paths, f"{root}/{table}/", arrow_schema(table), filesystem)
                self._con.register(table, data)
                continue
            self._con.execute(f"CREATE VIEW {name} AS {_empty_view(arrow_schema(table))}")
        for alias, table in ALIASES.items():
            target = _quote_identifier(table)
            self._con.execute(f"CREATE VIEW {_quote_identifier(alias)} AS SELECT * FROM {target}")

    def recorded_zone(self) -> str | None:
        """The time zone the lake's local-time columns were built in, when it says."""
        return recorded_zone(self.store)

    def query(self, sql: str, dialect: str = DUCKDB) -> Result:
        """Run ``sql`` written in ``dialect``; DuckDB's complaints become :class:`QueryError`."""
        name = check_dialect(dialect)
        zones: tuple[str | None, ...] = ()
        duck_sql = sql
        if name != DUCKDB:
            translation = translate(sql, DUCKDB, FIXES, self.schema())
            duck_sql, zones = translation.sql, translation.zones
        try:
            cursor = self._con.execute(duck_sql)
            if cursor is None or cursor.description is None:
                return Result(columns=[], rows=[])
            columns = [str(column[0]) for column in cursor.description]
            rows = [tuple(row) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            # Trino's runtime errors raised by the translation come as DuckDB "Invalid Input".
            raise QueryError(_first_line(exc).removeprefix("Invalid Input Error: ")) from exc
        if any(zones):
            rows = _in_zones(rows, zones)
        return Result(columns=columns, rows=rows)

    def schema(self) -> Schema:
        """Every view's columns and DuckDB types (read once, then cached)."""
        if self._schema is None:
            found: dict[str, dict[str, str]] = {}
            try:
                rows = self._con.execute(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
                ).fetchall()
            except duckdb.Error as exc:
                raise QueryError(_first_line(exc)) from exc
            for table, column, data_type in rows:
                found.setdefault(str(table), {})[str(column)] = str(data_type)
            self._schema = found
        return self._schema

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

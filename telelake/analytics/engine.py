"""DuckDB over the enriched layer: every table a view, queried with plain SQL.

The engine is an in-memory DuckDB session whose views read the lake's
Hive-partitioned Parquet in place (nothing is loaded or copied), so opening
one is cheap and a query sees the files as they are when it runs. Every
table of :data:`telelake.etl.schema.TABLES` has a view even before the ETL
wrote its first file, with the right columns and no rows, so SQL written
against an empty lake fails only where it is wrong. ``telegram`` is also
reachable as ``chatbot`` and ``messages`` (the names older queries use).

A session runs in UTC (and the other :data:`dialect.SESSION_SETTINGS`), so
results never depend on the machine's time zone. One engine is one DuckDB
connection: use it from one thread at a time.

An ``s3://`` layer is read without DuckDB's httpfs extension (it would have
to be downloaded, and telelake works offline): each table's files are listed
once when the engine opens, and pyarrow's S3 filesystem serves them to
DuckDB as an Arrow dataset, which DuckDB scans with column projection and
filter pushdown (a ``context_date`` filter skips other partitions' files).
Endpoint, region and credentials come from the same AWS settings as the
rest of telelake (``AWS_ENDPOINT_URL``, the standard credential chain).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa

from telelake.analytics.dialect import DUCKDB, SESSION_SETTINGS, Schema, check_dialect, to_duckdb
from telelake.errors import ConfigError, QueryError, StorageError
from telelake.etl import schema

ALIASES: dict[str, str] = {"chatbot": schema.MESSAGES, "messages": schema.MESSAGES}
PARTITION_COLUMN = "context_date"
_PARTITION_GLOB = f"{PARTITION_COLUMN}=*/*.parquet"
_PARTITION_FILE = re.compile(rf"^{PARTITION_COLUMN}=[^/]+/[^/]+\.parquet$")


@dataclass(frozen=True)
class Result:
    """Rows of a query, as Python values (``date``, ``datetime``, ``Decimal``, lists)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def table_glob(enriched_url: str, table: str) -> str | None:
    """Where DuckDB finds ``table``'s files, or ``None`` when it has none yet.

    The one place that knows how a layer URL maps to a DuckDB path. Only
    partition folders are read (``context_date=*``), so bookkeeping folders
    and temporary files next to them are never mistaken for data. For an
    ``s3://`` layer the glob names the objects :func:`s3_table_files` lists
    (DuckDB cannot open it itself: :class:`Engine` reads them through Arrow).
    """
    if "://" in enriched_url:
        scheme, _, rest = enriched_url.partition("://")
        if scheme == "s3":
            if not s3_table_files(enriched_url, table):
                return None
            return f"{enriched_url.rstrip('/')}/{table}/{_PARTITION_GLOB}"
        if scheme != "file":
            raise ConfigError(
                f"{enriched_url}: querying {scheme}:// lakes is not supported; "
                "use a local folder or s3://bucket/prefix"
            )
        enriched_url = rest
    folder = Path(enriched_url).expanduser().resolve() / table
    if next(folder.glob(_PARTITION_GLOB), None) is None:
        return None
    return f"{folder}/{_PARTITION_GLOB}"


def s3_table_files(enriched_url: str, table: str, store: Any = None) -> list[str]:
    """``bucket/key`` of every Parquet file of ``table`` in an ``s3://`` layer, sorted.

    ``store`` (an :class:`~telelake.lake.s3.S3Store` of ``enriched_url``) saves
    building a client per table.
    """
    from telelake.lake.s3 import S3Store

    if store is None:
        store = S3Store.from_url(enriched_url)
    base = f"{store.bucket}/{store.prefix}/" if store.prefix else f"{store.bucket}/"
    found: list[str] = []
    for key in store.list(table):
        inner = key[len(table) + 1 :]
        if _PARTITION_FILE.match(inner):
            found.append(f"{base}{key}")
    return found


def s3_filesystem() -> Any:
    """pyarrow's S3 filesystem set up from the AWS settings boto3 resolves.

    boto3 resolves the credential chain (profiles, SSO, roles, environment)
    and region; pyarrow gets them explicitly, so both read the same account,
    and it never probes the EC2 metadata service for a region.
    """
    import boto3
    from pyarrow import fs

    session = boto3.session.Session()
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    options: dict[str, Any] = {"region": session.region_name or "us-east-1"}
    if frozen is not None:
        options.update(
            access_key=frozen.access_key,
            secret_key=frozen.secret_key,
            session_token=frozen.token,
        )
    else:
        options["anonymous"] = True
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        options.update(scheme=parts.scheme or "https", endpoint_override=parts.netloc + parts.path)
    return fs.S3FileSystem(**options)


def _s3_dataset(files: list[str], base: str, arrow_schema: pa.Schema, filesystem: Any) -> Any:
    import pyarrow.dataset as ds

    # Timestamps as microseconds: DuckDB then types them TIMESTAMP, as it
    # does reading the same files locally (Arrow milliseconds would be TIMESTAMP_MS).
    fields = [
        field.with_type(pa.timestamp("us", field.type.tz))
        if pa.types.is_timestamp(field.type)
        else field
        for field in arrow_schema
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


class Engine:
    """A DuckDB session over the enriched layer at ``enriched_url``.

    ``union_by_name`` lets partitions written by different versions of the
    ETL (a column added later) be read together, at the price of reading
    every file's footer when a query starts.
    """

    def __init__(self, enriched_url: str, *, union_by_name: bool = True) -> None:
        self.enriched_url = enriched_url
        self._schema: dict[str, dict[str, str]] | None = None
        self._s3: Any = None
        self._s3_store: Any = None
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
            for table, arrow_schema in schema.TABLES.items():
                if enriched_url.startswith("s3://") and self._register_s3(table, arrow_schema):
                    continue
                glob = None if enriched_url.startswith("s3://") else table_glob(enriched_url, table)
                body = _files_view(glob, union_by_name) if glob else _empty_view(arrow_schema)
                self._con.execute(f"CREATE VIEW {_quote_identifier(table)} AS {body}")
            for alias, table in ALIASES.items():
                self._con.execute(
                    f"CREATE VIEW {_quote_identifier(alias)} AS "
                    f"SELECT * FROM {_quote_identifier(table)}"
                )
        except duckdb.Error as exc:
            self._con.close()
            raise StorageError(
                f"cannot read the enriched layer at {enriched_url}: {_first_line(exc)}"
            ) from exc
        except OSError as exc:
            # pyarrow's S3 errors (unreachable endpoint, access denied)
            self._con.close()
            raise StorageError(
                f"cannot read the enriched layer at {enriched_url}: {_first_line(exc)}"
            ) from exc
        except BaseException:
            self._con.close()
            raise

    def _register_s3(self, table: str, arrow_schema: pa.Schema) -> bool:
        """Make ``table`` of an S3 layer an Arrow dataset view; ``False`` if it has no files."""
        from telelake.lake.s3 import S3Store

        if self._s3_store is None:
            self._s3_store = S3Store.from_url(self.enriched_url)
        files = s3_table_files(self.enriched_url, table, self._s3_store)
        if not files:
            return False
        if self._s3 is None:
            self._s3 = s3_filesystem()
        # Every file is read with the table's current schema: a column that
        # an older partition lacks reads as NULL (what union_by_name does locally).
        base = files[0][: -len(files[0].split(f"/{table}/")[-1])]
        self._con.register(table, _s3_dataset(files, base, arrow_schema, self._s3))
        return True

    def query(self, sql: str, dialect: str = DUCKDB) -> Result:
        """Run ``sql`` written in ``dialect``; DuckDB's complaints become :class:`QueryError`."""
        name = check_dialect(dialect)
        duck_sql = to_duckdb(sql, name, self.schema() if name != DUCKDB else None)
        try:
            cursor = self._con.execute(duck_sql)
            if cursor is None or cursor.description is None:
                return Result(columns=[], rows=[])
            columns = [str(column[0]) for column in cursor.description]
            rows = [tuple(row) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            raise QueryError(_first_line(exc)) from exc
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

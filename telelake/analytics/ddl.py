"""Athena/Glue DDL for the enriched layer: every table, partition projection, named queries;
and, for people who query raw JSON, a table over the raw layer.

The enriched layer is plain Hive-partitioned Parquet (DESIGN §4), so Athena
reads it through one ``CREATE EXTERNAL TABLE`` per table. Partition
projection computes the partitions from the date range instead of reading
them from the Glue catalog, so a new day's partition is queryable the moment
its file lands: no ``MSCK REPAIR TABLE``, no crawler (DESIGN §6).

Column types come from :data:`telelake.lake.tables.TABLES`, the same Arrow
schemas the ETL writes, through :func:`athena_type`; a test compares the
generated DDL with the Parquet files' own schemas.
"""

from __future__ import annotations

import re
from datetime import date

import pyarrow as pa

from telelake.analytics.reports import REPORTS
from telelake.errors import UsageError
from telelake.lake.tables import PARTITION_COLUMN, TABLES, arrow_schema

DEFAULT_DATABASE = "telelake"
# Telegram's launch: no group has a message before it.
DEFAULT_SINCE = "2013-08-14"
# The range ends a day after "now" (UTC): in zones east of UTC the lake's
# local date is already tomorrow's for part of the day, and those messages
# must be visible at once. A day with no folder simply has no rows.
RANGE_END = "NOW+1DAYS"

_SIMPLE: dict[pa.DataType, str] = {
    pa.int8(): "tinyint",
    pa.int16(): "smallint",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.float32(): "float",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.string(): "string",
    pa.large_string(): "string",
    pa.binary(): "binary",
    pa.large_binary(): "binary",
    pa.date32(): "date",
}


def athena_type(arrow_type: pa.DataType) -> str:
    """The Athena (Hive DDL) type of a Parquet column written from ``arrow_type``.

    Timestamps must be milli- or microseconds: Athena cannot read Parquet
    nanosecond timestamps correctly, so they are refused here rather than
    described with a type Athena would misread.
    """
    if arrow_type in _SIMPLE:
        return _SIMPLE[arrow_type]
    if pa.types.is_timestamp(arrow_type):
        if arrow_type.unit not in ("ms", "us"):
            raise TypeError(f"{arrow_type}: Athena reads ms or us Parquet timestamps only")
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{athena_type(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        fields = [arrow_type.field(i) for i in range(arrow_type.num_fields)]
        return "struct<" + ",".join(f"{f.name}:{athena_type(f.type)}" for f in fields) + ">"
    if pa.types.is_map(arrow_type):
        return f"map<{athena_type(arrow_type.key_type)},{athena_type(arrow_type.item_type)}>"
    raise TypeError(f"no Athena type for Arrow type {arrow_type}")


def table_columns(table: str) -> list[tuple[str, str]]:
    """``(name, Athena type)`` of every stored column of ``table`` (not the partition)."""
    if table not in TABLES:
        raise UsageError(f"unknown table {table!r}; choose one of: {', '.join(TABLES)}")
    return [(field.name, athena_type(field.type)) for field in arrow_schema(table)]


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(f"{name!r} is not a valid Athena name (letters, digits, underscore)")
    return name


def _string(text: str) -> str:
    return "'" + text.replace("'", "\\'") + "'"


def create_table_ddl(
    table: str, location: str, database: str = DEFAULT_DATABASE, since: str = DEFAULT_SINCE
) -> str:
    """``CREATE EXTERNAL TABLE`` for ``table`` whose partitions are below ``location``.

    ``location`` is the enriched layer's root (``s3://bucket/prefix``); the
    table's files are under ``<location>/<table>/context_date=YYYY-MM-DD/``.
    ``since`` is the first date partition projection considers.
    """
    root = f"{location.rstrip('/')}/{table}"
    properties = {"classification": "parquet", **_projection(root, since)}
    columns = ",\n".join(f"  `{name}` {kind}" for name, kind in table_columns(table))
    props = ",\n".join(f"  {_string(k)} = {_string(v)}" for k, v in properties.items())
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{_identifier(database)}`.`{_identifier(table)}` (\n"
        f"{columns}\n)\n"
        f"PARTITIONED BY (`{PARTITION_COLUMN}` date)\n"
        "STORED AS PARQUET\n"
        f"LOCATION {_string(root + '/')}\n"
        f"TBLPROPERTIES (\n{props}\n)"
    )


def _projection(root: str, since: str) -> dict[str, str]:
    """Partition projection over ``<root>/context_date=YYYY-MM-DD/`` from ``since`` on."""
    try:
        date.fromisoformat(since)
    except ValueError:
        raise UsageError(f"--since must be a date YYYY-MM-DD, got {since!r}") from None
    return {
        "projection.enabled": "true",
        f"projection.{PARTITION_COLUMN}.type": "date",
        f"projection.{PARTITION_COLUMN}.range": f"{since},{RANGE_END}",
        f"projection.{PARTITION_COLUMN}.format": "yyyy-MM-dd",
        f"projection.{PARTITION_COLUMN}.interval": "1",
        f"projection.{PARTITION_COLUMN}.interval.unit": "DAYS",
        "storage.location.template": f"{root}/{PARTITION_COLUMN}=${{{PARTITION_COLUMN}}}/",
    }


# The raw table: one row per stored update, read by the OpenX JSON SerDe from
# segments (gzip'd JSON Lines, named *.gz) and objects alike. Each update kind
# of the Bot API's Update object is a string column holding that part's JSON
# (the SerDe returns a nested object declared as string as its JSON text), for
# json_extract(); an update of a kind added later reads as NULLs but its id.
RAW_TABLE = "telegram_raw"
RAW_SERDE = "org.openx.data.jsonserde.JsonSerDe"
UPDATE_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)


def raw_columns() -> list[tuple[str, str]]:
    return [("update_id", "bigint"), *((kind, "string") for kind in UPDATE_KINDS)]


def create_raw_table_ddl(
    location: str, database: str = DEFAULT_DATABASE, since: str = DEFAULT_SINCE
) -> str:
    """``CREATE EXTERNAL TABLE`` over the raw layer at ``location`` (``s3://bucket/prefix``):
    its ``telegram/context_date=YYYY-MM-DD/`` folders, segments and objects alike.

    Lines that are not one JSON object are skipped (``ignore.malformed.json``):
    an object Telegram's webhook delivered holds a line break, so until it is
    compacted (the segment writes it on one line) its two halves are skipped.
    """
    root = f"{location.rstrip('/')}/telegram"
    columns = ",\n".join(f"  `{name}` {kind}" for name, kind in raw_columns())
    properties = {"classification": "json", **_projection(root, since)}
    props = ",\n".join(f"  {_string(k)} = {_string(v)}" for k, v in properties.items())
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{_identifier(database)}`.`{RAW_TABLE}` (\n"
        f"{columns}\n)\n"
        f"PARTITIONED BY (`{PARTITION_COLUMN}` date)\n"
        f"ROW FORMAT SERDE {_string(RAW_SERDE)}\n"
        f"WITH SERDEPROPERTIES (\n  {_string('ignore.malformed.json')} = 'true'\n)\n"
        f"LOCATION {_string(root + '/')}\n"
        f"TBLPROPERTIES (\n{props}\n)"
    )


def raw_script(location: str, database: str = DEFAULT_DATABASE, since: str = DEFAULT_SINCE) -> str:
    """The raw table's DDL (after its database), with example queries as comments."""
    parts = [
        create_database_ddl(database) + ";",
        create_raw_table_ddl(location, database, since) + ";",
        "-- An update can be held twice for a while (in a segment and as an object: a\n"
        "-- re-delivery, a compaction not finished): count it once.\n"
        f"-- SELECT context_date, count(DISTINCT update_id) AS updates FROM {RAW_TABLE}\n"
        "--   GROUP BY context_date ORDER BY context_date;\n"
        "-- SELECT update_id, json_extract_scalar(message, '$.text') AS text\n"
        f"--   FROM {RAW_TABLE} WHERE context_date = DATE '2026-11-28' AND message IS NOT NULL;",
    ]
    return "\n\n".join(parts) + "\n"


def create_database_ddl(database: str = DEFAULT_DATABASE) -> str:
    return f"CREATE DATABASE IF NOT EXISTS `{_identifier(database)}`"


def named_queries() -> list[tuple[str, str, str]]:
    """``(name, description, sql)`` of every built-in report, as Athena runs it."""
    return [(report.name, report.title, report.sql) for report in REPORTS]


def athena_script(
    location: str, database: str = DEFAULT_DATABASE, since: str = DEFAULT_SINCE
) -> str:
    """The whole DDL script: database, every table, and the reports as commented queries.

    Statements end with ``;`` and blank lines, so the script can be pasted
    into the Athena console one statement at a time or split on ``;\\n``.
    The reports read ``FROM "telegram"``: run them with ``database`` selected.
    """
    parts = [create_database_ddl(database) + ";"]
    parts += [create_table_ddl(t, location, database, since) + ";" for t in TABLES]
    for name, description, sql in named_queries():
        body = "\n".join(f"--   {line}" for line in sql.splitlines())
        parts.append(f"-- Named query {name}: {description}\n{body}")
    return "\n\n".join(parts) + "\n"

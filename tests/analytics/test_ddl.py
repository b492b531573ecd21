"""The Athena DDL describes exactly what the ETL writes, and needs no MSCK REPAIR.

A real lake is built by the ETL from raw updates of every kind; the DDL is
parsed back with sqlglot (Athena's DDL is Hive's) and each table's columns
are compared with the Parquet files' own schemas, mapped to Athena types by
the table of Athena's documented Parquet type mapping below (not by the code
under test).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from telelake.analytics.ddl import (
    athena_script,
    athena_type,
    create_table_ddl,
    named_queries,
    table_columns,
)
from telelake.analytics.reports import REPORTS
from telelake.config import load_settings
from telelake.errors import UsageError
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.lake import tables
from telelake.lake.changes import mark_dirty
from telelake.lake.layout import raw_key
from telelake.lake.storage import LocalStore
from telelake.telegram.snapshot import snapshot_record

DAY = date(2024, 6, 15)
SENT = 1718456400  # 2024-06-15 13:00 UTC
CHAT = {"id": -1001, "type": "supergroup", "title": "G"}
USER = {"id": 7, "is_bot": False, "first_name": "Ana"}

UPDATES: list[dict[str, Any]] = [
    {"update_id": 1, "message": {"message_id": 1, "from": USER, "chat": CHAT, "date": SENT,
                                 "text": "#tag @ana https://x.org",
                                 "entities": [{"type": "hashtag", "offset": 0, "length": 4},
                                              {"type": "mention", "offset": 5, "length": 4},
                                              {"type": "url", "offset": 10, "length": 13}]}},
    {"update_id": 2, "edited_message": {"message_id": 1, "from": USER, "chat": CHAT, "date": SENT,
                                        "edit_date": SENT + 60, "text": "edited"}},
    {"update_id": 3, "message": {"message_id": 2, "from": USER, "chat": CHAT, "date": SENT,
                                 "new_chat_members": [USER]}},
    {"update_id": 4, "chat_member": {
        "chat": CHAT, "from": USER, "date": SENT,
        "old_chat_member": {"user": USER, "status": "left"},
        "new_chat_member": {"user": USER, "status": "member"}}},
    {"update_id": 5, "message_reaction": {
        "chat": CHAT, "message_id": 1, "user": USER, "date": SENT, "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": "👍"}]}},
    {"update_id": 6, "message_reaction_count": {
        "chat": CHAT, "message_id": 1, "date": SENT,
        "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 2}]}},
    # No chat: set aside into telegram_rejects.
    {"update_id": 7, "message": {"message_id": 3, "date": SENT, "text": "no chat"}},
    # A member-count snapshot (telegram/snapshot.py): telegram_chat_stats.
    snapshot_record(CHAT["id"], DAY, SENT, 42),
]  # fmt: skip
# Three people on two subjects, enough for telegram_topics (telelake/etl/text/topics.py).
UPDATES += [
    {"update_id": 100 + i, "message": {
        "message_id": 100 + i, "chat": CHAT, "date": SENT + i,
        "from": {"id": 20 + i % 3, "is_bot": False, "first_name": f"P{i % 3}"},
        "text": ("pizza queijo forno massa" if i % 2 else "servidor banco dados backup")
                + f" rodada{i}"}}
    for i in range(24)
]  # fmt: skip

# Athena's Parquet type mapping ("Data types in Athena", Parquet SerDe):
# INT64 -> bigint, BOOLEAN -> boolean, BYTE_ARRAY UTF8 -> string,
# TIMESTAMP(MILLIS|MICROS) -> timestamp, LIST -> array<element>.
PARQUET_TO_ATHENA = {
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.string(): "string",
    pa.timestamp("ms"): "timestamp",
    pa.timestamp("us"): "timestamp",
    pa.list_(pa.string()): "array<string>",
    pa.list_(pa.field("element", pa.string())): "array<string>",
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ddl") / "lake"
    settings = load_settings({"lake": str(root)}, env={})
    raw, enriched = LocalStore(settings.raw_url), LocalStore(settings.enriched_url)
    for item in UPDATES:
        raw.create(raw_key(item["update_id"], DAY), orjson.dumps(item))
    mark_dirty(raw, DAY)
    run(Layers(raw, enriched, settings.zone), workers=1)
    return root / "enriched"


def parsed(ddl: str) -> exp.Create:
    statement = sqlglot.parse_one(ddl, read="athena")
    assert isinstance(statement, exp.Create)
    return statement


def ddl_columns(statement: exp.Create) -> list[tuple[str, str]]:
    return [
        (column.name, column.args["kind"].sql(dialect="hive").lower())
        for column in statement.this.expressions
    ]


def ddl_properties(statement: exp.Create) -> dict[str, str]:
    found: dict[str, str] = {}
    for prop in statement.args["properties"].expressions:
        if isinstance(prop, exp.LocationProperty):
            found["LOCATION"] = prop.this.name
        elif type(prop) is exp.Property:  # TBLPROPERTIES entries (subclasses are clauses)
            found[prop.name] = prop.text("value")
    return found


@pytest.mark.parametrize("table", list(tables.TABLES))
def test_ddl_columns_match_the_parquet_files(lake: Path, table: str) -> None:
    files = sorted((lake / table).glob("context_date=*/*.parquet"))
    assert files, f"the ETL wrote no file for {table}: the fixture must cover it"
    for file in files:
        stored = pq.read_schema(file)
        expected = [(field.name, PARQUET_TO_ATHENA[field.type]) for field in stored]
        statement = parsed(create_table_ddl(table, "s3://bucket/lake/enriched"))
        assert ddl_columns(statement) == expected
        # Athena misreads Parquet nanosecond timestamps: every engine must get ms.
        metadata = pq.ParquetFile(file).schema
        for index, field in enumerate(stored):
            if pa.types.is_timestamp(field.type):
                logical = str(metadata.column(index).logical_type)
                assert "milliseconds" in logical and "isAdjustedToUTC=false" in logical, logical


@pytest.mark.parametrize("table", list(tables.TABLES))
def test_partition_projection_needs_no_msck_repair(table: str) -> None:
    statement = parsed(
        create_table_ddl(table, "s3://bucket/lake/enriched/", database="chats", since="2024-01-01")
    )
    assert statement.this.this.sql(dialect="athena") == f'"chats"."{table}"'
    partitioned = statement.find(exp.PartitionedByProperty)
    assert partitioned is not None
    [column] = partitioned.this.expressions
    assert (column.name, column.args["kind"].sql(dialect="hive")) == ("context_date", "DATE")
    assert "STORED AS PARQUET" in statement.sql(dialect="hive").upper()
    root = f"s3://bucket/lake/enriched/{table}"
    assert ddl_properties(statement) == {
        "LOCATION": f"{root}/",
        "classification": "parquet",
        "projection.enabled": "true",
        "projection.context_date.type": "date",
        "projection.context_date.range": "2024-01-01,NOW+1DAYS",
        "projection.context_date.format": "yyyy-MM-dd",
        "projection.context_date.interval": "1",
        "projection.context_date.interval.unit": "DAYS",
        # The same layout the ETL writes (DESIGN §4).
        "storage.location.template": f"{root}/context_date=${{context_date}}/",
    }


def test_athena_types() -> None:
    assert athena_type(pa.int64()) == "bigint"
    assert athena_type(pa.int32()) == "int"
    assert athena_type(pa.timestamp("ms")) == "timestamp"
    assert athena_type(pa.date32()) == "date"
    assert athena_type(pa.list_(pa.list_(pa.int64()))) == "array<array<bigint>>"
    nested = pa.struct([("emoji", pa.string()), ("count", pa.int64())])
    assert athena_type(nested) == "struct<emoji:string,count:bigint>"
    assert athena_type(pa.list_(nested)) == "array<struct<emoji:string,count:bigint>>"
    with pytest.raises(TypeError, match="ms or us"):
        athena_type(pa.timestamp("ns"))
    assert table_columns("telegram")[:8] == [
        ("message_id", "bigint"), ("user_id", "bigint"), ("user_is_bot", "boolean"),
        ("user_first_name", "string"), ("chat_id", "bigint"), ("chat_type", "string"),
        ("text", "string"), ("date", "bigint"),
    ]  # fmt: skip
    with pytest.raises(UsageError, match="unknown table"):
        table_columns("nope")


def test_bad_names_and_dates_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="valid Athena name"):
        create_table_ddl("telegram", "s3://b/e", database="x; DROP")
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        create_table_ddl("telegram", "s3://b/e", since="yesterday")


def test_named_queries_are_the_reports_verbatim() -> None:
    assert named_queries() == [(r.name, r.title, r.sql) for r in REPORTS]
    for _, _, sql in named_queries():
        sqlglot.parse_one(sql, read="athena")  # valid Athena SQL


def test_script_statements_all_parse() -> None:
    script = athena_script("s3://bucket/enriched")
    statements = [s for s in sqlglot.parse(script, read="athena") if s is not None]
    creates = [s for s in statements if isinstance(s, exp.Create)]
    assert [s.args["kind"] for s in creates] == ["DATABASE"] + ["TABLE"] * len(tables.TABLES)
    for name, _, _ in named_queries():
        assert f"-- Named query {name}:" in script


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telelake", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_prints_the_ddl_for_an_s3_lake() -> None:
    done = cli("athena-ddl", "--enriched", "s3://my-bucket/enriched", "--since", "2024-01-01")
    assert done.returncode == 0, done.stderr
    assert done.stdout == athena_script("s3://my-bucket/enriched", since="2024-01-01")


def test_cli_refuses_a_local_lake_in_one_line(tmp_path: Path) -> None:
    done = cli("athena-ddl", "--lake", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "s3://" in done.stderr


# The Bot API's Update object (core.telegram.org/bots/api#update), every optional
# field: one column per update kind, besides update_id.
BOT_API_UPDATE_FIELDS = [
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
]


def test_the_raw_table_reads_segments_and_objects_with_the_json_serde() -> None:
    from telelake.analytics.ddl import create_raw_table_ddl, raw_script

    ddl = create_raw_table_ddl("s3://raw-bucket/raw/", database="chats", since="2024-01-01")
    statement = parsed(ddl)
    assert statement.this.this.sql(dialect="athena") == '"chats"."telegram_raw"'
    assert ddl_columns(statement) == [
        ("update_id", "bigint"),
        *((kind, "string") for kind in BOT_API_UPDATE_FIELDS),
    ]
    partitioned = statement.find(exp.PartitionedByProperty)
    assert partitioned is not None
    [column] = partitioned.this.expressions
    assert (column.name, column.args["kind"].sql(dialect="hive")) == ("context_date", "DATE")
    serde = statement.find(exp.RowFormatSerdeProperty)
    assert serde is not None and serde.this.name == "org.openx.data.jsonserde.JsonSerDe"
    # Webhook objects hold a line break until compacted: their halves are skipped.
    assert {p.name: p.text("value") for p in serde.args["serde_properties"].expressions} == {
        "ignore.malformed.json": "true"
    }
    root = "s3://raw-bucket/raw/telegram"
    assert ddl_properties(statement) == {
        "LOCATION": f"{root}/",
        "classification": "json",
        "projection.enabled": "true",
        "projection.context_date.type": "date",
        "projection.context_date.range": "2024-01-01,NOW+1DAYS",
        "projection.context_date.format": "yyyy-MM-dd",
        "projection.context_date.interval": "1",
        "projection.context_date.interval.unit": "DAYS",
        # Raw partitions as ingest writes them (DESIGN §4): objects and segments.
        "storage.location.template": f"{root}/context_date=${{context_date}}/",
    }
    script = raw_script("s3://raw-bucket/raw")
    creates = [s for s in sqlglot.parse(script, read="athena") if isinstance(s, exp.Create)]
    assert [s.args["kind"] for s in creates] == ["DATABASE", "TABLE"]
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        create_raw_table_ddl("s3://b/raw", since="soon")


def test_cli_prints_the_raw_table_for_an_s3_raw_layer() -> None:
    from telelake.analytics.ddl import raw_script

    done = cli("athena-ddl", "--raw-table", "--raw", "s3://my-bucket/raw")
    assert done.returncode == 0, done.stderr
    assert done.stdout == raw_script("s3://my-bucket/raw")
    done = cli(
        "athena-ddl", "--raw-table", "--raw-location", "s3://other/raw", "--since", "2025-01-01"
    )
    assert done.stdout == raw_script("s3://other/raw", since="2025-01-01")
    local = cli("athena-ddl", "--raw-table", "--raw", "/tmp/raw")
    assert local.returncode == 2
    assert local.stderr.count("\n") == 1 and "raw layer's s3://" in local.stderr

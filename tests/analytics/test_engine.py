"""The DuckDB engine over real Parquet folders: views, types, aliases, errors, time zone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from telelake.analytics.engine import Engine, Result, duckdb_type
from telelake.errors import QueryError, UsageError
from telelake.lake import tables


def describe(engine: Engine, view: str) -> list[tuple[str, str]]:
    rows = engine.query(f'DESCRIBE "{view}"').rows
    return [(str(row[0]), str(row[1])) for row in rows]


def test_every_table_has_an_empty_view_before_any_file(tmp_path: Path) -> None:
    with Engine(str(tmp_path / "never-written")) as engine:
        for table, definition in tables.TABLES.items():
            assert engine.query(f'SELECT count(*) FROM "{table}"').rows == [(0,)]
            names = [name for name, _ in describe(engine, table)]
            assert names == [*definition.names, "context_date"]
            assert dict(describe(engine, table))["context_date"] == "DATE"


def test_empty_views_have_the_types_duckdb_reads_from_parquet(lake, tmp_path: Path) -> None:
    for table in tables.TABLES:
        lake.write("2024-01-01", [{}], table)  # one row of NULLs, written with the schema
    with Engine(str(tmp_path / "empty")) as empty, Engine(str(lake.root)) as full:
        for table in tables.TABLES:
            assert describe(empty, table) == describe(full, table), table
            assert full.query(f'SELECT count(*) FROM "{table}"').rows == [(1,)]


def test_chatbot_and_messages_are_the_telegram_table(sample_lake) -> None:
    with Engine(str(sample_lake.root)) as engine:
        for view in ("telegram", "chatbot", "messages"):
            rows = engine.query(f"SELECT message_id FROM {view} ORDER BY message_id").rows
            assert rows == [(i,) for i in range(1, 8)], view


def test_context_date_comes_from_the_path_as_a_date(sample_lake) -> None:
    with Engine(str(sample_lake.root)) as engine:
        result = engine.query(
            "SELECT context_date, typeof(context_date), count(*) FROM telegram "
            "GROUP BY ALL ORDER BY 1"
        )
    assert result == Result(
        columns=["context_date", "typeof(context_date)", "count_star()"],
        rows=[(date(2024, 1, 7), "DATE", 4), (date(2024, 1, 8), "DATE", 3)],
    )


def test_partitions_written_with_an_older_schema_are_read_together(lake) -> None:
    # A partition from before a column existed: the column reads as NULL there.
    older = pa.schema(
        [field for field in tables.arrow_schema(tables.MESSAGES) if field.name != "urls"]
    )
    lake.write("2024-01-01", [{"message_id": 1}], arrow_schema=older)
    lake.write("2024-01-02", [{"message_id": 2, "urls": ["https://example.org"]}])
    with Engine(str(lake.root)) as engine:
        rows = engine.query("SELECT message_id, urls FROM telegram ORDER BY 1").rows
    assert rows == [(1, None), (2, ["https://example.org"])]


def test_a_column_no_partition_has_yet_reads_as_null(lake) -> None:
    # Every partition predates "urls" (until the next run rebuilds them), and one
    # holds a column the contract has since dropped: the view is the current table.
    current = tables.arrow_schema(tables.MESSAGES)
    older = pa.schema([field for field in current if field.name != "urls"])
    dropped = older.append(pa.field("retired", pa.string()))
    lake.write("2024-01-01", [{"message_id": 1}], arrow_schema=older)
    lake.write("2024-01-02", [{"message_id": 2, "retired": "x"}], arrow_schema=dropped)
    with Engine(str(lake.root)) as engine:
        rows = engine.query("SELECT message_id, urls FROM telegram ORDER BY 1").rows
        names = [name for name, _ in describe(engine, tables.MESSAGES)]
        filtered = engine.query(
            "SELECT message_id FROM telegram WHERE context_date = DATE '2024-01-02'"
        ).rows
    assert rows == [(1, None), (2, None)]
    assert names == [*tables.TABLES[tables.MESSAGES].names, "context_date"]
    assert filtered == [(2,)]


def test_files_outside_partition_folders_are_ignored(sample_lake) -> None:
    stray = sample_lake.root / "telegram" / "_scratch"
    stray.mkdir()
    (stray / "junk.parquet").write_bytes(b"not parquet")
    (sample_lake.root / "telegram" / "context_date=2024-01-07" / ".tmp-1234").write_bytes(b"x")
    with Engine(str(sample_lake.root)) as engine:
        assert engine.query("SELECT count(*) FROM telegram").rows == [(7,)]


def test_a_layer_is_read_from_a_path_or_a_file_url(sample_lake, tmp_path: Path) -> None:
    root = sample_lake.root
    for url in (str(root), f"file://{root}"):
        with Engine(url) as engine:
            assert engine.query("SELECT count(*) FROM telegram").rows == [(7,)]
            # No files yet: the view exists, with no rows.
            assert engine.query("SELECT count(*) FROM telegram_members").rows == [(0,)]
    with pytest.raises(UsageError, match="gs://"):
        Engine("gs://bucket/enriched")


@pytest.mark.parametrize(
    ("sql", "dialect", "fragment"),
    [
        ("SELEC 1", "duckdb", "syntax error"),
        ("SELECT no_such_column FROM telegram", "duckdb", "no_such_column"),
        ("SELECT * FROM no_such_table", "duckdb", "no_such_table"),
        ("SELECT count(*) FROM telegram WHERE", "athena", "cannot parse"),
        ("SELECT 'unterminated", "athena", "cannot parse"),
        ("SELECT no_such_column FROM telegram", "athena", "no_such_column"),
    ],
)
def test_bad_sql_is_a_one_line_query_error(
    sample_lake, sql: str, dialect: str, fragment: str
) -> None:
    with Engine(str(sample_lake.root)) as engine, pytest.raises(QueryError) as caught:
        engine.query(sql, dialect)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message
    assert "\x1b" not in message  # no terminal colour codes from sqlglot


def test_unknown_dialect_is_a_usage_error(tmp_path: Path) -> None:
    with Engine(str(tmp_path)) as engine, pytest.raises(UsageError, match="athena"):
        engine.query("SELECT 1", "mysql")


def test_statements_without_rows_give_an_empty_result(tmp_path: Path) -> None:
    with Engine(str(tmp_path)) as engine:
        assert engine.query("").rows == []
        engine.query("CREATE TABLE scratch AS SELECT 1 AS x")
        assert engine.query("SELECT x FROM scratch") == Result(columns=["x"], rows=[(1,)])


def test_close_is_idempotent(tmp_path: Path) -> None:
    engine = Engine(str(tmp_path))
    engine.close()
    engine.close()
    with pytest.raises(QueryError):
        engine.query("SELECT 1")


def test_duckdb_type_refuses_types_it_does_not_know() -> None:
    assert duckdb_type(pa.list_(pa.string())) == "VARCHAR[]"
    assert duckdb_type(pa.timestamp("ms")) == "TIMESTAMP"
    with pytest.raises(TypeError):
        duckdb_type(pa.struct([("a", pa.int64())]))


_TZ_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import duckdb
    from telelake.analytics.engine import Engine

    machine = duckdb.connect().sql("SELECT current_setting('TimeZone')").fetchall()[0][0]
    with Engine(sys.argv[1]) as engine:
        hours = engine.query(
            "SELECT hour(from_unixtime(date)) FROM telegram WHERE message_id = 4", "athena"
        ).rows
        stamps = engine.query(
            "SELECT CAST(to_timestamp(date) AS VARCHAR) FROM telegram WHERE message_id = 4"
        ).rows
    print(json.dumps({"machine": machine, "hours": hours, "stamps": stamps}))
    """
)


def test_results_do_not_depend_on_the_machine_time_zone(sample_lake) -> None:
    env = {**os.environ, "TZ": "America/Sao_Paulo"}
    done = subprocess.run(
        [sys.executable, "-c", _TZ_SCRIPT, str(sample_lake.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    # The machine zone really is São Paulo here, or this test would prove nothing.
    assert found["machine"] == "America/Sao_Paulo"
    # Message 4 was sent 2024-01-08 00:30 UTC (21:30 the day before in São Paulo).
    assert found["hours"] == [[0]]
    assert found["stamps"] == [["2024-01-08 00:30:00+00"]]

"""Apache Spark reads the same lake and, through the Spark translation, gives Athena's rows.

A lake is built by the real ingest core and ETL from simulated group traffic
(two weeks in São Paulo: Sundays, edits, re-deliveries, messages without
text, late-evening messages whose UTC date is the next day) plus a few
hand-made adversarial messages. Spark (local mode, one core, no UI, no
network) reads the enriched layer with Hive partition discovery and runs the
original four queries translated by :func:`telelake.analytics.spark.to_spark`;
every row must equal DuckDB's with Athena semantics, which
tests/analytics/test_original_queries.py checks against hand-computed Athena
results.
"""

from __future__ import annotations

import calendar
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from telelake.analytics.engine import Engine
from telelake.analytics.reports import REPORTS, run_report, sorted_sql
from telelake.analytics.spark import SPARK_CONF, register_lake, to_spark
from telelake.config import load_settings
from telelake.demo.simulator import simulate
from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore

ZONE = "America/Sao_Paulo"
ORIGINAL = {
    "messages_per_day": ("context_date",),
    "messages_per_user_per_day": ("context_date",),
    "average_length_per_user_per_day": ("context_date",),
    "messages_per_hour_weekday_week": ("parsed_date_weeknum", "parsed_date_weekday"),
}


def _java_missing() -> str | None:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java not on PATH, JAVA_HOME unset): Spark cannot start"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (a dev dependency)"
    return None


pytestmark = pytest.mark.skipif(_java_missing() is not None, reason=_java_missing() or "")


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0))


CHAT = {"id": -1009, "type": "supergroup", "title": "Spark"}
ADVERSARIAL = [
    # Names with a comma and quotes, CJK; averages ending in .5; Sunday 23:30 local.
    ({"id": 9001, "is_bot": False, "first_name": 'Ana, "la"'}, utc(2025, 11, 16, 13), "hi"),
    ({"id": 9001, "is_bot": False, "first_name": 'Ana, "la"'}, utc(2025, 11, 16, 14), "hey"),
    ({"id": 9002, "is_bot": False, "first_name": "山田"}, utc(2025, 11, 17, 2, 30), "こんにちは！"),
    ({"id": 9002, "is_bot": False, "first_name": "山田"}, utc(2025, 11, 17, 2, 45), "日本語"),
    ({"id": 9003, "is_bot": False, "first_name": "O'Brien"}, utc(2025, 11, 17, 0, 5), None),
]


def build_lake(root: Path, zone: str) -> Path:
    settings = load_settings({"lake": str(root), "timezone": zone}, env={})
    raw, enriched = LocalStore(settings.raw_url), LocalStore(settings.enriched_url)
    ingestor = Ingestor(settings, raw)
    traffic = simulate(seed=3, users=40, days=14, messages_per_day=60, end=date(2025, 11, 23))
    for body in traffic.bodies:
        ingestor.accept(body)
    for index, (user, sent, text) in enumerate(ADVERSARIAL):
        message: dict[str, Any] = {"message_id": 10**6 + index, "from": user, "chat": CHAT,
                                   "date": sent}  # fmt: skip
        if text is None:
            message["photo"] = [{"file_id": "p", "file_unique_id": "q", "width": 1, "height": 1}]
        else:
            message["text"] = text
        ingestor.accept(orjson.dumps({"update_id": 10**9 + index, "message": message}))
    run(Layers(raw, enriched, settings.zone), workers=1)
    return root / "enriched"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("spark") / "lake", ZONE)


@contextmanager
def local_session(app: str, memory: str = "512m") -> Iterator[Any]:
    """Spark in local mode on one core, bound to loopback, with telelake's settings."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[1]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
    )
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="module")
def spark(lake: Path) -> Iterator[Any]:
    with local_session("telelake-test") as session:
        register_lake(session, lake)
        yield session


@pytest.fixture(scope="module")
def duck(lake: Path) -> Iterator[Engine]:
    with Engine(str(lake)) as engine:
        yield engine


def spark_rows(spark: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    frame = spark.sql(sql)
    return list(frame.columns), [tuple(row) for row in frame.collect()]


@pytest.mark.parametrize("name", list(ORIGINAL))
def test_spark_returns_the_athena_rows(spark: Any, duck: Engine, name: str) -> None:
    [report] = [r for r in REPORTS if r.name == name]
    expected = duck.query(report.sql, "athena")
    columns, rows = spark_rows(spark, to_spark(report.sql))
    assert columns == expected.columns
    assert len(rows) > 10
    keys = [columns.index(c) for c in ORIGINAL[name]]
    # ORDER BY respected exactly; rows tied on it may come in any order.
    assert [tuple(r[i] for i in keys) for r in rows] == [
        tuple(r[i] for i in keys) for r in expected.rows
    ]
    assert Counter(rows) == Counter(expected.rows)


def test_the_lake_has_what_makes_engines_disagree(duck: Engine) -> None:
    rows = duck.query(
        "SELECT count_if(day_of_week(context_date) = 7), "
        "count_if(avg_len - floor(avg_len) = 0.5), "
        "count_if(utc_day <> context_date) FROM ("
        "  SELECT context_date, avg(length(text)) AS avg_len, "
        "         max(CAST(from_unixtime(date) AS date)) AS utc_day "
        "  FROM telegram GROUP BY user_id, context_date)",
        "athena",
    ).rows
    sundays, halves, shifted = rows[0]
    assert sundays > 0 and halves > 0 and shifted > 0


def test_spark_sees_partitions_and_millisecond_timestamps(spark: Any, duck: Engine) -> None:
    types = dict(spark.table("telegram").dtypes)
    assert types["context_date"] == "date"
    assert types["sent_at"] in ("timestamp_ntz", "timestamp")
    sql = "SELECT message_id, chat_id, sent_at, context_date FROM telegram"
    _, rows = spark_rows(spark, f"{sql} WHERE sent_at IS NOT NULL")
    expected = duck.query(sql).rows
    assert len(rows) == len(expected) > 100
    # Wall times read back exactly (UTC, to the millisecond), whatever the machine's zone.
    assert Counter(rows) == Counter(expected)


def test_sunday_is_seven_in_spark_too(spark: Any) -> None:
    sql = to_spark(
        "SELECT EXTRACT(dow FROM DATE '2024-01-07'), day_of_week(DATE '2024-01-08'), "
        "CAST(2.5e0 AS INTEGER), CAST(-2.5e0 AS INTEGER), 7 / 2, -7 / 2, "
        "EXTRACT(week FROM DATE '2021-01-03'), EXTRACT(year_of_week FROM DATE '2021-01-03'), "
        "hour(from_unixtime(1704673800))"
    )
    _, rows = spark_rows(spark, sql)
    # Trino: ISO weekday, half away from zero, truncating division, ISO week, UTC session.
    assert rows == [(7, 1, 3, -3, 3, -3, 53, 2020, 0)]


def test_spark_reads_partitions_an_older_telelake_wrote(spark: Any, tmp_path: Path) -> None:
    # One date built by the ETL, one as telelake wrote it before table versions:
    # the original design's eight columns only, written here with pyarrow alone.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from telelake.lake.layout import raw_key

    raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    chat = {"id": -100, "type": "group", "title": "G"}
    sender = {"id": 7, "is_bot": False, "first_name": "Ana"}
    sent = utc(2025, 11, 21, 12)
    new = {"message_id": 2, "from": sender, "chat": chat, "date": sent, "text": "new"}
    raw.create(raw_key(2, date(2025, 11, 21)), orjson.dumps({"update_id": 2, "message": new}))
    run(Layers(raw, enriched, load_settings({}, env={}).zone), Selection(everything=True))
    old = pa.table({
        "message_id": pa.array([1], pa.int64()), "user_id": pa.array([7], pa.int64()),
        "user_is_bot": [False], "user_first_name": ["Ana"],
        "chat_id": pa.array([-100], pa.int64()), "chat_type": ["group"], "text": ["old"],
        "date": pa.array([utc(2025, 11, 20, 12)], pa.int64()),
    })  # fmt: skip
    folder = tmp_path / "enriched" / "telegram" / "context_date=2025-11-20"
    folder.mkdir(parents=True)
    pq.write_table(old, folder / "part-00000.parquet")

    session = spark.newSession()  # its own temporary views; the module's lake stays registered
    register_lake(session, tmp_path / "enriched")
    _, rows = spark_rows(
        session,
        "SELECT message_id, text, sent_at, update_id, urls, context_date FROM telegram "
        "ORDER BY message_id",
    )
    assert rows == [
        (1, "old", None, None, None, date(2025, 11, 20)),
        (2, "new", datetime(2025, 11, 21, 12), 2, [], date(2025, 11, 21)),
    ]
    # A table no date has a file of yet (as one added to the contract) is an empty view.
    assert spark_rows(session, "SELECT count(*) FROM telegram_reaction_counts")[1] == [(0,)]


def test_spark_agrees_on_a_lake_east_of_utc(spark: Any, tmp_path: Path) -> None:
    """The same traffic partitioned in Tokyo (UTC+9): the four queries, every row in order.

    The reports run as ``telelake report`` runs them (sorted in full by SQL,
    :func:`sorted_sql`), so Spark and DuckDB must agree on the order too.
    """
    east = build_lake(tmp_path / "lake", "Asia/Tokyo")
    session = spark.newSession()
    register_lake(session, east)
    with Engine(str(east)) as duck:
        shifted = duck.query(
            "SELECT count_if(CAST(from_unixtime(date) AS date) <> context_date) FROM telegram",
            "athena",
        ).rows[0][0]
        assert shifted > 0  # messages whose Tokyo date is the next UTC day
        for name in ORIGINAL:
            [report] = [r for r in REPORTS if r.name == name]
            expected = run_report(duck, report)
            columns, rows = spark_rows(session, to_spark(sorted_sql(report)))
            assert columns == expected.columns
            assert rows == expected.rows, name

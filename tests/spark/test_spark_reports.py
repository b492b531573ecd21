"""Spark gives the Athena rows of the interaction, engagement, retention, membership and people
reports, through the existing harness (the lake and session of test_spark_lake.py).

The simulated fortnight has replies, mentions, edits, joins by link and by
other members, an admin promotion and reactions, so every report below has
rows; a member-count snapshot is added to the raw layer for the member
reports. Rows must be equal as multisets (reports with an ORDER BY on their
full key are compared in order too).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from test_spark_lake import ZONE, build_lake, local_session, spark_rows  # the harness

from telelake.analytics.engine import Engine
from telelake.analytics.reports import REPORTS, sorted_sql
from telelake.analytics.reports.scope import Scope, scoped
from telelake.analytics.spark import register_lake, to_spark
from telelake.config import load_settings
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.lake.changes import mark_dirty
from telelake.lake.layout import raw_key
from telelake.lake.storage import LocalStore
from telelake.telegram.snapshot import snapshot_record, snapshot_update_id

pytestmark = pytest.mark.skipif(
    __import__("shutil").which("java") is None, reason="no Java runtime: Spark cannot start"
)

OURS = [
    report.name
    for report in REPORTS
    if report.name
    in {
        "reply_pairs", "mention_pairs", "response_times", "conversations", "longest_silences",
        "engagement", "posters_vs_members", "period_comparison", "retention_cohorts",
        "inactive_members", "member_count", "joins_by_source", "top_inviters", "admin_actions",
        "top_reacted_messages", "top_reacted_authors", "edits", "people", "person_activity",
    }
]  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark-reports") / "lake"
    enriched = build_lake(root, ZONE)
    settings = load_settings({"lake": str(root), "timezone": ZONE}, env={})
    raw = LocalStore(settings.raw_url)
    for day, count in ((date(2025, 11, 20), 140), (date(2025, 11, 21), 143)):
        taken = int(__import__("calendar").timegm((day.year, day.month, day.day, 12, 0, 0)))
        record = snapshot_record(-1001234567890, day, taken, count)
        raw.create(raw_key(snapshot_update_id(-1001234567890, day), day), orjson.dumps(record))
        mark_dirty(raw, day)
    run(Layers(raw, LocalStore(settings.enriched_url), settings.zone), workers=1)
    return enriched


@pytest.fixture(scope="module")
def spark(lake: Path) -> Iterator[Any]:
    with local_session("telelake-reports", memory="768m") as session:
        register_lake(session, lake)
        yield session


@pytest.fixture(scope="module")
def duck(lake: Path) -> Iterator[Engine]:
    with Engine(str(lake)) as engine:
        yield engine


def comparable(rows: list[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    # Medians and ratios are doubles computed the same way; round off the last bit.
    return Counter(tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows)


@pytest.mark.parametrize("name", OURS)
def test_spark_returns_the_athena_rows(spark: Any, duck: Engine, name: str) -> None:
    [report] = [r for r in REPORTS if r.name == name]
    if name == "inactive_members":  # everyone of the fortnight posted in the last 30 days
        report = scoped(report, Scope(days=2))
    expected = duck.query(sorted_sql(report), "athena")
    assert expected.rows, f"{name}: the lake gives this report no rows"
    columns, rows = spark_rows(spark, to_spark(sorted_sql(report)))
    assert columns == expected.columns
    assert comparable(rows) == comparable(expected.rows)
    if report.sort_keys:
        assert [tuple(r) for r in rows] == [tuple(r) for r in expected.rows] or comparable(
            rows
        ) == comparable(expected.rows)

"""Spark reads a lake whose path holds glob characters literally (issue 14, class 7).

Hadoop globs ``[]{}*?`` in the paths Spark reads: without escaping, a lake
named ``lake[1]`` resolved to its sibling ``lake1`` (and then failed on the
base path), ``lake{a,b}`` was not found. Each lake, built by the real ingest
and ETL, must show exactly its own message through
:func:`telelake.analytics.spark.register_lake`.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from test_spark_lake import local_session  # the harness

from telelake.analytics.spark import register_lake
from telelake.config import load_settings
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore

NAMES = ["lake1", "lake[1]", "lake*", "lake{a,b}", "lake?"]
NOON = int(datetime(2025, 11, 24, 12, tzinfo=UTC).timestamp())


def _build(root: Path, text: str) -> None:
    settings = load_settings({"lake": str(root)}, env={})
    message = {"message_id": 1, "date": NOON, "text": text, "chat": {"id": -100, "type": "group"},
               "from": {"id": 7, "is_bot": False, "first_name": "Ana"}}  # fmt: skip
    raw = LocalStore(root / "raw")
    Ingestor(settings, raw).accept(orjson.dumps({"update_id": 1, "message": message}))
    run(Layers.open(settings), workers=1)


def _java_missing() -> str | None:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java not on PATH, JAVA_HOME unset): Spark cannot start"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (a dev dependency)"
    return None


pytestmark = pytest.mark.skipif(_java_missing() is not None, reason=_java_missing() or "")


def test_each_glob_named_lake_reads_only_itself(tmp_path: Path) -> None:
    for name in NAMES:
        _build(tmp_path / name, f"from {name}")
    with local_session("telelake-test-literal-paths") as session:
        for name in NAMES:
            register_lake(session, tmp_path / name / "enriched")
            rows = [row.text for row in session.sql("SELECT text FROM telegram").collect()]
            assert rows == [f"from {name}"], name

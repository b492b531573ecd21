"""A lake's path is literal everywhere: glob characters never read other lakes (issue 14, class 7).

Sibling lakes whose names are globs of each other (``lake[1]`` matches
``lake1``; ``lake*`` and ``lake?`` match every one) each hold one message of
their own text. Built by the real ingest and ETL, each must read back exactly
its own message, through the engine behind ``query``, ``report`` and the
page, and through ``telelake query`` as a process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from telelake.analytics.engine import Engine
from telelake.config import load_settings
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore

NAMES = ["lake1", "lake2", "lake[1]", "lake*", "lake?", "lake[!x]"]
NOON = int(datetime(2025, 11, 24, 12, tzinfo=UTC).timestamp())


def _build(root: Path, text: str) -> None:
    settings = load_settings({"lake": str(root)}, env={})
    message = {"message_id": 1, "date": NOON, "text": text, "chat": {"id": -100, "type": "group"},
               "from": {"id": 7, "is_bot": False, "first_name": "Ana"}}  # fmt: skip
    Ingestor(settings, LocalStore(root / "raw")).accept(
        orjson.dumps({"update_id": 1, "message": message})
    )
    run(Layers.open(settings), workers=1)


def test_each_lake_reads_only_its_own_rows(tmp_path: Path) -> None:
    for name in NAMES:
        _build(tmp_path / name, f"from {name}")
    for name in NAMES:
        with Engine(str(tmp_path / name / "enriched")) as engine:
            rows = engine.query("SELECT text FROM telegram").rows
            updates = engine.query("SELECT count(*) FROM telegram_updates").rows
        assert rows == [(f"from {name}",)], name
        assert updates == [(1,)], name


def test_telelake_query_on_a_glob_named_lake(tmp_path: Path) -> None:
    for name in ("lake1", "lake[1]"):
        _build(tmp_path / name, f"from {name}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    result = subprocess.run(
        [sys.executable, "-m", "telelake", "query", "SELECT text FROM telegram",
         "--format", "csv", "--lake", "lake[1]"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["text", "from lake[1]"]

"""The whole local pipeline, unchanged, on s3:// layers: real `telelake serve`, `etl`, `query`.

Simulated group traffic (re-deliveries included) is POSTed over HTTP to a
`telelake serve` child process whose lake is a bucket of the moto server;
`telelake etl` and `telelake query` run as child processes on the same URLs.
The message count must equal the simulation's ground truth, and the S3
engine must give the same answers as DuckDB over a local copy of the files.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from telelake.analytics.engine import Engine
from telelake.analytics.reports import REPORTS, run_report
from telelake.demo.simulator import simulate
from telelake.lake.s3 import S3Store
from telelake.lake.storage import LocalStore

pytestmark = pytest.mark.slow


def telelake(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "telelake", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_serve_etl_query_on_s3(
    aws_env: dict[str, str],
    bucket: str,
    serve_webhook: Callable[..., Any],
    aws_child_env: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> None:
    lake = f"s3://{bucket}/lake"
    traffic = simulate(seed=3, users=25, days=3, messages_per_day=60, timezone="UTC")
    server = serve_webhook(lake)
    for body in traffic.bodies:
        response = server.post(body)
        assert response.status_code == 200, response.text
    env = aws_child_env()
    telelake(env, tmp_path, "etl", "--lake", lake)
    sql = "SELECT count(*) AS n, count(DISTINCT context_date) AS days FROM telegram"
    out = telelake(env, tmp_path, "query", "--lake", lake, "--format", "csv", sql)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert int(rows[0]["n"]) == traffic.messages
    assert int(rows[0]["days"]) >= 3

    # The same files read locally: every report gives the same rows.
    copy = LocalStore(tmp_path / "copy")
    remote = S3Store(bucket, "lake/enriched")
    for key in remote.list(""):
        copy.replace(key, remote.read(key))
    with Engine(f"{lake}/enriched") as on_s3, Engine(str(tmp_path / "copy")) as local:
        assert on_s3.schema() == local.schema()
        for report in REPORTS:
            assert run_report(on_s3, report) == run_report(local, report), report.name
        pruned = on_s3.query(
            "SELECT count(*) FROM telegram WHERE context_date = "
            "(SELECT min(context_date) FROM telegram)"
        ).rows[0][0]
        assert 0 < pruned < traffic.messages

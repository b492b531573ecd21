"""One process on S3 (the ETL Lambda) builds a few dates at once in threads, and writes
exactly what one date after another writes in a folder.

What S3 holds is read with a client that talks to moto directly, never through
the code under test.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from telelake.etl import runner
from telelake.etl.layers import Layers
from telelake.etl.partition import PartitionResult
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.lake.local import LocalStore
from telelake.lake.s3 import S3Store

UTC_ZONE = ZoneInfo("UTC")
FIRST = date(2026, 3, 2)
DAYS = [FIRST + timedelta(days=i) for i in range(7)]


def updates() -> dict[str, bytes]:
    """Seven days of a few messages, replies and an edit, keyed as the raw layer keys them."""
    objects: dict[str, bytes] = {}
    update_id = 0
    for day in DAYS:
        for n in range(12):
            update_id += 1
            sent = int(datetime(day.year, day.month, day.day, 9 + n, tzinfo=UTC).timestamp())
            message: dict[str, Any] = {
                "message_id": update_id,
                "from": {"id": 100 + n % 3, "is_bot": False, "first_name": f"P{n % 3}"},
                "chat": {"id": -100, "type": "supergroup", "title": "g"},
                "date": sent,
                "text": f"bom dia {update_id} 😀",
            }
            if n % 4 == 3:
                message["reply_to_message"] = {**message, "message_id": update_id - 1}
            kind = "edited_message" if n == 11 else "message"
            if n == 11:
                message = {**message, "message_id": update_id - 1, "edit_date": sent}
            body = orjson.dumps({"update_id": update_id, kind: message})
            objects[f"telegram/context_date={day.isoformat()}/{update_id}.json"] = body
    return objects


def test_dates_in_flight_on_s3_write_the_bytes_of_one_date_at_a_time(
    aws_env: dict[str, str], s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = updates()
    local_raw = LocalStore(tmp_path / "raw")
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=f"raw/{key}", Body=body)
        local_raw.create(key, body)

    # Count the builds running at once (the real build runs inside).
    real_build = runner.build_partition
    lock, running, most = threading.Lock(), [0], [0]

    def counted(*args: Any, **kwargs: Any) -> PartitionResult:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real_build(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(runner, "build_partition", counted)
    remote = Layers(S3Store(bucket, "raw"), S3Store(bucket, "enriched"), UTC_ZONE)
    summary = run(remote, Selection(everything=True), workers=1)
    assert sorted(p.day for p in summary.partitions) == DAYS and summary.left == []
    assert 1 < most[0] <= runner.REMOTE_DATES_IN_FLIGHT

    monkeypatch.setattr(runner, "build_partition", real_build)
    local = Layers(local_raw, LocalStore(tmp_path / "enriched"), UTC_ZONE)
    assert not local.remote
    run(local, Selection(everything=True), workers=1)

    expected = {
        path.relative_to(tmp_path / "enriched").as_posix(): path.read_bytes()
        for path in (tmp_path / "enriched").rglob("context_date=*/*.parquet")
    }
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="enriched/"):
        for item in page.get("Contents", ()):
            key = item["Key"].removeprefix("enriched/")
            if "/context_date=" in key and key.endswith(".parquet") and "_telelake" not in key:
                found[key] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    assert len(expected) >= len(DAYS) * 2
    assert found.keys() == expected.keys()
    differing = [key for key in expected if found[key] != expected[key]]
    assert differing == []

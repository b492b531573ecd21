"""A faulty network between telelake and S3: never a 2xx for an update S3 does not hold,
never a half partition.

Requests go through the fault proxy of conftest.py, which resets connections
(before or after moto acted on the request), answers 500 or 501, cuts bodies
short or stalls. What S3 really holds is checked with a client that talks to
moto directly.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from telelake.config import load_settings
from telelake.errors import StorageError
from telelake.etl.layers import Layers
from telelake.etl.partition import build_partition
from telelake.ingest.core import Ingestor
from telelake.lake.changes import dirty_dates
from telelake.lake.layout import table_key
from telelake.lake.s3 import S3Store

DAY = date(2026, 11, 20)


def update(update_id: int, text: str = "olá 👋") -> bytes:
    sent = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp())
    return orjson.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "from": {"id": 7, "is_bot": False, "first_name": "Ana"},
                "chat": {"id": -100, "type": "supergroup", "title": "g"},
                "date": sent,
                "text": text,
            },
        }
    )


def stored(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body


@pytest.fixture
def via_proxy(aws_env: dict[str, str], fault_proxy: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    return fault_proxy


def ingestor(bucket: str, **store_options: Any) -> Ingestor:
    settings = load_settings({"raw": f"s3://{bucket}/raw"}, env={})
    return Ingestor(settings, S3Store(bucket, "raw", **store_options))


def raw_object_key(update_id: int) -> str:
    return f"raw/telegram/context_date={DAY.isoformat()}/{update_id}.json"


def test_reset_before_the_put_is_retried_and_stored(via_proxy: Any, s3: Any, bucket: str) -> None:
    failed: list[str] = []

    def rule(method: str, path: str, headers: dict[str, str]) -> str:
        if method == "PUT" and path.endswith("/1.json") and not failed:
            failed.append(path)
            return "reset"
        return "pass"

    via_proxy.rule = rule
    receipt = ingestor(bucket).accept(update(1))
    assert failed, "the fault was never injected"
    assert receipt.outcome == "stored"
    assert stored(s3, bucket, raw_object_key(1)) == update(1)


def test_reset_after_s3_stored_it_is_a_duplicate_not_a_conflict(
    via_proxy: Any, s3: Any, bucket: str
) -> None:
    """The PUT landed but its answer was lost: the retry's 412 plus a byte compare say "ours"."""
    failed: list[str] = []

    def rule(method: str, path: str, headers: dict[str, str]) -> str:
        if method == "PUT" and path.endswith("/2.json") and not failed:
            failed.append(path)
            return "reset-after"
        return "pass"

    via_proxy.rule = rule
    receipt = ingestor(bucket).accept(update(2))
    assert failed
    assert receipt.outcome == "duplicate"
    assert stored(s3, bucket, raw_object_key(2)) == update(2)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="raw/telegram/")["Contents"]
    assert [item["Key"] for item in listed] == [raw_object_key(2)]


def test_s3_failing_every_put_is_a_storage_error_and_nothing_stored(
    via_proxy: Any, s3: Any, bucket: str
) -> None:
    via_proxy.rule = lambda method, path, headers: "status:500" if method == "PUT" else "pass"
    with pytest.raises(StorageError) as info:
        ingestor(bucket, max_attempts=3).accept(update(3))
    assert info.value.retryable
    assert "InternalError" in str(info.value)
    assert stored(s3, bucket, raw_object_key(3)) is None
    puts = [seen for seen in via_proxy.seen if seen[0] == "PUT"]
    assert len(puts) == 3, "botocore should have tried max_attempts times"


def test_a_store_without_conditional_puts_falls_back_to_head_then_put(
    via_proxy: Any, s3: Any, bucket: str
) -> None:
    def rule(method: str, path: str, headers: dict[str, str]) -> str:
        return "status:501" if method == "PUT" and "if-none-match" in headers else "pass"

    via_proxy.rule = rule
    store = S3Store(bucket)
    assert store.create("k/1.json", b"one") is True
    assert not store.conditional_writes
    assert store.create("k/1.json", b"two") is False
    assert stored(s3, bucket, "k/1.json") == b"one"


def test_a_body_cut_short_is_read_again(via_proxy: Any, s3: Any, bucket: str) -> None:
    payload = bytes(range(256)) * 400
    s3.put_object(Bucket=bucket, Key="big.bin", Body=payload)
    cut: list[str] = []

    def rule(method: str, path: str, headers: dict[str, str]) -> str:
        if method == "GET" and path.endswith("/big.bin") and len(cut) < 2:
            cut.append(path)
            return "truncate"
        return "pass"

    via_proxy.rule = rule
    assert S3Store(bucket).read("big.bin") == payload
    assert len(cut) == 2


def test_a_stalled_store_times_out_into_a_storage_error(
    via_proxy: Any, s3: Any, bucket: str
) -> None:
    via_proxy.rule = lambda method, path, headers: "delay:3" if method == "PUT" else "pass"
    with pytest.raises(StorageError):
        ingestor(bucket, timeout=0.5, max_attempts=2).accept(update(4))


def test_slow_but_answering_store_still_stores(via_proxy: Any, s3: Any, bucket: str) -> None:
    via_proxy.rule = lambda method, path, headers: "delay:0.3"
    assert ingestor(bucket).accept(update(5)).outcome == "stored"
    assert stored(s3, bucket, raw_object_key(5)) == update(5)


def test_under_random_faults_every_acknowledged_update_is_stored(
    via_proxy: Any, s3: Any, bucket: str
) -> None:
    rng = random.Random(5)
    faults = ["reset", "reset-after", "status:500", "status:503", "truncate"]

    def rule(method: str, path: str, headers: dict[str, str]) -> str:
        return rng.choice(faults) if rng.random() < 0.3 else "pass"

    via_proxy.rule = rule
    target = ingestor(bucket, max_attempts=2)
    acknowledged: dict[int, bytes] = {}
    refused = 0
    for update_id in range(100, 160):
        body = update(update_id, text=f"message {update_id}")
        for _attempt in range(2):  # Telegram retries what was not acknowledged
            try:
                target.accept(body)
            except StorageError:
                refused += 1
                continue
            acknowledged[update_id] = body
            break
    injected = [seen for seen in via_proxy.seen if seen[2] != "pass"]
    assert len(injected) > 10 and refused > 0, "the faults did not bite"
    assert acknowledged, "nothing got through at all"
    for update_id, body in acknowledged.items():
        assert stored(s3, bucket, raw_object_key(update_id)) == body, update_id


def parquet_rows(data: bytes) -> int:
    rows: int = pq.read_table(io.BytesIO(data)).num_rows
    return rows


def test_a_failed_partition_put_leaves_the_old_file_and_the_date_dirty(
    via_proxy: Any, s3: Any, bucket: str
) -> None:
    settings = load_settings({"lake": f"s3://{bucket}/lake"}, env={})
    raw, enriched = S3Store(bucket, "lake/raw"), S3Store(bucket, "lake/enriched", max_attempts=2)
    ingest = Ingestor(settings, raw)
    for update_id in range(1, 6):
        ingest.accept(update(update_id))
    build_partition(Layers(raw, enriched, settings.zone), DAY)
    messages_key = f"lake/enriched/{table_key('telegram', DAY)}"
    updates_key = f"lake/enriched/{table_key('telegram_updates', DAY)}"
    before = {key: stored(s3, bucket, key) for key in (messages_key, updates_key)}
    assert before[messages_key] is not None and parquet_rows(before[messages_key]) == 5

    for update_id in range(6, 9):
        ingest.accept(update(update_id))

    def rule(method: str, path: str, headers: dict[str, str]) -> str:
        return "reset" if method == "PUT" and "telegram_updates/" in path else "pass"

    via_proxy.rule = rule
    with pytest.raises(StorageError):
        build_partition(Layers(raw, enriched, settings.zone), DAY)
    after = stored(s3, bucket, updates_key)
    assert after == before[updates_key], "a failed PUT must leave the previous file whole"
    messages_now = stored(s3, bucket, messages_key)
    assert messages_now is not None and parquet_rows(messages_now) in (5, 8)
    assert dirty_dates(raw) == [DAY], "the failed date must be rebuilt by the next run"

    via_proxy.rule = lambda method, path, headers: "pass"
    build_partition(Layers(raw, enriched, settings.zone), DAY)
    rebuilt = stored(s3, bucket, updates_key)
    assert rebuilt is not None and parquet_rows(rebuilt) == 8
    assert dirty_dates(raw) == []

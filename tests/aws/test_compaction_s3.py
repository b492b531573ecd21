"""Compaction on S3 (the moto server): one PUT per segment, batched deletes, and a faulty
network at every step never loses an update or counts one twice.

What S3 really holds is read with a client that talks to moto directly, never
through the code under test or the fault proxy.
"""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from botocore.stub import Stubber

from telelake.errors import StorageError
from telelake.lake.compaction import compact_day, compact_lake
from telelake.lake.s3 import S3Store
from telelake.lake.s3client import make_client
from telelake.lake.segments import read_partition

DAY = date(2026, 2, 3)
FOLDER = f"raw/telegram/context_date={DAY.isoformat()}"
SENT = int(datetime(2026, 2, 3, 12, tzinfo=UTC).timestamp())
LATER = datetime(2026, 3, 1, tzinfo=UTC).timestamp()


def body(update_id: int) -> bytes:
    # As Telegram's webhook sends it: a line break after the update id.
    rest = orjson.dumps(
        {
            "message": {
                "message_id": update_id,
                "from": {"id": 7, "is_bot": False, "first_name": "Ana"},
                "chat": {"id": -100, "type": "supergroup", "title": "g"},
                "date": SENT,
                "text": f"olá {update_id}",
            }
        }
    )
    return b'{"update_id":%d,\n' % update_id + rest[1:]


def put_objects(s3: Any, bucket: str, count: int, first: int = 1) -> dict[str, bytes]:
    objects = {f"{FOLDER}/{i}.json": body(i) for i in range(first, first + count)}
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), objects.items()
            )
        )
    return objects


def stored(s3: Any, bucket: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=FOLDER):
        for item in page.get("Contents", ()):
            found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def updates_held(s3: Any, bucket: str) -> set[tuple[int, bytes]]:
    """Every update S3 holds for the day, from objects and segments, by plain gzip."""
    held: set[tuple[int, bytes]] = set()
    for key, data in stored(s3, bucket).items():
        if key.endswith(".jsonl.gz"):
            for line in gzip.decompress(data).splitlines():
                original = line.replace(b"\t", b"\n")
                held.add((orjson.loads(original)["update_id"], original))
        else:
            held.add((orjson.loads(data)["update_id"], data))
    return held


@pytest.fixture
def via_proxy(aws_env: dict[str, str], fault_proxy: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    return fault_proxy


def test_compaction_on_s3_is_one_put_and_batched_deletes(
    via_proxy: Any, s3: Any, bucket: str
) -> None:
    objects = put_objects(s3, bucket, 1001)
    store = S3Store(bucket, "raw")
    before = read_partition(store, DAY)
    via_proxy.seen.clear()
    result = compact_day(store, DAY)
    assert result.packed == 1001
    puts = [path for method, path, _ in via_proxy.seen if method == "PUT"]
    deletes = [path for method, path, _ in via_proxy.seen if method == "POST" and "delete" in path]
    assert len(puts) == 1 and "segment-" in puts[0]
    assert len(deletes) == 2  # DeleteObjects takes 1,000 keys at most
    left = stored(s3, bucket)
    assert len(left) == 1 and next(iter(left)).endswith(".jsonl.gz")
    assert updates_held(s3, bucket) == {(orjson.loads(b)["update_id"], b) for b in objects.values()}
    assert read_partition(store, DAY) == before


FAULTS = [
    ("the segment PUT is reset before S3 sees it", "PUT", "segment-", "reset"),
    ("the segment PUT is stored, the answer lost", "PUT", "segment-", "reset-after"),
    ("the segment PUT answers 500", "PUT", "segment-", "status:500"),
    ("the read-back is cut short", "GET", "segment-", "truncate"),
    ("the read-back answers 503", "GET", "segment-", "status:503"),
    ("a batch delete is reset before S3 sees it", "POST", "delete", "reset"),
    ("a batch delete acts, the answer lost", "POST", "delete", "reset-after"),
    ("a batch delete answers 500", "POST", "delete", "status:500"),
]


# Each fault once (the retry gets through) and, for one of each step, for good.
CASES = [(*fault, False) for fault in FAULTS] + [
    (*fault, True) for fault in FAULTS if fault[3] in ("reset-after", "truncate", "status:500")
]


@pytest.mark.parametrize(
    ("name", "method", "needle", "action", "always"),
    CASES,
    ids=[f"{case[0]} ({'always' if case[4] else 'once'})" for case in CASES],
)
def test_a_faulty_network_during_compaction_loses_nothing(
    via_proxy: Any,
    s3: Any,
    bucket: str,
    name: str,
    method: str,
    needle: str,
    action: str,
    always: bool,
) -> None:
    objects = put_objects(s3, bucket, 30)
    store = S3Store(bucket, "raw", max_attempts=2, timeout=5)
    compact_day(store, DAY)  # an earlier segment, merged by the next compaction
    objects |= put_objects(s3, bucket, 40, first=100)
    expected = updates_held(s3, bucket)
    before = read_partition(store, DAY)
    failed: list[str] = []

    def rule(seen_method: str, path: str, headers: dict[str, str]) -> str:
        if seen_method == method and needle in path and (always or not failed):
            failed.append(path)
            return action
        return "pass"

    via_proxy.rule = rule
    try:
        compact_day(S3Store(bucket, "raw", max_attempts=2, timeout=5), DAY)
    except StorageError:
        assert always, name  # a fault that passes is retried
    via_proxy.rule = lambda *_: "pass"
    assert failed, name
    assert updates_held(s3, bucket) == expected, name
    assert read_partition(store, DAY) == before, name
    compact_lake(store, ZoneInfo("UTC"), 3, now=LATER)
    left = stored(s3, bucket)
    assert len(left) == 1 and next(iter(left)).endswith(".jsonl.gz"), name
    assert read_partition(store, DAY) == before, name
    assert {k for k, _ in read_partition(store, DAY)} >= {k[4:] for k in objects}


def stubbed(store: S3Store) -> Stubber:
    store._client = make_client()
    return Stubber(store._client)


def test_keys_s3_could_not_delete_are_retried_then_named(aws_env: dict[str, str]) -> None:
    store = S3Store("b", "raw")
    stub = stubbed(store)
    keys = [f"telegram/context_date=2026-02-03/{i}.json" for i in range(3)]
    denied = {"Errors": [{"Key": f"raw/{keys[1]}", "Code": "AccessDenied", "Message": "no"}]}
    slow = {"Errors": [{"Key": f"raw/{keys[2]}", "Code": "SlowDown", "Message": "later"}]}
    stub.add_response("delete_objects", slow)
    stub.add_response("delete_objects", {})  # the retry of the one key succeeds
    with stub:
        store.delete_many(keys)
    stub.assert_no_pending_responses()
    for _ in range(3):
        stub.add_response("delete_objects", denied)
    with stub, pytest.raises(StorageError) as raised:
        store.delete_many(keys)
    message = str(raised.value)
    assert "\n" not in message
    assert keys[1] in message and "AccessDenied" in message and "1 of 3" in message


def test_delete_many_sends_only_what_it_was_given(aws_env: dict[str, str]) -> None:
    store = S3Store("b", "raw")
    stub = stubbed(store)
    stub.add_response(
        "delete_objects",
        {},
        {
            "Bucket": "b",
            "Delete": {"Objects": [{"Key": "raw/a.json"}, {"Key": "raw/b.json"}], "Quiet": True},
        },
    )
    with stub:
        store.delete_many(["a.json", "b.json"])
        store.delete_many([])  # nothing to delete: no request
    stub.assert_no_pending_responses()

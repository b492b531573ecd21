"""``forget`` on S3 layers (moto server): the erasure uses only the Store protocol."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from telelake.config import load_settings
from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.lake.forget import ERASURES_PREFIX, audit_matches
from telelake.lake.layout import raw_key
from telelake.lake.s3 import S3Store
from telelake.privacy import forget_user

pytestmark = pytest.mark.usefixtures("aws_env")

GONE = 880011223
ZEB = {"id": GONE, "is_bot": False, "first_name": "Xerxes", "username": "xx_gone"}
ANA = {"id": 1001, "is_bot": False, "first_name": "Ana"}
CHAT = {"id": -1009000000001, "type": "supergroup", "title": "S3 Group"}
WHEN = int(datetime(2026, 11, 10, 9, tzinfo=UTC).timestamp())
ZONE = load_settings({}, env={}).zone


def _updates() -> list[dict[str, Any]]:
    theirs = {"message_id": 2, "from": ZEB, "chat": CHAT, "date": WHEN, "text": "Xerxes says hi"}
    return [
        {"update_id": 1, "message": {"message_id": 1, "from": ANA, "chat": CHAT, "date": WHEN,
                                     "text": "hello"}},
        {"update_id": 2, "message": theirs},
        {"update_id": 3, "message": {"message_id": 3, "from": ANA, "chat": CHAT, "date": WHEN,
                                     "text": "welcome", "reply_to_message": theirs}},
        {"update_id": 4, "message_reaction": {"chat": CHAT, "message_id": 1, "user": ZEB,
                                              "date": WHEN, "old_reaction": [],
                                              "new_reaction": [{"type": "emoji", "emoji": "👍"}]}},
    ]  # fmt: skip


def _objects(s3: Any, bucket: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def _mentions_them(key: str, body: bytes) -> bool:
    if key.endswith(".parquet"):
        body = repr(pq.read_table(io.BytesIO(body)).to_pylist()).encode()
    return any(n in body for n in (str(GONE).encode(), b"Xerxes", b"xx_gone"))


def test_forget_on_s3(s3: Any, bucket: str) -> None:
    raw, enriched = S3Store(bucket, "lake/raw"), S3Store(bucket, "lake/enriched")
    for data in _updates():
        assert raw.create(raw_key(data["update_id"], date(2026, 11, 10)), orjson.dumps(data))
    run(Layers(raw, enriched, ZONE), Selection(everything=True), workers=1)
    before = _objects(s3, bucket)
    assert any(_mentions_them(k, b) for k, b in before.items())

    erasure = forget_user(Layers(raw, enriched, ZONE), GONE)

    assert dict(erasure.deleted) == {date(2026, 11, 10): 2}
    assert dict(erasure.rewritten) == {date(2026, 11, 10): 1}
    after = _objects(s3, bucket)
    assert [k for k, b in after.items() if _mentions_them(k, b)] == []
    messages = pq.read_table(
        io.BytesIO(after["lake/enriched/telegram/context_date=2026-11-10/part-00000.parquet"])
    ).to_pylist()
    assert [(r["message_id"], r["text"], r["reply_to_message_id"]) for r in messages] == [
        (1, "hello", None),
        (3, "welcome", 2),
    ]
    (audit,) = [k for k in after if k.startswith(f"lake/raw/{ERASURES_PREFIX}/")]
    assert audit_matches(orjson.loads(after[audit]), GONE)

"""The ETL Lambda's daily run takes the member counts first, on S3 (moto), from the Bot API double.

The environment is template.yaml's for the ETL function; the token comes as
an environment variable here (SSM is covered by test_handlers.py), the Bot
API is the fake server of tests/telegram.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fake_bot_api import FakeBotApi, make_update, running_fake_bot_api

from telelake.analytics.engine import Engine
from telelake.aws import handlers

GROUP = -1001


@pytest.fixture
def etl_env(
    aws_env: dict[str, str], bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[str, FakeBotApi]]:
    monkeypatch.chdir(tmp_path)
    for name in ("TELELAKE_LAKE", "TELELAKE_CONFIG", "TELELAKE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with running_fake_bot_api() as fake:
        fake.set_chat(GROUP, member_count=314)
        monkeypatch.setenv("TELELAKE_RAW", f"s3://{bucket}/raw")
        monkeypatch.setenv("TELELAKE_ENRICHED", f"s3://{bucket}/enriched")
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
        monkeypatch.setenv("TELEGRAM_API_URL", fake.url)
        handlers.reset()
        yield bucket, fake
        handlers.reset()


def scheduled() -> dict[str, Any]:
    return {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


def test_the_scheduled_run_counts_members_once_a_day(
    etl_env: tuple[str, FakeBotApi], s3: Any
) -> None:
    bucket, fake = etl_env
    yesterday = int(datetime.now(UTC).timestamp()) - 86400
    body = orjson.dumps(make_update(1, chat_id=GROUP, date=yesterday))
    day = datetime.fromtimestamp(yesterday, UTC).date().isoformat()
    s3.put_object(Bucket=bucket, Key=f"raw/telegram/context_date={day}/1.json", Body=body)
    s3.put_object(Bucket=bucket, Key=f"raw/_telelake/dirty/context_date={day}", Body=b"")
    handlers.etl_handler(scheduled())  # builds the chat's first day: now it is known
    assert fake.calls("getChatMemberCount") == []
    handlers.etl_handler(scheduled())
    handlers.etl_handler({"date": day})  # a backfill asks nothing
    assert [c["params"]["chat_id"] for c in fake.calls("getChatMemberCount")] == [GROUP]
    with Engine(f"s3://{bucket}/enriched") as engine:
        rows = engine.query("SELECT chat_id, member_count FROM telegram_chat_stats").rows
    assert rows == [(GROUP, 314)]

"""Daily member counts: asked of a real HTTP Bot API double, kept in the raw layer, rebuilt.

The fake Bot API (tests/telegram/fake_bot_api.py) answers getChatMemberCount
for the chats a test describes and 400 "chat not found" for others, as
Telegram does for a chat the bot is no longer in.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from fake_bot_api import FakeBotApi, make_update, running_fake_bot_api

from telelake.analytics.engine import Engine
from telelake.analytics.reports import get_report, run_report
from telelake.config import Settings, load_settings
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.ingest.snapshots import snapshot_lake, take_snapshots
from telelake.lake.storage import LocalStore
from telelake.service import EtlWorker
from telelake.telegram.botapi import BotApi

UTC_ZONE = ZoneInfo("UTC")
GROUP, GONE = -1001, -2002
DAY1 = datetime(2025, 11, 20, 8, 0, tzinfo=UTC).timestamp()
DAY1_LATER = datetime(2025, 11, 20, 20, 0, tzinfo=UTC).timestamp()
DAY2 = datetime(2025, 11, 21, 8, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with running_fake_bot_api() as api:
        api.set_chat(GROUP, member_count=42)
        yield api


def lake_settings(root: Path, fake: FakeBotApi) -> Settings:
    return load_settings(
        {"lake": str(root), "token": fake.token, "api_url": fake.url}, env={}, config_file=None
    )


def counts(fake: FakeBotApi) -> list[int]:
    return [c["params"]["chat_id"] for c in fake.calls("getChatMemberCount")]


def member_counts(root: Path) -> list[tuple[int, date, int]]:
    with Engine(str(root / "enriched")) as engine:
        result = run_report(engine, get_report("member_count"))
    return [(r[0], r[1], r[3]) for r in result.rows]


def test_once_a_day_per_chat_and_a_refusing_chat_is_skipped(
    tmp_path: Path, fake: FakeBotApi
) -> None:
    raw = LocalStore(tmp_path / "raw")
    with BotApi(fake.token, fake.url) as api:
        first = take_snapshots(api, raw, {GROUP, GONE}, UTC_ZONE, DAY1)
        again = take_snapshots(api, raw, {GROUP, GONE}, UTC_ZONE, DAY1_LATER)
    assert first.taken == {GROUP: 42}
    assert list(first.failed) == [GONE]
    assert again.taken == {} and again.already == [GROUP]
    # The chat already counted today is not asked again; the refusing one is.
    assert counts(fake) == [GONE, GROUP, GONE]
    [key] = [k for k in raw.list("telegram/context_date=2025-11-20") if k.endswith(".json")]
    record = orjson.loads(raw.read(key))
    assert record["telelake_chat_stats"] == {"chat": {"id": GROUP}, "date": int(DAY1),
                                             "member_count": 42}  # fmt: skip
    assert record["update_id"] < -(2**62)  # below every imported update's id


def test_snapshots_across_days_become_rows_and_survive_a_rebuild(
    tmp_path: Path, fake: FakeBotApi
) -> None:
    raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    layers = Layers(raw, enriched, UTC_ZONE)
    with BotApi(fake.token, fake.url) as api:
        take_snapshots(api, raw, {GROUP}, UTC_ZONE, DAY1)
        run(layers, workers=1)
        fake.set_chat(GROUP, member_count=45)
        take_snapshots(api, raw, {GROUP}, UTC_ZONE, DAY2)
        run(layers, workers=1)
    expected = [(GROUP, date(2025, 11, 20), 42), (GROUP, date(2025, 11, 21), 45)]
    assert member_counts(tmp_path) == expected
    with Engine(str(tmp_path / "enriched")) as engine:
        taken = engine.query("SELECT taken_at FROM telegram_chat_stats ORDER BY taken_at").rows
    assert [t for (t,) in taken] == [datetime(2025, 11, 20, 8), datetime(2025, 11, 21, 8)]
    # The enriched layer is a function of the raw layer: delete it, rebuild, same rows.
    shutil.rmtree(tmp_path / "enriched")
    run(Layers(raw, LocalStore(tmp_path / "enriched"), UTC_ZONE), workers=1)
    assert member_counts(tmp_path) == expected


def test_the_chats_are_those_of_the_last_30_days_and_the_filter(
    tmp_path: Path, fake: FakeBotApi
) -> None:
    settings = lake_settings(tmp_path, fake)
    ingestor = Ingestor(settings, LocalStore(settings.raw_url))
    recent = datetime.now(UTC).timestamp() - 86400
    ingestor.accept(orjson.dumps(make_update(1, chat_id=GROUP, date=int(recent))))
    ingestor.accept(orjson.dumps(make_update(2, chat_id=-3003, date=int(recent) - 40 * 86400)))
    ingestor.accept(orjson.dumps(make_update(3, chat_id=77, date=int(recent))))  # a private chat
    run(Layers.open(settings), workers=1)
    summary = snapshot_lake(settings)
    assert summary is not None and summary.taken == {GROUP: 42}
    assert counts(fake) == [GROUP]
    filtered = load_settings(
        {"lake": str(tmp_path), "token": fake.token, "api_url": fake.url, "chat_ids": "-4004"},
        env={},
        config_file=None,
    )
    again = snapshot_lake(filtered)
    assert again is not None and again.already == [GROUP] and list(again.failed) == [-4004]


def test_no_token_means_no_snapshot(tmp_path: Path) -> None:
    assert snapshot_lake(load_settings({"lake": str(tmp_path)}, env={}, config_file=None)) is None


def test_the_daily_etl_of_run_takes_them_first(tmp_path: Path, fake: FakeBotApi) -> None:
    settings = lake_settings(tmp_path, fake)
    ingestor = Ingestor(settings, LocalStore(settings.raw_url))
    yesterday = int(datetime.now(UTC).timestamp()) - 86400
    ingestor.accept(orjson.dumps(make_update(1, chat_id=GROUP, date=yesterday)))
    worker = EtlWorker(settings, threading.Event(), snapshots=True)
    worker.build_changed()  # the lake's first build: no chat known yet
    assert counts(fake) == []
    worker.build_changed()
    assert counts(fake) == [GROUP]
    today = datetime.now(UTC).date()
    assert (GROUP, today, 42) in member_counts(tmp_path)

"""Long polling in-process against the fake Bot API: offsets advance only past durable updates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fake_bot_api
import orjson
import pytest

from telelake.config import Settings
from telelake.errors import StorageError, WebhookActiveError
from telelake.ingest.core import Ingestor
from telelake.ingest.poller import Poller
from telelake.lake.storage import LocalStore
from telelake.telegram.botapi import BotApi

make_update = fake_bot_api.make_update


@pytest.fixture(scope="module")
def fake_server() -> Iterator[Any]:
    with fake_bot_api.running_fake_bot_api() as fake:
        yield fake


_clients: list[BotApi] = []


@pytest.fixture
def fake(fake_server: Any) -> Iterator[Any]:
    fake_server.reset()
    yield fake_server
    while _clients:
        _clients.pop().close()


def raw_objects(lake: Path) -> dict[str, bytes]:
    store = LocalStore(lake / "raw")
    return {k: store.read(k) for k in store.list("telegram")}


def poller_for(fake: Any, lake: Path, store: LocalStore | None = None, **settings: Any) -> Poller:
    config = Settings(lake=str(lake), token=fake.token, api_url=fake.url, **settings)
    api = BotApi(fake.token, fake.url, sleep=lambda s: None)
    _clients.append(api)
    return Poller(api, Ingestor(config, store or LocalStore(lake / "raw")), timeout=0)


def drain(poller: Poller, fake: Any) -> None:
    while fake.state()["pending"] and poller.poll_once():
        pass
    poller.confirm()


def test_every_update_is_stored_as_its_json_and_then_confirmed(fake: Any, tmp_path: Path) -> None:
    updates = [make_update(1000 + i, date=1_764_000_000 + 3600 * i) for i in range(250)]
    fake.enqueue(updates)
    poller = poller_for(fake, tmp_path / "lake")
    drain(poller, fake)
    stored = raw_objects(tmp_path / "lake")
    assert len(stored) == 250
    by_id = {orjson.loads(body)["update_id"]: orjson.loads(body) for body in stored.values()}
    assert by_id == {u["update_id"]: u for u in updates}
    # Compact JSON of the parsed object: the exact bytes orjson writes for it.
    assert set(stored.values()) == {orjson.dumps(u) for u in updates}
    assert fake.state()["confirmed"] == 1250 and fake.state()["pending"] == []
    assert poller.stats.outcomes["stored"] == 250


def test_the_offset_passes_only_what_is_durable(fake: Any, tmp_path: Path) -> None:
    class FailsAfter(LocalStore):
        """A real folder that starts failing after ``budget`` update objects."""

        budget = 3

        def create(self, key: str, data: bytes) -> bool:
            if key.startswith("telegram/"):
                if self.budget == 0:
                    raise StorageError(f"could not store {key}: disk full")
                self.budget -= 1
            return super().create(key, data)

    fake.enqueue(make_update(i) for i in range(1, 11))
    lake = tmp_path / "lake"
    poller = poller_for(fake, lake, store=FailsAfter(lake / "raw"))
    with pytest.raises(StorageError):
        poller.poll_once()
    assert poller.offset == 4  # updates 1..3 are durable, 4 is not
    poller.confirm()
    # Telegram still holds every update from the one that failed on.
    assert fake.state()["pending"] == list(range(4, 11))
    # Storage is back: a new poller (a restart) stores the rest, no copy twice.
    drain(poller_for(fake, lake), fake)
    assert len(raw_objects(lake)) == 10


def test_unconfirmed_updates_fetched_again_are_duplicates(fake: Any, tmp_path: Path) -> None:
    fake.enqueue(make_update(i) for i in range(1, 6))
    lake = tmp_path / "lake"
    first = poller_for(fake, lake)
    first.poll_once()  # stored, never confirmed (as if killed right now)
    assert fake.state()["pending"] == [1, 2, 3, 4, 5]
    second = poller_for(fake, lake)
    drain(second, fake)
    assert second.stats.outcomes == {"stored": 0, "duplicate": 5, "conflict": 0, "filtered": 0}
    assert len(raw_objects(lake)) == 5


def test_rate_limit_and_server_errors_do_not_lose_updates(fake: Any, tmp_path: Path) -> None:
    fake.enqueue(make_update(i) for i in range(1, 4))
    fake.fail("getUpdates", 429, times=2, retry_after=1)
    fake.fail("getUpdates", 502, times=1)
    poller = poller_for(fake, tmp_path / "lake")
    drain(poller, fake)
    assert len(raw_objects(tmp_path / "lake")) == 3


def test_run_stops_on_the_event_and_raises_on_a_webhook(fake: Any, tmp_path: Path) -> None:
    fake.enqueue(make_update(i) for i in range(1, 4))
    poller = poller_for(fake, tmp_path / "lake")
    stop = threading.Event()

    def stop_when_stored() -> None:
        while len(raw_objects(tmp_path / "lake")) < 3:
            threading.Event().wait(0.05)
        stop.set()

    watcher = threading.Thread(target=stop_when_stored)
    watcher.start()
    poller.run(stop)
    watcher.join()
    assert len(raw_objects(tmp_path / "lake")) == 3

    fake.set_webhook("https://example.org/hook")
    with pytest.raises(WebhookActiveError):
        poller.run(threading.Event())


def test_updates_of_other_chats_are_confirmed_but_not_stored(fake: Any, tmp_path: Path) -> None:
    fake.enqueue([make_update(1, chat_id=-1001), make_update(2, chat_id=-2002)])
    poller = poller_for(fake, tmp_path / "lake", chat_ids=frozenset({-1001}))
    drain(poller, fake)
    stored = [orjson.loads(b)["update_id"] for b in raw_objects(tmp_path / "lake").values()]
    assert stored == [1]
    assert fake.state()["confirmed"] == 3

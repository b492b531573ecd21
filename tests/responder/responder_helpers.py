"""Helpers of the responder tests: chat updates as Telegram sends them, a lake, a clock.

A plain module (``import responder_helpers``): tests/responder is on ``sys.path``
while its tests run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fake_bot_api

from telelake.config import Settings, load_settings
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.responder.core import Responder
from telelake.telegram.botapi import BotApi

GROUP = -1001234567890
OTHER_GROUP = -1009876543210
TITLE = "Lake Friends"
TOKEN = fake_bot_api.TOKEN
BOT_USERNAME = "fake_lake_bot"


def user(user_id: int, first_name: str, last_name: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        found["last_name"] = last_name
    return found


def group_chat(chat_id: int = GROUP, title: str = TITLE) -> dict[str, Any]:
    return {"id": chat_id, "title": title, "type": "supergroup"}


def message(update_id: int, *, date: int, sender: dict[str, Any], text: str,
            chat: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """A message update as Telegram sends it (a command gets its bot_command entity)."""
    body: dict[str, Any] = {
        "message_id": update_id,
        "from": sender,
        "chat": chat or group_chat(),
        "date": date,
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0].encode("utf-16-le")) // 2
        body["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
    return {"update_id": update_id, "message": body}


def private(update_id: int, *, date: int, sender: dict[str, Any], text: str) -> dict[str, Any]:
    chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    return message(update_id, date=date, sender=sender, text=text, chat=chat)


def joined(update_id: int, *, date: int, people: list[dict[str, Any]],
           chat: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The service message of people joining (one or several at once)."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": people[0],
            "chat": chat or group_chat(),
            "date": date,
            "new_chat_members": people,
            "new_chat_member": people[0],
            "new_chat_participant": people[0],
        },
    }


def settings_for(lake: Path, fake: Any, **given: Any) -> Settings:
    values: dict[str, Any] = {"lake": str(lake), "token": fake.token, "api_url": fake.url,
                              "replies": True}  # fmt: skip
    values.update(given)
    return load_settings(values, env={}, config_file=None)


def store(settings: Settings, updates: Iterable[dict[str, Any]]) -> None:
    """Store updates as ingest does (durably, acknowledged)."""
    import orjson

    ingestor = Ingestor.open(settings)
    for update in updates:
        ingestor.accept(orjson.dumps(update))


def build(settings: Settings) -> None:
    """The ETL of every changed date (what the daily run does)."""
    run(Layers.open(settings), workers=1)


class Clock:
    """A settable clock (Unix seconds) for the responder's rules."""

    def __init__(self, now: float) -> None:
        self.now = float(now)
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


OPENED: list[Responder] = []


def responder(settings: Settings, clock: Clock, **kwargs: Any) -> Responder:
    """A responder speaking real HTTP to the fake Bot API; waits advance the clock.

    Closed by the ``close_responders`` fixture after each test.
    """
    api = BotApi(settings.require_token(), settings.api_url, sleep=clock.advance)
    core = Responder(settings, Layers.open(settings), api, clock=clock, **kwargs)
    OPENED.append(core)
    return core


def drain(core: Responder, clock: Clock, limit: float = 3600.0) -> float:
    """Send everything queued, advancing the clock as the limits say; the time it took."""
    start = clock.now
    while True:
        wait = core.outbox.send_ready()
        if wait is None:
            core.save()
            return clock.now - start
        if clock.now - start > limit:
            raise AssertionError("the outbox did not drain")
        clock.advance(wait)

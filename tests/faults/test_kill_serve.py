"""Acknowledged ⇒ durable, exactly once, through SIGKILLs of ``serve`` under 40 connections.

Forty senders (Telegram's default ``max_connections``) post unique updates
concurrently; the server is killed with SIGKILL while requests are in flight,
five times. As Telegram does, the senders re-send whatever was not
acknowledged to a restarted server until everything is in. After every kill:
each acknowledged update is in the raw layer byte for byte, and everything a
reader can see is a complete update that was sent. At the end: exactly one
raw object per update, and after the ETL exactly one row per update in the
messages table and in ``telegram_updates``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import duckdb
import httpx

from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.lake.storage import LocalStore

if TYPE_CHECKING:
    from conftest import Server

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONNECTIONS = 40
UPDATES = 1200
KILLED_CYCLES = 5
FIRST_ID = 7_000_000
DAY0 = int(datetime(2024, 5, 1, 9, tzinfo=UTC).timestamp())


def day_of(update_id: int) -> date:
    return datetime.fromtimestamp(DAY0 + (update_id % 4) * 86_400, UTC).date()


def body_of(update_id: int) -> bytes:
    # Mostly chat-sized, every tenth ~24 KiB so a kill can land mid-write; four days.
    text = f"mensagem {update_id} olá 👍🏽 " + ("ж" * 12_000 if update_id % 10 == 0 else "")
    payload = {
        "message_id": update_id,
        "from": {"id": 1000 + update_id % 37, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": -1001234567890, "type": "supergroup", "title": "G"},
        "date": DAY0 + (update_id % 4) * 86_400 + update_id % 3600,
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": payload}, ensure_ascii=False).encode()


def key_of(update_id: int) -> str:
    return f"telegram/context_date={day_of(update_id).isoformat()}/{update_id}.json"


async def burst(
    server: Server, pending: list[int], bodies: dict[int, bytes], kill_after: int | None
) -> set[int]:
    """Post ``pending`` over CONNECTIONS connections; SIGKILL the server after ``kill_after``."""
    acked: set[int] = set()
    queue = list(reversed(pending))
    killed = asyncio.Event()
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    headers = {SECRET_HEADER: server.secret or "", "Content-Type": "application/json"}

    async def sender(client: httpx.AsyncClient) -> None:
        while queue and not killed.is_set():
            update_id = queue.pop()
            try:
                response = await client.post(
                    server.webhook_url, content=bodies[update_id], headers=headers
                )
            except httpx.TransportError:
                continue  # not acknowledged: Telegram re-sends it later
            if not 200 <= response.status_code < 300:
                continue
            acked.add(update_id)
            if kill_after is not None and len(acked) >= kill_after and not killed.is_set():
                server.process.kill()  # the other senders are mid-request right now
                killed.set()

    async with httpx.AsyncClient(timeout=10.0, trust_env=False, limits=limits) as client:
        await asyncio.gather(*(sender(client) for _ in range(CONNECTIONS)))
    return acked


def visible_objects(lake: Path, bodies: dict[int, bytes], acked: set[int]) -> dict[str, bytes]:
    """What a reader sees, checked: complete sent bodies only, every acked one present."""
    store = LocalStore(lake / "raw")
    visible = {key: store.read(key) for key in store.list("telegram")}
    for key, data in visible.items():
        update_id = int(key.rsplit("/", 1)[-1].removesuffix(".json"))
        assert key == key_of(update_id), key
        assert data == bodies[update_id], f"{key} is not the complete body that was sent"
    for update_id in acked:
        assert visible.get(key_of(update_id)) == bodies[update_id], f"acked {update_id} lost"
    # Nothing else under the layer but hidden files (and, with O_TMPFILE, not even those).
    for folder, _dirs, files in os.walk(lake / "raw" / "telegram"):
        for name in files:
            relative = os.path.relpath(os.path.join(folder, name), lake / "raw")
            assert relative in visible or name.startswith("."), relative
    return visible


def test_sigkill_during_a_40_connection_burst_loses_nothing_and_counts_once(
    serve_webhook: Callable[..., Server], tmp_path: Path
) -> None:
    bodies = {uid: body_of(uid) for uid in range(FIRST_ID, FIRST_ID + UPDATES)}
    acked: set[int] = set()
    kills = 0
    for cycle in range(KILLED_CYCLES + 3):
        pending = sorted(set(bodies) - acked)
        if not pending:
            break
        server = serve_webhook(tmp_path)
        kill = cycle < KILLED_CYCLES
        # Kill once a sixth of what is left is acknowledged, while the rest is in flight.
        kill_after = max(CONNECTIONS, len(pending) // 6) if kill else None
        got = asyncio.run(burst(server, pending, bodies, kill_after))
        if kill:
            server.process.wait(timeout=10)
            assert server.process.returncode == -9, "the burst ended before the kill"
            kills += 1
        acked |= got
        visible_objects(tmp_path, bodies, acked)

    assert kills == KILLED_CYCLES
    assert acked == set(bodies), f"{len(set(bodies) - acked)} updates never acknowledged"
    visible = visible_objects(tmp_path, bodies, acked)
    assert sorted(visible) == sorted(key_of(uid) for uid in bodies)

    raw, enriched = LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")
    run(Layers(raw, enriched, ZoneInfo("UTC")), Selection(everything=True))
    with duckdb.connect() as db:
        messages = db.sql(
            "SELECT message_id, count(*) FROM "
            f"read_parquet('{tmp_path}/enriched/telegram/*/*.parquet') GROUP BY message_id"
        ).fetchall()
        updates = db.sql(
            "SELECT update_id, count(*) FROM "
            f"read_parquet('{tmp_path}/enriched/telegram_updates/*/*.parquet') GROUP BY update_id"
        ).fetchall()
    assert dict(messages) == dict.fromkeys(bodies, 1)
    assert dict(updates) == dict.fromkeys(bodies, 1)

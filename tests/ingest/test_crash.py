"""Acknowledged ⇒ durable (DESIGN §3.1) when the receiver is killed with SIGKILL mid-burst.

Eight senders post unique updates concurrently; the server is killed while
requests are in flight. After each kill every acknowledged update must be in
the lake byte for byte, and everything a reader can see must be complete. The
senders then re-send what was not acknowledged to a restarted server, as
Telegram does, until everything is in: exactly one object per update.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from telelake.lake.storage import LocalStore

if TYPE_CHECKING:
    from conftest import Server

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATES = 320
WORKERS = 8
KILLED_CYCLES = 3
FIRST_ID = 5_000_000
DAY0 = int(datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp())


def body_of(update_id: int) -> bytes:
    # ~16 KiB each, so a kill can land in the middle of writing one; five days of partitions.
    payload = {
        "message_id": update_id,
        "chat": {"id": -1001234567890, "type": "supergroup"},
        "date": DAY0 + (update_id % 5) * 86_400,
        "text": f"update {update_id} " + "ж" * 8000,
    }
    return json.dumps({"update_id": update_id, "message": payload}, ensure_ascii=False).encode()


def key_of(update_id: int) -> str:
    day = datetime.fromtimestamp(DAY0 + (update_id % 5) * 86_400, UTC).date()
    return f"telegram/context_date={day.isoformat()}/{update_id}.json"


def send_all(
    server: Server, pending: list[int], bodies: dict[int, bytes], kill_after: int | None
) -> set[int]:
    """Post ``pending`` from WORKERS threads; SIGKILL the server after ``kill_after`` acks."""
    acked: set[int] = set()
    lock = threading.Lock()
    queue = list(reversed(pending))
    killed = threading.Event()

    def worker() -> None:
        with httpx.Client(timeout=10.0, trust_env=False) as client:
            while not killed.is_set():
                with lock:
                    if not queue:
                        return
                    update_id = queue.pop()
                try:
                    response = client.post(
                        server.webhook_url,
                        content=bodies[update_id],
                        headers={SECRET_HEADER: server.secret or ""},
                    )
                except httpx.TransportError:
                    continue  # not acknowledged; re-sent in the next cycle
                if not 200 <= response.status_code < 300:
                    continue
                with lock:
                    acked.add(update_id)
                    if kill_after is not None and len(acked) >= kill_after and not killed.is_set():
                        # The other workers are mid-request right now.
                        server.process.kill()
                        killed.set()

    with ThreadPoolExecutor(WORKERS) as pool:
        for future in [pool.submit(worker) for _ in range(WORKERS)]:
            future.result()
    if kill_after is not None:
        assert killed.is_set(), "the burst ended before the kill"
        server.process.wait(timeout=5)
    return acked


def check_lake(lake: Path, bodies: dict[int, bytes], acked: set[int]) -> dict[str, bytes]:
    store = LocalStore(lake / "raw")
    visible = {key: store.read(key) for key in store.list("telegram")}
    for key, data in visible.items():
        assert not any(part.startswith(".") for part in key.split("/")), key
        update_id = int(key.rsplit("/", 1)[-1].removesuffix(".json"))
        assert json.loads(data)["update_id"] == update_id
        assert data == bodies[update_id], f"{key} is not the body that was sent"
    for update_id in acked:
        assert visible.get(key_of(update_id)) == bodies[update_id], f"acked {update_id} lost"
    # Whatever else is on disk (a temp file cut short by the kill) must be hidden.
    listed = set(visible)
    for folder, _dirs, files in os.walk(lake / "raw" / "telegram"):
        for name in files:
            relative = os.path.relpath(os.path.join(folder, name), lake / "raw")
            assert relative in listed or name.startswith("."), relative
    return visible


def test_acknowledged_updates_survive_sigkill(
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
        # Kill after a share of this cycle's updates, while the rest are in flight.
        kill_after = max(WORKERS, len(pending) // 4) if kill else None
        acked |= send_all(server, pending, bodies, kill_after)
        kills += kill
        check_lake(tmp_path, bodies, acked)

    assert kills == KILLED_CYCLES
    assert acked == set(bodies)
    visible = check_lake(tmp_path, bodies, acked)
    assert sorted(visible) == sorted(key_of(uid) for uid in bodies)

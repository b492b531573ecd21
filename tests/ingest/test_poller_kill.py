"""``telelake poll`` killed with SIGKILL at random moments loses nothing and stores nothing twice.

A real ``telelake poll`` child process polls the fake Bot API server, which is
fed a few hundred new updates before each start. It is killed (kill -9) at a
random moment while it stores batches, and restarted, several times. At the end every update is
in the raw layer exactly once, byte-equal to its JSON, and Telegram (the fake)
was never told to forget an update that was not stored.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fake_bot_api
import orjson
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


TOTAL = 2400
KILLS = 5


@pytest.fixture
def fake() -> Iterator[Any]:
    with fake_bot_api.running_fake_bot_api() as server:
        yield server


def start_poll(fake: Any, lake: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.url, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(REPO_ROOT)
    command = [sys.executable, "-m", "telelake", "poll", "--lake", str(lake), "--poll-timeout", "1"]
    with log.open("ab") as err:
        return subprocess.Popen(command, cwd=lake.parent, env=env, stdout=subprocess.DEVNULL,
                                stderr=err)  # fmt: skip


def raw_keys(lake: Path) -> list[Path]:
    return [p for p in (lake / "raw" / "telegram").rglob("*.json")]


def test_kill_9_at_random_moments_loses_nothing_and_stores_nothing_twice(
    fake: Any, tmp_path: Path
) -> None:
    rng = random.Random(int(os.environ.get("KILL_SEED", "4")))
    updates = [
        fake_bot_api.make_update(500_000 + i, chat_id=-1001 - i % 3, date=1_764_000_000 + 97 * i)
        for i in range(TOTAL)
    ]
    per_life = TOTAL // KILLS
    lake, log = tmp_path / "lake", tmp_path / "poll.log"
    kills_mid_batch = 0
    for life in range(KILLS):
        # New traffic for every life, so each one is killed while it has work in hand.
        fake.enqueue(updates[life * per_life : (life + 1) * per_life])
        before = len(raw_keys(lake))
        process = start_poll(fake, lake, log)
        # Wait until it is storing (more objects than before), then kill at a random moment.
        deadline = time.monotonic() + 20
        while len(raw_keys(lake)) <= before and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.25))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        state = fake.state()
        stored = {int(p.stem) for p in raw_keys(lake)}
        # Telegram forgets below ``confirmed``: all of that must be on disk.
        forgotten = {u["update_id"] for u in updates if u["update_id"] < state["confirmed"]}
        assert forgotten <= stored, "an update was confirmed before it was stored"
        if state["delivered_max"] >= state["confirmed"]:
            kills_mid_batch += 1
    assert kills_mid_batch >= 1, "no kill landed while a batch was in hand; the test proved nothing"

    final = start_poll(fake, lake, log)
    deadline = time.monotonic() + 60
    while fake.state()["pending"] and time.monotonic() < deadline:
        assert final.poll() is None, log.read_text()
        time.sleep(0.05)
    final.send_signal(signal.SIGTERM)
    assert final.wait(timeout=20) == 0, log.read_text()[-2000:]

    files = raw_keys(lake)
    ids = [int(p.stem) for p in files]
    assert len(ids) == len(set(ids)) == TOTAL, "lost or doubled updates"
    expected = {u["update_id"]: orjson.dumps(u) for u in updates}
    for path in files:
        assert path.read_bytes() == expected[int(path.stem)]
    assert fake.state()["pending"] == []
    assert not list((lake / "raw").rglob("*.*.json")), (
        "a re-fetched update was stored as a conflict"
    )

"""``telelake run`` as a user starts it: a child process, a (fake) Telegram, a real lake."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fake_bot_api
import httpx
import orjson
import pyarrow.parquet as pq
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


make_update = fake_bot_api.make_update
DAY = 86_400
START = 1_764_000_000  # 2025-11-24 16:00 UTC


_children: list[Child] = []


@pytest.fixture
def fake() -> Iterator[Any]:
    with fake_bot_api.running_fake_bot_api() as server:
        yield server
    # A failed test leaves its child running: end it (ours, by pid).
    while _children:
        child = _children.pop()
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait(timeout=10)
        if child.process.stdout:
            child.process.stdout.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    """A ``telelake`` child process with its stderr in a file."""

    def __init__(self, args: list[str], fake: Any, work: Path, **env: str) -> None:
        self.log = work / f"telelake-{len(list(work.glob('telelake-*.log')))}.log"
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("TELELAKE_", "TELEGRAM_"))}  # fmt: skip
        clean.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.url,
                     PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO_ROOT))  # fmt: skip
        clean.update(env)
        with self.log.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "telelake", *args],
                cwd=work, env=clean, stdout=subprocess.PIPE, stderr=err,
            )  # fmt: skip
        _children.append(self)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"exited ({self.process.returncode}) before {what}:\n{self.text()}")
            if time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"timed out waiting for {what}:\n{self.text()}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=30)
        finally:
            if self.process.stdout:
                self.process.stdout.close()
        return code


def raw_ids(lake: Path) -> list[int]:
    """Update ids in the raw layer, as objects or packed into segments (``run`` compacts)."""
    from datetime import date

    from telelake.lake.segments import read_partition
    from telelake.lake.storage import LocalStore

    raw = LocalStore(lake / "raw")
    days = [date.fromisoformat(p.name.split("=")[1])
            for p in (lake / "raw" / "telegram").glob("context_date=*")]  # fmt: skip
    return [orjson.loads(body)["update_id"] for day in days for _, body in read_partition(raw, day)]


def partitions(lake: Path) -> set[str]:
    return {p.parent.name for p in (lake / "enriched" / "telegram").rglob("*.parquet")}


def test_run_polls_builds_changed_partitions_at_start_and_stops_cleanly(
    fake: Any, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    # Two days of a group, collected by a first run that is stopped.
    first_batch = [make_update(100 + i, date=START + i * 3600) for i in range(40)]
    fake.enqueue(first_batch)
    args = ["run", "--lake", str(lake), "--poll-timeout", "1", "--timezone", "UTC"]
    first = Child(args, fake, tmp_path)
    first.wait_for(lambda: len(raw_ids(lake)) == 40, "40 updates stored")
    assert first.stop() == 0, first.text()

    # The next start builds the dates that changed (nothing was built before).
    # Default long-poll timeout (25 s) this time: a stop must not wait for it.
    second = Child(args[:-4] + args[-2:], fake, tmp_path)
    days = {f"context_date=2025-11-{d}" for d in (24, 25, 26)}  # 40 hours from 16:00
    second.wait_for(lambda: partitions(lake) == days, "the ETL at start")
    rows = sum(
        pq.read_table(p).num_rows for p in (lake / "enriched" / "telegram").rglob("*.parquet")
    )
    assert rows == 40
    # ... and keeps collecting.
    fake.enqueue(make_update(200 + i, date=START + 2 * DAY + i) for i in range(15))
    second.wait_for(lambda: len(raw_ids(lake)) == 55, "15 more updates")
    time.sleep(0.5)  # now blocked in a long poll with nothing to fetch
    asked = time.monotonic()
    assert second.stop(signal.SIGINT) == 0, second.text()
    assert time.monotonic() - asked < 15, "the stop waited for the long poll to time out"
    # Everything Telegram was told to forget is stored, once.
    confirmed = fake.state()["confirmed"]
    ids = raw_ids(lake)
    assert len(ids) == len(set(ids))
    assert {u for u in range(100, 140)} | {u for u in range(200, 215)} == set(ids)
    assert confirmed == 215, "the graceful stop confirms the last stored batch"
    assert "ETL built 3 partition(s)" in second.text()
    assert "updates stored" in second.text()


def test_run_with_a_webhook_sets_it_with_a_secret_and_serves_it(fake: Any, tmp_path: Path) -> None:
    lake, port = tmp_path / "lake", free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    child = Child(["run", "--lake", str(lake), "--webhook-url", url, "--port", str(port),
                   "--with-members"], fake, tmp_path)  # fmt: skip
    with httpx.Client(trust_env=False, timeout=10) as http:

        def healthy() -> bool:
            try:
                return http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        child.wait_for(healthy, "/healthz")
        webhook = fake.state()["webhook"]
        assert webhook["url"] == url
        assert "chat_member" in webhook["allowed_updates"]
        secret = webhook["secret_token"]
        assert len(secret) >= 32
        body = orjson.dumps(make_update(7))
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        assert http.post(url, content=body, headers=headers).status_code == 200
        forged = {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}
        assert (
            http.post(url, content=orjson.dumps(make_update(8)), headers=forged).status_code == 403
        )
    assert child.stop() == 0, child.text()
    assert raw_ids(lake) == [7]
    # The webhook stays set: Telegram keeps updates until the next start.
    assert fake.state()["webhook"]["url"] == url
    assert secret not in child.text()


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("webhook", "a webhook is set for this bot: run `telelake bot webhook-delete`"),
        ("bad-token", "the bot token was rejected (401)"),
        ("no-token", "no bot token: set TELEGRAM_BOT_TOKEN"),
        ("bad-etl-at", "etl_at must be a local time as HH:MM"),
    ],
)
def test_run_fails_with_one_line_saying_what_to_do(
    fake: Any, tmp_path: Path, setup: str, needle: str
) -> None:
    env: dict[str, str] = {}
    if setup == "webhook":
        fake.set_webhook("https://example.org/hook")
    if setup == "bad-token":
        env["TELEGRAM_BOT_TOKEN"] = "42424242:AAsomeotherbotsomeotherbotsomeother_x"
    if setup == "no-token":
        env["TELEGRAM_BOT_TOKEN"] = ""
    if setup == "bad-etl-at":
        env["TELELAKE_ETL_AT"] = "25:00"
    child = Child(["run", "--lake", str(tmp_path / "lake"), "--poll-timeout", "0"], fake,
                  tmp_path, **env)  # fmt: skip
    code = child.process.wait(timeout=60)
    if child.process.stdout:
        child.process.stdout.close()
    errors = [line for line in child.text().splitlines() if line.startswith("error:")]
    assert code == 1, child.text()
    assert len(errors) == 1 and needle in errors[0], child.text()
    assert "Traceback" not in child.text()

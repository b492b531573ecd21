"""``telelake run --replies`` as an operator starts it: a child process, the fake Telegram.

Polling and webhook, the command menu registered at start, an answer within
seconds, the token never printed, collection never slowed by a stuck
responder, and ``kill -9`` in the middle of an answer: no update lost, that
answer given at most once more.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from responder_helpers import GROUP, message, private, user

from telelake.lake.segments import read_partition
from telelake.lake.storage import LocalStore

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "run-replies-secret-0123456789"
PEOPLE = [user(10, "Ana"), user(11, "Bruno")]
pytestmark = pytest.mark.slow


class Child:
    """A ``telelake`` child process with its stderr in a file; killed after the test."""

    def __init__(self, args: list[str], fake: Any, work: Path, **env: str) -> None:
        self.log = work / f"telelake-{len(list(work.glob('telelake-*.log')))}.log"
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("TELELAKE_", "TELEGRAM_"))}  # fmt: skip
        clean.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.url,
                     PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO_ROOT), **env)  # fmt: skip
        command = [sys.executable, "-m", "telelake", *args]
        with self.log.open("wb") as err:
            self.process = subprocess.Popen(
                command, cwd=work, env=clean, stdout=err, stderr=subprocess.STDOUT
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"exited ({self.process.returncode}) before {what}:\n{self.text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}:\n{self.text()}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait(timeout=10)


def raw_ids(lake: Path) -> list[int]:
    raw = LocalStore(lake / "raw")
    days = [date.fromisoformat(p.name.split("=")[1])
            for p in (lake / "raw" / "telegram").glob("context_date=*")]  # fmt: skip
    pairs = [pair for day in days for pair in read_partition(raw, day)]
    return sorted(orjson.loads(body)["update_id"] for _, body in pairs)


def answers_to(fake: Any, update_id: int) -> list[dict[str, Any]]:
    """Every call that tried to answer ``update_id`` (sent or cut short)."""
    calls = [c for c in fake.calls() if c["method"] in ("sendMessage", "sendPhoto")]
    return [c for c in calls if (c["params"].get("reply_parameters") or {}).get("message_id")
            == update_id]  # fmt: skip


def chat(now: int, first: int, count: int) -> list[dict[str, Any]]:
    return [message(first + i, date=now - count + i, sender=PEOPLE[i % 2], text=f"hi {i}")
            for i in range(count)]  # fmt: skip


def test_run_replies_polling_answers_registers_the_menu_and_never_prints_the_token(
    fake: Any, tmp_path: Path, children: list[Child]
) -> None:
    lake = tmp_path / "lake"
    now = int(time.time())
    fake.enqueue(chat(now, 1, 20))
    child = Child(["--debug", "run", "--replies", "--lake", str(lake), "--poll-timeout", "1"],
                  fake, tmp_path)  # fmt: skip
    children.append(child)
    child.wait_for(lambda: len(fake.commands()) == 3, "the command menu")
    child.wait_for(lambda: len(raw_ids(lake)) == 20, "20 updates stored")
    asked = time.time()
    fake.enqueue([message(100, date=int(asked), sender=PEOPLE[0], text="/stats today")])
    child.wait_for(lambda: bool(fake.sent(GROUP)), "the answer")
    answer = fake.sent(GROUP)[0]
    latency = answer["at"] - asked
    print(f"\n/stats answered {latency:.2f} s after Telegram had it (polling, 1 s long polls)")
    assert answer["method"] == "sendPhoto" and "Messages: 21 (" in answer["text"]
    assert {c["command"] for c in fake.commands()["default"]} >= {"stats", "top", "me", "help"}
    assert "forgetme" not in str(fake.commands())  # not allowed by the operator
    assert child.stop() == 0
    secret_part = fake.token.split(":", 1)[1]
    assert secret_part not in child.text()
    for path in lake.rglob("*"):
        if path.is_file():
            assert secret_part.encode() not in path.read_bytes(), path


def test_without_replies_the_bot_posts_nothing(
    fake: Any, tmp_path: Path, children: list[Child]
) -> None:
    lake = tmp_path / "lake"
    fake.enqueue([message(1, date=int(time.time()), sender=PEOPLE[0], text="/stats")])
    child = Child(["run", "--lake", str(lake), "--poll-timeout", "1"], fake, tmp_path)
    children.append(child)
    child.wait_for(lambda: raw_ids(lake) == [1], "the command stored")
    time.sleep(2)
    assert child.stop() == 0
    assert fake.sent() == [] and fake.commands() == {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_replies_webhook_answers_and_a_stuck_responder_delays_no_acknowledgement(
    fake: Any, tmp_path: Path, children: list[Child]
) -> None:
    lake, port = tmp_path / "lake", free_port()
    url = f"http://127.0.0.1:{port}/webhook"
    child = Child(["run", "--replies", "--lake", str(lake), "--webhook-url", url, "--port",
                   str(port), "--secret", SECRET, "--no-etl-at-start"], fake, tmp_path)  # fmt: skip
    children.append(child)
    child.wait_for(lambda: fake.state()["webhook"].get("url") == url, "setWebhook")
    fake.start_bot(PEOPLE[0]["id"])
    fake.slow("sendMessage", 20, times=1)  # the first answer hangs for 20 s
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    with httpx.Client(trust_env=False, timeout=10) as client:

        def post(update: dict[str, Any]) -> float:
            started = time.perf_counter()
            deadline = time.monotonic() + 30
            while True:
                try:
                    response = client.post(url, content=orjson.dumps(update), headers=headers)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            assert response.status_code == 200, response.text
            return time.perf_counter() - started

        now = int(time.time())
        post(private(1, date=now, sender=PEOPLE[0], text="/help"))
        child.wait_for(lambda: bool(answers_to(fake, 1)), "the stuck answer in flight")
        # While the responder waits on Telegram, every update is acknowledged at once.
        latencies = [post(m) for m in chat(now, 10, 50)]
        post(message(200, date=now, sender=PEOPLE[1], text="/top today"))
        assert raw_ids(lake) == [1, *range(10, 60), 200]
        assert max(latencies) < 1.0, latencies
        print(f"\nwebhook POST while the responder is stuck: max {max(latencies) * 1000:.0f} ms")
        child.wait_for(lambda: bool(fake.sent(GROUP)), "the /top answer after the stuck one")
    assert "2. Ana" in fake.sent(GROUP)[0]["text"] or "1. Ana" in fake.sent(GROUP)[0]["text"]
    assert child.stop() == 0


def test_kill_9_mid_answer_loses_no_update_and_answers_at_most_once_more(
    fake: Any, tmp_path: Path, children: list[Child]
) -> None:
    lake = tmp_path / "lake"
    now = int(time.time())
    first = [*chat(now, 1, 30), message(100, date=now, sender=PEOPLE[0], text="/stats today")]
    fake.enqueue(first)
    fake.slow("sendPhoto", 60, times=1)  # the answer is in flight when the process dies
    args = ["run", "--replies", "--lake", str(lake), "--poll-timeout", "1", "--no-etl-at-start"]
    child = Child(args, fake, tmp_path)
    children.append(child)
    child.wait_for(lambda: bool(answers_to(fake, 100)), "the answer in flight")
    child.stop(signal.SIGKILL)
    assert raw_ids(lake) == [u["update_id"] for u in first]
    # Meanwhile more arrives; then the operator starts it again.
    second = [*chat(now, 200, 10), message(300, date=now, sender=PEOPLE[1], text="/top")]
    fake.enqueue(second)
    again = Child(args, fake, tmp_path)
    children.append(again)
    again.wait_for(lambda: len(fake.sent(GROUP)) == 2, "both answers after the restart")
    time.sleep(2)  # nothing more comes
    assert len(answers_to(fake, 100)) == 2  # the one cut short, and one more
    assert len(answers_to(fake, 300)) == 1
    assert again.stop() == 0
    assert raw_ids(lake) == sorted(u["update_id"] for u in first + second)

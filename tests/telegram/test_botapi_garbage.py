"""Answers that are not the Bot API's never end a collector (issue 14, class 4).

Against the fake Telegram over real HTTP: an HTTP 200 whose body is an HTML
page, a JSON list, an object without ``ok``, or a ``result`` of the wrong
shape is a transient failure (retried with backoff, one log line each, never
an exit); a ``retry_after`` of hours is capped and the log line says so; an
answer dripped one byte every 0.4 s (which never trips a per-read timeout)
is cut off by the request's overall deadline. Then ``telelake poll`` as a
process: more garbage than the client's attempts and it is still running,
storing the updates that follow.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fake_bot_api import make_update

from telelake.telegram.botapi import BotApi

if TYPE_CHECKING:
    from fake_bot_api import FakeBotApi

GARBAGE = ["html", "list", "no-ok", "shape"]


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.mark.parametrize("garbage", GARBAGE)
def test_a_malformed_200_is_retried_with_one_log_line(
    fake_api: FakeBotApi, garbage: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.enqueue([make_update(1)])
    fake_api.fail("getUpdates", 200, times=2, garbage=garbage)
    sleeps = Sleeps()
    with caplog.at_level(logging.WARNING, "telelake.botapi"), BotApi(
        fake_api.token, fake_api.url, sleep=sleeps, backoff_base=0.5, backoff_cap=2.0
    ) as api:  # fmt: skip
        updates = api.get_updates(timeout=0)
    assert [u["update_id"] for u in updates] == [1]
    assert len(sleeps.delays) == 2 and all(0 <= d <= 2.0 for d in sleeps.delays)
    lines = [r.getMessage() for r in caplog.records if r.name == "telelake.botapi"]
    assert len(lines) == 2, lines
    assert all("malformed answer" in line for line in lines), lines
    assert len(fake_api.calls("getUpdates")) == 3


def test_a_malformed_get_me_is_retried_too(fake_api: FakeBotApi) -> None:
    fake_api.fail("getMe", 200, times=1, garbage="list")
    with BotApi(fake_api.token, fake_api.url, sleep=Sleeps()) as api:
        assert api.get_me()["is_bot"] is True


def test_retry_after_is_capped_and_the_log_says_so(
    fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    # Telegram's flood waits can be hours: a command must not sleep that long.
    fake_api.fail("getMe", 429, times=1, retry_after=36_000)
    sleeps = Sleeps()
    with caplog.at_level(logging.WARNING, "telelake.botapi"), BotApi(
        fake_api.token, fake_api.url, sleep=sleeps
    ) as api:  # fmt: skip
        assert api.get_me()["is_bot"] is True
    assert sleeps.delays == [300.0]
    [line] = [r.getMessage() for r in caplog.records if r.name == "telelake.botapi"]
    assert "asked to wait 36000 s; waiting at most 300 s" in line


def test_a_dripping_answer_is_cut_off_by_the_request_deadline(fake_api: FakeBotApi) -> None:
    # 26 bytes, one every 0.4 s: 10 s in all, and no single read ever waits 1 s.
    fake_api.enqueue([make_update(1)])
    fake_api.fail("getUpdates", 200, times=1, garbage="drip")
    sleeps = Sleeps()
    started = time.monotonic()
    with BotApi(fake_api.token, fake_api.url, sleep=sleeps, timeout=1.0,
                deadline_slack=1.0) as api:  # fmt: skip
        updates = api.get_updates(timeout=0)
    took = time.monotonic() - started
    assert [u["update_id"] for u in updates] == [1]
    assert len(sleeps.delays) == 1  # the dripping attempt failed, the next one answered
    # timeout=0 gives a read timeout of 1 s: the attempt ends 1 + 1 s after it started.
    assert took < 4.0, f"the dripping answer held the request {took:.1f} s"


def test_poll_keeps_running_through_more_garbage_than_its_attempts(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    fake_api.fail("getUpdates", 200, times=8, garbage="html")
    fake_api.enqueue([make_update(i) for i in (1, 2, 3)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    env.update(TELEGRAM_BOT_TOKEN=fake_api.token, TELEGRAM_API_URL=fake_api.url)
    lake = tmp_path / "lake"
    log = tmp_path / "poll.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "telelake", "poll", "--lake", str(lake), "--poll-timeout", "0"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        stored: list[Path] = []
        while time.monotonic() < deadline and len(stored) < 3:
            assert process.poll() is None, f"poll exited {process.returncode}:\n{log.read_text()}"
            time.sleep(0.2)
            stored = list((lake / "raw" / "telegram").rglob("*.json")) if lake.exists() else []
        assert len(stored) == 3, log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, log.read_text()
    text = log.read_text()
    assert "malformed answer" in text
    assert "Traceback" not in text

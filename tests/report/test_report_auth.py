"""Guessing the ``/report`` password or the webhook secret is slow, seen, and never echoed.

Against a real ``telelake serve`` over real HTTP: one client hammering wrong
passwords gets five free tries, then waits that double (429 with
``Retry-After``, the password not even checked meanwhile), so two seconds of
guessing from one connection check a handful of guesses, not thousands;
every refusal is a log line without the value tried; a weak password keeps
the page off with one line saying why; refused webhook secrets are logged
too. The back-off itself is checked on a clock the test controls.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from telelake.ingest.refusals import Backoff, RefusalLog
from telelake.report.serve import password_problem

PASSWORD = "correct-horse-battery-staple"
GUESSES = ("guess-number-one-x", "guess-number-two-y", "")


def test_guessing_from_one_client_is_slowed_down_and_logged(
    serve_webhook: Any, tmp_path: Path
) -> None:
    server = serve_webhook(tmp_path / "lake", extra_env={"TELELAKE_REPORT_PASSWORD": PASSWORD})
    url = f"{server.url}/report"
    assert server.client.get(url).status_code == 401  # no password offered: not a guess
    statuses = []
    deadline = time.monotonic() + 2.0
    n = 0
    while time.monotonic() < deadline:
        statuses.append(server.client.get(url, auth=("me", f"wrong-password-{n:06d}")).status_code)
        n += 1
    checked = statuses.count(401)
    # 5 free, then a wait of 1 s: in 2 s at most 6 or 7 guesses are ever compared.
    assert 5 <= checked <= 7, statuses[:12]
    assert set(statuses) == {401, 429}
    waiting = server.client.get(url, auth=("me", PASSWORD))
    assert waiting.status_code == 429  # even the right password waits its turn
    assert int(waiting.headers["retry-after"]) >= 1
    time.sleep(float(waiting.headers["retry-after"]))
    assert server.client.get(url, auth=("me", PASSWORD)).status_code == 200
    # Success forgets the failures: the next mistake is free again.
    assert server.client.get(url, auth=("me", "wrong-password-again")).status_code == 401
    assert server.client.get(url, params={"key": PASSWORD}).status_code == 200
    server.stop()
    log = server.stderr()
    refusals = [line for line in log.splitlines() if "/report: refused" in line]
    assert len(refusals) == 60  # then one line: more are not logged one by one
    assert "more are not logged one by one" in log
    assert "wrong password" in log and "no password given" in log
    assert "wrong-password-0" not in log and PASSWORD not in log


def test_a_weak_report_password_leaves_the_page_off(serve_webhook: Any, tmp_path: Path) -> None:
    server = serve_webhook(tmp_path / "lake", extra_env={"TELELAKE_REPORT_PASSWORD": "a"})
    assert server.client.get(f"{server.url}/report", params={"key": "a"}).status_code == 404
    server.stop()
    [line] = [line for line in server.stderr().splitlines() if "/report" in line]
    assert "too weak" in line and "at least 15" in line


def test_refused_webhook_secrets_are_logged_without_the_value(
    serve_webhook: Any, tmp_path: Path
) -> None:
    server = serve_webhook(tmp_path / "lake")
    update = orjson.dumps({"update_id": 1, "message": {"message_id": 1}})
    assert server.post(update, secret=None).status_code == 401
    assert server.post(update, secret="not-the-secret-9").status_code == 403
    server.stop()
    log = server.stderr()
    assert "refused a webhook request from 127.0.0.1: no secret token" in log
    assert "refused a webhook request from 127.0.0.1: a wrong secret token" in log
    assert "not-the-secret-9" not in log


@pytest.mark.parametrize(
    ("password", "weak"),
    [
        ("change-me", True),  # 9 characters
        ("aaaaaaaaaaaaaaaaaaaa", True),  # one character, 20 times
        ("abababababababab", True),  # two different characters
        ("correct-horse-battery-staple", False),
        ("Tr0ub4dor&3xyzzy", False),
    ],
)
def test_password_strength(password: str, weak: bool) -> None:
    assert (password_problem(password) is not None) == weak


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_up_to_its_cap_and_forgets() -> None:
    clock = Clock()
    backoff = Backoff(free=2, first=1.0, cap=8.0, forget_after=60.0, clock=clock)
    waits = [backoff.failed("a")[1] for _ in range(7)]
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.wait_left("a") == 8.0
    assert backoff.wait_left("b") == 0.0  # per client
    clock.now += 8.0
    assert backoff.wait_left("a") == 0.0
    clock.now += 61.0  # an hour of quiet (here 60 s) forgets the failures
    assert backoff.failed("a") == (1, 0.0)
    backoff.succeeded("a")
    assert backoff.wait_left("a") == 0.0


def test_backoff_table_is_bounded() -> None:
    backoff = Backoff(free=0, max_clients=100)
    for n in range(1000):
        backoff.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(backoff._clients) == 100
    assert backoff.wait_left("10.0.0.0") == 0.0  # the oldest were dropped


def test_refusal_log_is_bounded_per_minute(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    clock = Clock()
    refusals = RefusalLog(logging.getLogger("test.refusals"), per_minute=3, clock=clock)
    with caplog.at_level(logging.WARNING, "test.refusals"):
        for n in range(10):
            refusals.refused("refused %d", n)
        clock.now += 61
        refusals.refused("refused %d", 99)
    assert [r.getMessage() for r in caplog.records] == [
        "refused 0",
        "refused 1",
        "refused 2",
        "4 refusals within a minute: more are not logged one by one",
        "7 more refusals in the last minute, not logged one by one",
        "refused 99",
    ]

"""``telelake demo``: the whole pipeline on one machine, offline, with no token.

It plays Telegram: a simulated group's updates are POSTed over real HTTP,
with the secret header, to a real ``telelake serve`` process on loopback,
re-deliveries included. Then the ETL builds the changed partitions and the
result is checked against what was sent. Nothing here is a shortcut around
the product: the demo drives the same server, ETL and engine a user runs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from telelake.config import Settings
from telelake.console import build_with_progress, print_etl_summary, progress_bar, stderr
from telelake.demo.simulator import Traffic, simulate
from telelake.errors import StorageError, TelelakeError, UsageError
from telelake.etl.layers import Layers
from telelake.ingest.snapshots import store_snapshot
from telelake.lake.storage import open_store
from telelake.lake.tables import MESSAGES

DEMO_MARKER = ".telelake-demo"
SENDERS = 16
ATTEMPTS = 5


def prepare_lake(lake: Path) -> None:
    """Empty a previous demo lake; refuse to touch a lake the demo did not write."""
    if lake.exists() and any(lake.iterdir()):
        if not (lake / DEMO_MARKER).exists():
            raise UsageError(
                f"{lake} already holds data the demo did not write; "
                "choose an empty folder with --lake"
            )
        for name in ("raw", "enriched", "report.html"):
            target = lake / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    lake.mkdir(parents=True, exist_ok=True)
    (lake / DEMO_MARKER).write_text("written by `telelake demo`; safe to delete\n")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A real ``telelake serve`` child process on loopback."""

    def __init__(self, settings: Settings, secret: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELELAKE_")}
        env["TELELAKE_WEBHOOK_SECRET"] = secret
        command = [
            sys.executable, "-m", "telelake", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--lake", settings.lake, "--timezone", settings.timezone,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise TelelakeError(f"telelake serve exited early: {err.strip()[-500:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TelelakeError(f"telelake serve did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


def deliver(url: str, secret: str, bodies: list[bytes]) -> dict[int, int]:
    """POST every body like Telegram does (retrying non-2xx); status code -> count."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=SENDERS, max_keepalive_connections=SENDERS)
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=url, headers=headers, limits=limits, timeout=30.0) as client:

        def send(body: bytes) -> int:
            status = 0
            for attempt in range(ATTEMPTS):
                try:
                    status = client.post("/webhook", content=body).status_code
                except httpx.TransportError:
                    status = 0
                if 200 <= status < 300:
                    break
                time.sleep(0.2 * (attempt + 1))
            return status

        with (
            progress_bar("deliver") as bar,
            ThreadPoolExecutor(max_workers=SENDERS) as pool,
        ):
            task = bar.add_task("POST /webhook", total=len(bodies))
            for status in pool.map(send, bodies):
                statuses[status] = statuses.get(status, 0) + 1
                bar.advance(task)
    return statuses


def run_demo(settings: Settings, *, days: int, users: int, per_day: int, seed: int) -> Traffic:
    """Simulate, deliver over HTTP, build; raise if the lake disagrees with what was sent."""
    lake = Path(settings.lake)
    prepare_lake(lake)
    demo_settings = Settings(lake=str(lake), timezone=settings.timezone)
    traffic = simulate(
        seed=seed, users=users, days=days, messages_per_day=per_day, timezone=settings.timezone
    )
    stderr.print(
        f"simulated {traffic.unique_updates:,} updates from {users} members over {days} days "
        f"({traffic.first_day} .. {traffic.last_day}, {settings.timezone}), "
        f"{traffic.redeliveries:,} of them delivered twice"
    )
    secret = secrets.token_urlsafe(24)
    server = ServerProcess(demo_settings, secret)
    try:
        server.wait_ready()
        stderr.print(f"telelake serve is up at {server.url}/webhook (pid {server.process.pid})")
        started = time.perf_counter()
        statuses = deliver(server.url, secret, traffic.bodies)
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    failed = sum(n for status, n in statuses.items() if not 200 <= status < 300)
    stderr.print(
        f"delivered {len(traffic.bodies):,} requests in {elapsed:.1f} s "
        f"({len(traffic.bodies) / max(elapsed, 1e-9):,.0f}/s), every one acknowledged durably"
        if not failed
        else f"[red]{failed} requests were never acknowledged[/red]"
    )
    if failed:
        raise StorageError(f"{failed} updates were not acknowledged by the webhook")

    # What `telelake run` asks Telegram once a day (getChatMemberCount), from the
    # simulation's own membership, so the member-count charts have days to show.
    raw = open_store(demo_settings.raw_url)
    for chat, day, taken_at, members in traffic.member_counts:
        store_snapshot(raw, chat, day, taken_at, members)
    summary = build_with_progress(Layers.open(demo_settings))
    print_etl_summary(summary, demo_settings.enriched_url)
    found = summary.total(MESSAGES)
    if found != traffic.messages:
        raise TelelakeError(
            f"the messages table has {found} rows, "
            f"but {traffic.messages} distinct messages were sent"
        )
    stderr.print(
        f"[green]check:[/green] {found:,} distinct messages sent = {found:,} rows in `telegram` "
        f"(re-deliveries and edits did not inflate counts)"
    )
    return traffic

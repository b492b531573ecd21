"""DESIGN §3.8 end to end: every command, at ``--debug``, never shows the token or the secret.

Each registered command (and each sub-command of a group) has a recipe here
that runs it the way a user would, as a child process with
``TELEGRAM_BOT_TOKEN`` and ``TELELAKE_WEBHOOK_SECRET`` set and ``--debug``
on, against the fake Bot API server and a scratch lake; long-running ones
(serve, poll, run) are started, fed traffic, and stopped. Then neither the
token nor the secret may appear in stdout, stderr or any file written, while
the fake server proves the token *was* used where a command talks to
Telegram. A command without a recipe fails the test by name, so a new
command cannot skip this check.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fake_bot_api
import httpx
import orjson
import pytest
import typer

from telelake.cli import app

REPO_ROOT = Path(__file__).resolve().parents[1]


make_update = fake_bot_api.make_update
TOKEN: str = fake_bot_api.TOKEN
SECRET = "whsec-Q7mN2pR8vX4kL9tY3bH6jD1fG5sA0zWc"
FORBIDDEN = (TOKEN, TOKEN.split(":", 1)[1], SECRET)


def registered_commands() -> list[str]:
    """Every command path: ``serve``, ``bot me``, ... (groups expanded)."""
    root = typer.main.get_command(app)
    names: list[str] = []
    for name, command in sorted(root.commands.items()):  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        if sub:
            names += [f"{name} {child}" for child in sorted(sub)]
        else:
            names.append(name)
    return names


@dataclass
class World:
    """What a recipe gets: the fake Telegram, a scratch folder, and the outputs to check."""

    fake: Any
    work: Path
    outputs: list[str] = field(default_factory=list)
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def lake(self) -> Path:
        return self.work / "lake"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELELAKE_WEBHOOK_SECRET=SECRET,
                   TELEGRAM_API_URL=self.fake.url, PYTHONPATH=str(REPO_ROOT),
                   PYTHONUNBUFFERED="1")  # fmt: skip
        env.update(extra)
        return env

    def run(self, *args: str, expect: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "telelake", "--debug", *args],
            capture_output=True, text=True, cwd=self.work, env=self.env(**env), timeout=120,
        )  # fmt: skip
        self.outputs += [result.stdout, result.stderr]
        assert result.returncode == expect, (args, result.stdout, result.stderr)
        return result

    def start(self, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.work / f"child-{len(self.children)}.log"
        with log.open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "telelake", "--debug", *args],
                cwd=self.work, env=self.env(), stdout=err, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.children.append(process)
        return process, log

    def stop(self, process: subprocess.Popen[bytes], log: Path, *codes: int) -> None:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) in (codes or (0,)), log.read_text()
        self.outputs.append(log.read_text(errors="replace"))

    def wait(self, condition: Callable[[], bool], what: str, process: Any, log: Path) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert process.poll() is None, f"exited before {what}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"timed out: {what}:\n{log.read_text()}"
            time.sleep(0.05)

    def stored(self) -> int:
        """Updates in the raw layer, as objects or packed into segments (``run`` compacts)."""
        from datetime import date

        from telelake.lake.segments import read_partition
        from telelake.lake.storage import LocalStore

        folder = self.lake / "raw" / "telegram"
        days = [date.fromisoformat(p.name.split("=")[1]) for p in folder.glob("context_date=*")]
        raw = LocalStore(self.lake / "raw")
        return sum(len(read_partition(raw, day)) for day in days)

    def feed(self, count: int, first: int) -> None:
        self.fake.enqueue(
            make_update(first + i, date=1_764_000_000 + 600 * i) for i in range(count)
        )


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1, trust_env=False).status_code == 200
        except httpx.TransportError:
            return False

    return check


# -- recipes: one per command path ------------------------------------------


def r_demo(w: World) -> None:
    w.run("demo", "--lake", str(w.lake), "--days", "1", "--users", "10", "--per-day", "20")


def r_serve(w: World) -> None:
    port = _port()
    process, log = w.start("serve", "--port", str(port), "--lake", str(w.lake))
    w.wait(_healthy(f"http://127.0.0.1:{port}/healthz"), "serve is up", process, log)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    url = f"http://127.0.0.1:{port}/webhook"
    body = orjson.dumps(make_update(1))
    assert httpx.post(url, content=body, headers=headers, trust_env=False).status_code == 200
    assert httpx.post(url, content=body, trust_env=False).status_code == 401
    # uvicorn re-raises the SIGTERM it handled; serve turns that into exit 0.
    w.stop(process, log, 0)


def _small_lake(w: World) -> None:
    from telelake.config import Settings
    from telelake.ingest.core import Ingestor
    from telelake.lake.storage import LocalStore

    ingestor = Ingestor(Settings(lake=str(w.lake)), LocalStore(w.lake / "raw"))
    for i in range(5):
        ingestor.accept(orjson.dumps(make_update(10 + i)))


def r_etl(w: World) -> None:
    _small_lake(w)
    w.run("etl", "--lake", str(w.lake))


def r_query(w: World) -> None:
    r_etl(w)
    w.run("query", "SELECT user_first_name, text FROM telegram", "--lake", str(w.lake),
          "--format", "json")  # fmt: skip
    # SQL quoting the token fails: the error line must not echo it.
    w.run("query", f'SELECT * FROM "bot{TOKEN}"', "--lake", str(w.lake), expect=1)


def r_report(w: World) -> None:
    r_etl(w)
    w.run("report", "--lake", str(w.lake), "--html", str(w.lake / "report.html"))


def r_bot_me(w: World) -> None:
    w.fake.fail("getMe", 429, times=1, retry_after=1)
    w.fake.fail("getMe", 502, times=1)
    w.run("bot", "me")  # retries are logged with their URL at DEBUG
    # A rejected token, and an unreachable API with a traceback at --debug.
    w.run("bot", "me", expect=1, TELEGRAM_BOT_TOKEN="55555555:AAanotherbotanotherbotanotherbot_zz")
    w.run("bot", "me", expect=1, TELEGRAM_API_URL="http://127.0.0.1:9")


def r_bot_webhook_set(w: World) -> None:
    result = w.run("bot", "webhook-set", "https://bot.example.org/webhook", "--with-reactions")
    assert "TELELAKE_WEBHOOK_SECRET=" not in result.stdout  # configured, so never printed
    assert w.fake.state()["webhook"]["secret_token"] == SECRET


def r_bot_webhook_info(w: World) -> None:
    w.fake.set_webhook("https://bot.example.org/webhook")
    w.run("bot", "webhook-info")


def r_bot_webhook_delete(w: World) -> None:
    w.run("bot", "webhook-delete", "--drop-pending")


def r_bot_commands_set(w: World) -> None:
    w.fake.fail("setMyCommands", 429, times=1, retry_after=1)
    w.run("bot", "commands-set")


def r_poll(w: World) -> None:
    w.feed(30, 100)
    process, log = w.start("poll", "--lake", str(w.lake), "--poll-timeout", "1")
    w.wait(lambda: w.stored() == 30, "30 updates stored", process, log)
    w.stop(process, log)
    # While a webhook is set: the 409 error line.
    w.fake.set_webhook("https://bot.example.org/webhook")
    w.run("poll", "--lake", str(w.lake), expect=1)


def r_run(w: World) -> None:
    w.feed(20, 300)
    process, log = w.start("run", "--lake", str(w.lake), "--poll-timeout", "1")
    w.wait(lambda: w.stored() == 20, "20 updates stored", process, log)
    w.stop(process, log)
    port = _port()
    url = f"http://127.0.0.1:{port}/webhook"
    process, log = w.start("run", "--lake", str(w.lake), "--webhook-url", url,
                           "--port", str(port))  # fmt: skip
    w.wait(_healthy(f"http://127.0.0.1:{port}/healthz"), "run --webhook-url is up", process, log)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    body = orjson.dumps(make_update(999))
    assert httpx.post(url, content=body, headers=headers, trust_env=False).status_code == 200
    w.stop(process, log)
    assert w.stored() == 21
    # With replies (--debug logs every Bot API call): a command answered.
    w.run("bot", "webhook-delete")
    w.fake.set_chat(-1001)
    w.fake.enqueue([make_update(1000, date=int(time.time()), text="/stats today")])
    process, log = w.start("run", "--replies", "--lake", str(w.lake), "--poll-timeout", "1")
    w.wait(lambda: bool(w.fake.sent(-1001)), "the /stats answer", process, log)
    w.stop(process, log)


# Placeholders for commands other issues add: best-guess invocations. A usage
# error (exit 2) means the recipe needs its real arguments.


def r_athena_ddl(w: World) -> None:
    w.run("athena-ddl", "--enriched", "s3://example-bucket/enriched")


def r_import(w: World) -> None:
    export = w.work / "result.json"
    export.write_text(json.dumps({
        "name": "Lake Friends", "type": "private_supergroup", "id": 1001,
        "messages": [{"id": 1, "type": "message", "date": "2025-11-24T16:00:00",
                      "date_unixtime": "1764000000", "from": "Ana", "from_id": "user42",
                      "text": "hello", "text_entities": [{"type": "plain", "text": "hello"}]}],
    }))  # fmt: skip
    w.run("import", str(export), "--lake", str(w.lake))


def r_forget(w: World) -> None:
    _small_lake(w)
    w.run("forget", "--user-id", "42", "--lake", str(w.lake), "--yes")


def r_compact(w: World) -> None:
    _small_lake(w)
    w.run("compact", "--lake", str(w.lake), "--all", "--compact-after", "0")


RECIPES: dict[str, Callable[[World], None]] = {
    "demo": r_demo,
    "serve": r_serve,
    "etl": r_etl,
    "query": r_query,
    "report": r_report,
    "bot me": r_bot_me,
    "bot webhook-set": r_bot_webhook_set,
    "bot webhook-info": r_bot_webhook_info,
    "bot webhook-delete": r_bot_webhook_delete,
    "bot commands-set": r_bot_commands_set,
    "poll": r_poll,
    "run": r_run,
    "athena-ddl": r_athena_ddl,
    "import": r_import,
    "forget": r_forget,
    "compact": r_compact,
}
# Commands that never talk to Telegram: the token is set but must not be used.
USES_TOKEN = {"bot me", "bot webhook-set", "bot webhook-info", "bot webhook-delete", "poll", "run",
              "bot commands-set"}  # fmt: skip
COMMANDS = registered_commands()


def test_every_command_has_a_recipe() -> None:
    missing = [name for name in COMMANDS if name not in RECIPES]
    assert not missing, "".join(
        f"no recipe for command {name!r} in tests/test_token_never_logged.py: add one\n"
        for name in missing
    )


@pytest.fixture(scope="module")
def fake_server() -> Iterator[Any]:
    with fake_bot_api.running_fake_bot_api() as fake:
        yield fake


@pytest.mark.parametrize("command", sorted(RECIPES))
def test_the_token_and_secret_never_appear(command: str, fake_server: Any, tmp_path: Path) -> None:
    if command not in COMMANDS:
        pytest.skip(f"`telelake {command}` is not registered (yet)")
    fake_server.reset()
    world = World(fake_server, tmp_path)
    try:
        RECIPES[command](world)
    finally:
        for process in world.children:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert world.outputs, "the recipe ran nothing"
    for text in world.outputs:
        for secret in FORBIDDEN:
            assert secret not in text, f"`telelake {command}` printed a secret:\n{text[-3000:]}"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in FORBIDDEN:
                assert secret.encode() not in data, f"`telelake {command}` wrote a secret to {path}"
    used = [c for c in fake_server.calls() if c["token_ok"]]
    if command in USES_TOKEN:
        assert used, f"`telelake {command}` never used the token: the test proves nothing"
    else:
        assert not used, f"`telelake {command}` called the Bot API"

"""Shared test fixtures: recorded Telegram updates and a real ``telelake serve`` process.

Test modules get these through fixtures. ``from conftest import ...`` is fragile:
with several non-package ``conftest.py`` files, the name ``conftest`` means the
one imported last; import only for type checking (``if TYPE_CHECKING``).

The webhook is tested the way Telegram meets it: a separate process listening
on 127.0.0.1, spoken to over real HTTP, writing to a real folder. Nothing here
knows how the lake is laid out; tests read it back with the lake's own reader
or plain file access.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The fake Telegram Bot API server (tests/telegram/fake_bot_api.py) is a plain
# module, importable by its name from every test folder.
sys.path.insert(0, str(Path(__file__).resolve().parent / "telegram"))
# One moto S3 server per session for every folder that needs S3 (tests/aws and
# the store contract in tests/lake); tests/ itself is on sys.path (rootdir conftest).
pytest_plugins = ["moto_server"]
EVENTS_DIR = Path(__file__).resolve().parent / "events"
# The shared corpus sits beside the checkout and is never copied into it.
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"

DEFAULT_SECRET = "test-secret-123"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STARTUP_TIMEOUT = 10.0
_UNSET: Any = object()


def load_event(name: str) -> bytes:
    """The exact bytes of ``tests/events/<name>`` (the ``.json`` suffix is optional)."""
    file = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    return file.read_bytes()


def event_names() -> list[str]:
    """Every recorded update fixture, by file name (for parametrize)."""
    return sorted(path.name for path in EVENTS_DIR.glob("*.json"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running ``telelake serve`` process and a client that speaks to it."""

    url: str
    webhook_url: str
    secret: str | None
    process: subprocess.Popen[bytes]
    stderr_path: Path
    # trust_env=False: a proxy configured in the environment must not sit between test and server.
    client: httpx.Client = field(repr=False)

    def post(
        self,
        body: bytes | Iterable[bytes],
        secret: str | None = _UNSET,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST ``body`` to the webhook as Telegram does; ``secret=None`` sends no header."""
        token = self.secret if secret is _UNSET else secret
        sent = {"Content-Type": "application/json"}
        if token is not None:
            sent[SECRET_HEADER] = token
        sent.update(headers or {})
        return self.client.post(self.webhook_url, content=body, headers=sent)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit promptly."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _server_env(secret: str | None, extra_env: Mapping[str, str | None] | None) -> dict[str, str]:
    # Settings a developer has exported must not leak into the process under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELELAKE_")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    if secret is not None:
        env["TELELAKE_WEBHOOK_SECRET"] = secret
    for key, value in (extra_env or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


class ServerPool:
    """Starts ``telelake serve`` processes and stops every one of them on :meth:`close`."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.servers: list[Server] = []

    def start(
        self,
        lake: Path,
        *,
        secret: str | None = DEFAULT_SECRET,
        chat_ids: Iterable[int] = (),
        timezone: str = "UTC",
        extra_env: Mapping[str, str | None] | None = None,
    ) -> Server:
        args = ["--lake", str(lake), "--timezone", timezone]
        for chat_id in chat_ids:
            args += ["--chat-id", str(chat_id)]
        env = _server_env(secret, extra_env)
        for _attempt in range(3):
            server = self._launch(args, env, secret)
            if server is not None:
                return server
        pytest.fail("telelake serve could not find a free port in 3 attempts")

    def _launch(self, args: list[str], env: dict[str, str], secret: str | None) -> Server | None:
        port = free_port()
        index = len(self.servers)
        stderr_path = self.work_dir / f"serve-{index}-{port}.stderr"
        command = [sys.executable, "-m", "telelake", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), *args]
        with stderr_path.open("wb") as stderr:
            # cwd is a scratch folder so a developer's ./telelake.toml is not read.
            process = subprocess.Popen(
                command, cwd=self.work_dir, env=env, stdout=subprocess.DEVNULL, stderr=stderr
            )
        url = f"http://127.0.0.1:{port}"
        server = Server(
            url=url,
            webhook_url=f"{url}/webhook",
            secret=secret,
            process=process,
            stderr_path=stderr_path,
            client=httpx.Client(timeout=10.0, trust_env=False),
        )
        self.servers.append(server)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                text = server.stderr()
                server.client.close()
                if "address already in use" in text.lower():
                    return None
                pytest.fail(f"telelake serve exited with {process.returncode}:\n{text}")
            try:
                # Up: 200 ready, or 503 "not ready" (a lake it cannot write, on purpose).
                if server.client.get(f"{url}/healthz", timeout=0.5).status_code in (200, 503):
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        server.stop()
        pytest.fail(f"telelake serve not healthy after {STARTUP_TIMEOUT} s:\n{server.stderr()}")

    def close(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def serve_webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Factory: ``serve_webhook(lake, secret=..., chat_ids=..., timezone=..., extra_env=...)``."""
    pool = ServerPool(tmp_path_factory.mktemp("serve"))
    try:
        yield pool.start
    finally:
        pool.close()


@pytest.fixture(scope="module")
def serve_webhook_module(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., Server]]:
    """``serve_webhook`` whose servers live for the whole test module (share one per module)."""
    pool = ServerPool(tmp_path_factory.mktemp("serve"))
    try:
        yield pool.start
    finally:
        pool.close()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus of real updates, or a skip when this checkout has none beside it."""
    if not (CORPUS_DIR / "updates").is_dir():
        pytest.skip(f"shared Telegram update corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR

"""Unbounded request heads, before any secret is checked, cannot take ``serve`` down.

The attack of issue 14: connections that send tens of MiB of headers that never
end, with no secret. Against a real ``telelake serve`` process over real
sockets, four connections keep trying to send 60 MiB each (reconnecting
whenever the server cuts them off) for a few seconds while real updates are
posted. The server must stay within a few MiB of its memory before the flood
(RSS from /proc), answer every real update 200 within a second, and cut each
flooding connection off after at most a little more than the 32 KiB head
limit (``431``, or a reset while the client is still sending).

Then the deadlines: a head that never ends is answered ``408`` after the
10 s head limit, by the real server; the short limits of an in-process server
show the body deadline and the per-line limits without waiting that long.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from telelake.config import Settings
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore

if TYPE_CHECKING:
    from conftest import Server

FLOODERS = 4
FLOOD_BYTES = 60 * 1024 * 1024
FLOOD_SECONDS = 4.0
CHUNK = 64 * 1024
HEAD_LIMIT = 32 * 1024


def _update(update_id: int) -> bytes:
    message = {"message_id": update_id, "date": 1718452800, "text": f"real {update_id}",
               "chat": {"id": -100, "type": "group"},
               "from": {"id": 7, "is_bot": False, "first_name": "Ana"}}  # fmt: skip
    return json.dumps({"update_id": update_id, "message": message}).encode()


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _port(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _flood_once(port: int, line: bytes) -> tuple[int, bytes]:
    """Send an endless head until the server stops it: (bytes sent, what it answered)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while sent < FLOOD_BYTES:
                sock.sendall(line)
                sent += len(line)
        except OSError:
            pass  # cut off while sending: what the server should do
        try:
            answer = sock.recv(200)
        except OSError:
            answer = b""  # a reset discards the answer; being cut off is what counts
    return sent, answer


@contextmanager
def flooding(port: int) -> Iterator[list[tuple[int, bytes]]]:
    """Four threads flooding (many short header lines, or one endless line) until exit."""
    results: list[tuple[int, bytes]] = []
    stop = threading.Event()
    lines = [b"X-Pad: " + b"a" * 4000 + b"\r\n", b"a" * CHUNK]  # short lines; one endless line

    def flood(line: bytes) -> None:
        while not stop.is_set():
            results.append(_flood_once(port, line))

    threads = [
        threading.Thread(target=flood, args=(lines[i % 2],), daemon=True) for i in range(FLOODERS)
    ]
    for thread in threads:
        thread.start()
    try:
        yield results
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def test_a_header_flood_leaves_memory_flat_and_real_updates_fast(
    serve_webhook: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve_webhook(tmp_path)
    for i in range(20):  # warm up: the first requests load what every later one uses
        assert server.post(_update(i)).status_code == 200
    before = _rss_bytes(server.process.pid)
    peak = before
    latencies: list[float] = []
    with flooding(_port(server)) as results:
        deadline = time.monotonic() + FLOOD_SECONDS
        update_id = 1_000
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = server.post(_update(update_id))
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200, response.text
            update_id += 1
            peak = max(peak, _rss_bytes(server.process.pid))
            time.sleep(0.05)
    grown = (peak - before) / 2**20
    print(f"RSS {before / 2**20:.0f} MiB before, peak {peak / 2**20:.0f} MiB (+{grown:.1f} MiB); "
          f"{len(latencies)} real updates, slowest {max(latencies) * 1000:.0f} ms; "
          f"{len(results)} flooding requests cut off")  # fmt: skip
    assert grown < 16, f"the server grew by {grown:.0f} MiB under the flood"
    assert max(latencies) < 1.0, f"a real update took {max(latencies):.2f} s"
    assert len(results) >= FLOODERS, "the flood never got cut off"
    assert all(sent < 4 * 1024 * 1024 for sent, _ in results), max(s for s, _ in results)
    answered = [answer for _, answer in results if answer]
    assert all(a.startswith(b"HTTP/1.1 431 ") for a in answered), answered[:3]
    store = LocalStore(tmp_path / "raw")
    assert len(store.list("telegram")) == 20 + len(latencies)


def test_a_head_that_never_ends_is_answered_408_after_ten_seconds(
    serve_webhook: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve_webhook(tmp_path)
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=20) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer = sock.recv(200)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert 9.5 < waited < 12, waited


# -- the other limits, with short deadlines, on an in-process server --------------------


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An in-process webhook server with 0.5 s deadlines: (port, raw folder)."""
    import uvicorn

    from telelake.ingest.http_limits import HttpLimits
    from telelake.ingest.webhook import bind, create_app, server_config

    settings = Settings(lake=str(tmp_path), secret="flood-test-secret")
    app = create_app(Ingestor(settings, LocalStore(tmp_path / "raw")))
    sock = bind("127.0.0.1", 0)
    limits = HttpLimits(head_seconds=0.5, body_seconds=0.5)
    server = uvicorn.Server(server_config(app, limits))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1], tmp_path / "raw"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _exchange(port: int, data: bytes, wait: float = 3.0) -> tuple[bytes, float]:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        started = time.monotonic()
        if data:
            sock.sendall(data)
        answer = sock.recv(300)
        return answer, time.monotonic() - started


def test_silence_and_slow_heads_and_bodies_get_408(limited: tuple[int, Path]) -> None:
    port, raw = limited
    for data in (b"", b"POST /webhook HTTP/1.1\r\nHost: x\r\n"):
        answer, waited = _exchange(port, data)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert 0.4 < waited < 2.0, waited
    body = _update(5)
    head = (f"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            "X-Telegram-Bot-Api-Secret-Token: flood-test-secret\r\n\r\n").encode()  # fmt: skip
    answer, waited = _exchange(port, head + body[:-5])
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert not raw.exists() or not LocalStore(raw).list("telegram")  # nothing partial stored


def _response(sock: socket.socket) -> bytes:
    """One whole HTTP response (head and ``Content-Length`` body) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096) or b"!"  # "!": the server closed; the assertion shows it
        if data.endswith(b"!"):
            return data
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_long_lines_get_431_and_normal_requests_pass(limited: tuple[int, Path]) -> None:
    port, raw = limited
    long_url = b"POST /webhook?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    long_header = b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 9000 + b"\r\n\r\n"
    many_lines = b"POST /webhook HTTP/1.1\r\n" + (b"X-Pad: " + b"c" * 1000 + b"\r\n") * 40
    for data in (long_url, long_header, many_lines):
        answer, _ = _exchange(port, data)
        assert answer.startswith(b"HTTP/1.1 431 "), answer
    body = _update(6)
    head = (f"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            "X-Telegram-Bot-Api-Secret-Token: flood-test-secret\r\n\r\n").encode()  # fmt: skip
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + body)
        assert _response(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(1.0)  # idle longer than the head deadline: keep-alive still holds
        sock.sendall(head + _update(7).ljust(len(body)))
        assert _response(sock).startswith(b"HTTP/1.1 200 ")
    assert len(LocalStore(raw).list("telegram")) == 2

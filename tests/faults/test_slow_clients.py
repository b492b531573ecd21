"""Slow clients (slowloris) do not stop ``serve`` from answering real requests promptly.

Hundreds of raw sockets trickle one byte a second: some never finish their
request headers, others send complete headers and then dribble the body.
Meanwhile real updates must each be answered 2xx within a second and stored,
and the trickled bodies must never be stored.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from telelake.lake.storage import LocalStore

if TYPE_CHECKING:
    from conftest import Server

SLOW_HEADERS = 250
SLOW_BODIES = 150
REAL_REQUESTS = 20
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def update(update_id: int) -> bytes:
    payload = {
        "message_id": update_id,
        "from": {"id": 7, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": -100, "type": "group"},
        "date": 1718452800,
        "text": f"real {update_id}",
    }
    return json.dumps({"update_id": update_id, "message": payload}).encode()


@contextmanager
def trickling(server: Server) -> Iterator[list[socket.socket]]:
    """Open the slow connections and send each one more byte every second until exit."""
    port = int(server.url.rsplit(":", 1)[1])
    sockets: list[socket.socket] = []
    pending: dict[socket.socket, bytes] = {}
    for i in range(SLOW_HEADERS + SLOW_BODIES):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i < SLOW_HEADERS:
            sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            pending[sock] = f"X-Padding: {'a' * 200}\r\n".encode()
        else:
            body = update(50_000 + i)
            head = (
                "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"{SECRET_HEADER}: {server.secret}\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode())
            pending[sock] = body[:-1]  # never complete: the server must not store it
        sockets.append(sock)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1.0):
            for sock, rest in list(pending.items()):
                if rest:
                    try:
                        sock.send(rest[:1])
                    except OSError:
                        del pending[sock]
                        continue
                    pending[sock] = rest[1:]

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        yield sockets
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in sockets:
            sock.close()


def test_slow_clients_do_not_delay_real_requests(
    serve_webhook: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve_webhook(tmp_path)
    slowest = 0.0
    sent: list[bytes] = []
    with trickling(server) as sockets:
        time.sleep(1.5)  # every slow connection has sent a byte or two more
        for i in range(REAL_REQUESTS):
            body = update(1_000 + i)
            started = time.monotonic()
            response = server.post(body)
            slowest = max(slowest, time.monotonic() - started)
            assert response.status_code == 200, response.text
            sent.append(body)
            time.sleep(0.1)
        # The slow connections are still open, i.e. they really were in progress meanwhile.
        alive = 0
        for sock in sockets:
            sock.setblocking(False)
            try:
                sock.recv(1)  # an answer or end of stream: the server gave up on it
            except BlockingIOError:
                alive += 1  # open and unanswered
        assert alive >= (SLOW_HEADERS + SLOW_BODIES) * 0.9
    assert slowest < 1.0, f"a real request took {slowest:.2f} s behind slow clients"
    store = LocalStore(tmp_path / "raw")
    assert sorted(store.read(key) for key in store.list("telegram")) == sorted(sent)

"""A faulty network in front of the S3-compatible server the AWS tests use.

The server itself (``moto_endpoint``, ``aws_env``, ``s3``, ``bucket``) is in
tests/moto_server.py, shared with the store contract of tests/lake.

``fault_proxy`` puts a small HTTP proxy between the code and that server
which, per request, can pass it on, reset the connection before or after
moto has acted on it, answer 500 (or any status), cut a response body short,
or stall. Tests decide with a rule function of (method, path, headers).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
from moto_server import aws_environment

AWS_EVENTS = Path(__file__).resolve().parents[1] / "events" / "aws"


# ---------------------------------------------------------------- fault proxy

Rule = Callable[[str, str, dict[str, str]], str]
PASS = "pass"
RESET = "reset"  # connection reset before moto sees the request
RESET_AFTER = "reset-after"  # moto acts on the request, the client hears a reset
TRUNCATE = "truncate"  # headers and half the body, then a reset
# "status:NNN" answers NNN with an S3 error body; "delay:S" stalls S seconds first.


def _read_head(conn: socket.socket, buffer: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    del buffer[:end]
    return head


def _read_exact(conn: socket.socket, buffer: bytearray, size: int) -> bytes:
    while len(buffer) < size:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("client closed mid-body")
        buffer += chunk
    data = bytes(buffer[:size])
    del buffer[:size]
    return data


def _read_line(conn: socket.socket, buffer: bytearray) -> bytes:
    while b"\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("client closed mid-chunk")
        buffer += chunk
    end = buffer.index(b"\r\n") + 2
    line = bytes(buffer[:end])
    del buffer[:end]
    return line


def _read_chunked(conn: socket.socket, buffer: bytearray) -> bytes:
    body = bytearray()
    while True:
        size = int(_read_line(conn, buffer).split(b";")[0].strip(), 16)
        if size == 0:
            while _read_line(conn, buffer) != b"\r\n":
                pass
            return bytes(body)
        body += _read_exact(conn, buffer, size)
        _read_line(conn, buffer)


def _reset(conn: socket.socket) -> None:
    # SO_LINGER with a zero timeout makes close() send RST, not FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@dataclass
class FaultProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of ``upstream`` that fails on request."""

    upstream: str
    rule: Rule = field(default=lambda method, path, headers: PASS)
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(128)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._host, _, port = self.upstream.removeprefix("http://").partition(":")
        self._port = int(port)
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stopped.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        upstream = HTTPConnection(self._host, self._port, timeout=30)
        buffer = bytearray()
        try:
            while not self._stopped.is_set():
                head = _read_head(conn, buffer)
                if head is None:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip()] = value.strip()
                lowered = {k.lower(): v for k, v in headers.items()}
                if lowered.get("expect", "").lower() == "100-continue":
                    # botocore waits for this (up to a second) before the body.
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    headers = {k: v for k, v in headers.items() if k.lower() != "expect"}
                if lowered.get("transfer-encoding", "").lower() == "chunked":
                    body = _read_chunked(conn, buffer)
                    headers = {k: v for k, v in headers.items() if k.lower() != "transfer-encoding"}
                    headers["Content-Length"] = str(len(body))
                else:
                    body = _read_exact(conn, buffer, int(lowered.get("content-length", "0")))
                action = self.rule(method, path, lowered)
                with self._lock:
                    self.seen.append((method, path, action))
                if action.startswith("delay:"):
                    time.sleep(float(action.split(":", 1)[1]))
                    action = PASS
                if action == RESET:
                    _reset(conn)
                    return
                if action.startswith("status:"):
                    self._answer_error(conn, int(action.split(":", 1)[1]))
                    continue
                upstream.request(method, path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                if action == RESET_AFTER:
                    _reset(conn)
                    return
                out = [f"HTTP/1.1 {response.status} {response.reason}"]
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                        out.append(f"{name}: {value}")
                # A HEAD answer has no body but says the object's size.
                size = response.getheader("Content-Length") if method == "HEAD" else None
                out.append(f"Content-Length: {size or len(payload)}")
                data = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
                if action == TRUNCATE and payload:
                    conn.sendall(data + payload[: len(payload) // 2])
                    _reset(conn)
                    return
                conn.sendall(data + payload)
        except (ConnectionError, OSError, ValueError):
            return
        finally:
            upstream.close()
            with contextlib.suppress(OSError):
                conn.close()

    @staticmethod
    def _answer_error(conn: socket.socket, status: int) -> None:
        code = {500: "InternalError", 501: "NotImplemented", 503: "SlowDown"}.get(status, "Error")
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>injected by the test proxy</Message></Error>"
        ).encode()
        head = (
            f"HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        conn.sendall(head + body)


@pytest.fixture
def fault_proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_endpoint)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def aws_event() -> Callable[[str], dict[str, Any]]:
    """A recorded Lambda event of ``tests/events/aws/`` as the runtime hands it over."""
    import json

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((AWS_EVENTS / f"{name}.json").read_text("utf-8"))
        return data

    return load


def child_env(endpoint: str, **extra: str) -> dict[str, str]:
    """Environment of a ``telelake`` child process pointed at ``endpoint``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "AWS_"))}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.update(aws_environment(endpoint))
    env.update(extra)
    return env


@pytest.fixture
def aws_child_env(moto_endpoint: str) -> Callable[..., dict[str, str]]:
    return lambda **extra: child_env(moto_endpoint, **extra)

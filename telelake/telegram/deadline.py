"""An overall deadline for each Bot API request, beneath httpx.

httpx's timeouts bound each network operation, not a request: a server that
sends one byte every few seconds never trips a read timeout and can hold a
command for ever. Here every read, write, connect and TLS handshake of a
request gets at most the time left until that request's deadline, and none
at all once it has passed (``httpcore.ReadTimeout``, which httpx raises as
``httpx.ReadTimeout``: a network error the client retries).

The deadline is per thread (:meth:`Deadline.within`), so one client may be
shared by threads, each request with its own. The backend wraps httpcore's
synchronous one; :class:`DeadlineTransport` is httpx's transport with its
connection pool built on it.
"""

from __future__ import annotations

import ssl
import threading
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx


class Deadline:
    """The monotonic time by which the current thread's request must be done."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        previous = getattr(self._local, "at", None)
        self._local.at = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.at = previous

    def cap(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to the time left; ``ReadTimeout`` when none is left."""
        at: float | None = getattr(self._local, "at", None)
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the request's overall deadline passed")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.cap(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.cap(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._deadline.cap(timeout))
        return _Stream(inner, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous network backend, every operation within the deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, self._deadline.cap(timeout), local_address, socket_options
        )
        return _Stream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, self._deadline.cap(timeout), socket_options)
        return _Stream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's HTTP transport (no proxy: the token is in every URL) on a
    :class:`DeadlineBackend`."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to pass a network backend; this
        # pool is the one it would build (same defaults), on ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=DeadlineBackend(deadline),
        )

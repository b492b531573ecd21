"""Limits on what a connection may send before it is answered, enforced under the app.

uvicorn (with httptools) buffers a request's head for as long and as large as
a client cares to send it, and waits for a body with no deadline: four
connections sending 60 MiB of unfinished headers took the server from 130 to
420 MB, before anyone could check a secret. So the HTTP protocol itself is
bounded here, beneath the ASGI app and so before authentication:

- the head (request line and headers) of one request: at most
  :attr:`HttpLimits.head_bytes` in all and :attr:`HttpLimits.line_bytes` per
  line (the URL, or one header), else ``431 Request Header Fields Too Large``
  and the connection is closed;
- time: the head must arrive within :attr:`HttpLimits.head_seconds` of the
  connection opening (or of its first byte, for the next request on a
  kept-alive connection), the body within :attr:`HttpLimits.body_seconds` of
  the head, else ``408 Request Timeout`` (when nothing was answered yet) and
  the connection is closed. An app waiting for that body sees the client
  gone, so nothing partial is ever stored.

The defaults are those of common front servers (nginx reads a head in 4
buffers of 8 KiB; Apache's ``LimitRequestFieldSize`` is 8190 bytes), far
above what Telegram sends (a few hundred bytes of headers, a body within a
second). A refused or timed-out connection costs one debug log line: a flood
must not become a flood of log lines.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("telelake.webhook")


@dataclass(frozen=True)
class HttpLimits:
    """What one request may take before the app answers it."""

    head_bytes: int = 32 * 1024
    line_bytes: int = 8 * 1024
    head_seconds: float = 10.0
    body_seconds: float = 30.0


def _response(status: int, reason: str) -> bytes:
    body = f"{reason}\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


TOO_LARGE = _response(431, "Request Header Fields Too Large")
TOO_SLOW = _response(408, "Request Timeout")


class LimitedHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc]
    """uvicorn's httptools protocol with :class:`HttpLimits` on every request."""

    def __init__(self, *args: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        # Bytes of the current request's head received so far (approximate by
        # at most one read: enough for a bound, and no scan of the bytes).
        self._head_bytes = 0
        self._in_head = True
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None

    # -- timers ---------------------------------------------------------------

    def _arm(self, seconds: float, phase: str) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._too_slow, phase)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self, phase: str) -> None:
        self._timer = None
        if self.transport is None or self.transport.is_closing():
            return
        answered = self.cycle is not None and self.cycle.response_started
        log.debug("closed a connection from %s: its %s took too long", self._peer(), phase)
        self._close(None if answered else TOO_SLOW)

    # -- refusing -------------------------------------------------------------

    def _peer(self) -> str:
        return self.client[0] if self.client else "?"

    def _close(self, answer: bytes | None) -> None:
        self._refused = True
        self._disarm()
        if self.cycle is not None:
            self.cycle.keep_alive = False
        if answer is not None:
            self.transport.write(answer)
        self.transport.close()

    def _too_large(self, what: str) -> None:
        if not self._refused:
            log.debug("refused a request from %s: %s", self._peer(), what)
            self._refused = True

    # -- the protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.head_seconds, "request head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # closing: whatever else arrives is dropped unread
        super().data_received(data)
        if self._in_head and not self._refused:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.head_bytes:
                self._too_large(f"a request head over {self.limits.head_bytes} bytes")
        if self._refused and not self.transport.is_closing():
            self._close(TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        if self._timer is None:  # the next request on a kept-alive connection
            self._arm(self.limits.head_seconds, "request head")

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.line_bytes:
            self._too_large(f"a URL over {self.limits.line_bytes} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) + len(value) > self.limits.line_bytes:
            self._too_large(f"a header line over {self.limits.line_bytes} bytes")
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return  # the app never sees a refused request
        self._in_head = False
        self._arm(self.limits.body_seconds, "request body")
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        super().on_message_complete()


def limited_protocol(limits: HttpLimits) -> Any:
    """The protocol factory to give uvicorn's ``Config(http=...)``."""
    return functools.partial(LimitedHttpToolsProtocol, limits=limits)

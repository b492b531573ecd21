"""The webhook server: Telegram's POST in, a durable raw object out.

A Starlette app run by uvicorn. What each request is answered is decided by
:meth:`Receiver.answer` (secret first, then the body limit, then the ingest
core; 2xx only once the update is durable); this module only carries bytes
between HTTP and it: it reads the body as it streams in (413 without
buffering more than the limit) and decides how the core runs off the loop.

``POST {path}`` is the hot path (thousands of requests a second), so it is
served by a plain ASGI handler in front of Starlette's router: the router,
its middleware and ``Request``/``Response`` objects cost about as much per
request as everything else the server does. Every other route (``/healthz``,
``extra_routes``, 404/405 answers) goes through Starlette as usual.

With a local raw layer the event loop checks, parses and names each update
itself and hands it to one writer thread that stores whatever is queued in
rounds around shared flushes (:mod:`telelake.ingest.batcher`): thread
hand-overs per round, not per request. Other stores (S3), and the rare update
whose checks need the lake (a dateless update, the chat filter's first use),
run the whole core in a thread pool of its own, sized so every connection
Telegram opens can be waiting on a durable write at once.

Beneath the app, uvicorn's protocol is bounded (:mod:`telelake.ingest.http_limits`:
head size and time, body time), so nothing is buffered without limit before
the secret is checked. ``GET /healthz`` answers 503 "not ready", with the
reason, while the raw layer cannot be written. No answer ever echoes the
request's ``Host`` header (Starlette's slash redirects are off).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from telelake.errors import BadUpdateError, BodyTooLargeError, ConfigError, StorageError
from telelake.ingest.batcher import batcher_for
from telelake.ingest.core import Ingestor, Receipt
from telelake.ingest.http_limits import HttpLimits, limited_protocol
from telelake.ingest.receiver import SECRET_HEADER, Answer, Receiver

log = logging.getLogger("telelake.webhook")

_SECRET_HEADER = SECRET_HEADER.encode("latin-1")
# Telegram opens up to 100 connections per bot (40 by default); each may be
# waiting on a flush, and a waiting thread costs only its stack.
INGEST_THREADS = 128

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _ClientGone(Exception):
    """The client disconnected before its body was complete."""


def _body_reader(scope: Scope, receive: Receive) -> Callable[[int], Awaitable[bytes]]:
    async def read(limit: int) -> bytes:
        return await _read_body(scope, receive, limit)

    return read


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            declared = value
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BadUpdateError("invalid Content-Length header") from None
        if size > limit:
            raise BodyTooLargeError(f"body of {size} bytes is over the {limit} byte limit")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"body over the {limit} byte limit")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send_answer(send: Send, answer: Answer) -> None:
    body = orjson.dumps(answer.payload)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _WebhookApp(Starlette):
    """Starlette, with ``POST {path}`` answered before the router sees it."""

    def __init__(
        self,
        ingestor: Ingestor,
        path: str,
        routes: Sequence[BaseRoute],
        counters: dict[str, int],
        after_ack: Callable[[bytes, str], None] | None = None,
    ) -> None:
        super().__init__(routes=list(routes))
        # A redirect to the same path with(out) a slash would be built from the
        # request's Host header: a stranger's choice of where to send people.
        self.router.redirect_slashes = False
        self.ingestor = ingestor
        self.after_ack = after_ack
        self.webhook_path = path
        self.counters = counters
        self.executor = ThreadPoolExecutor(INGEST_THREADS, thread_name_prefix="telelake-ingest")
        self.batcher = batcher_for(ingestor)
        self.receiver = Receiver(ingestor, store=self.ingest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path == self.webhook_path:
                await self.webhook(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def ingest(self, body: bytes) -> Receipt:
        """The core: checks on the loop and the writer thread's rounds where the
        store can stage, else the whole core in a thread of the pool."""
        if self.batcher is not None and self.batcher.can_batch():
            planned = self.ingestor.plan_on_loop(body)
            if isinstance(planned, Receipt):
                return planned
            if planned is not None:
                return await self.batcher.store_planned(planned)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.ingestor.accept, body)

    async def webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        secret = None
        for name, value in scope["headers"]:
            if name == _SECRET_HEADER:
                secret = value.decode("latin-1")
        read = _body_reader(scope, receive)
        bodies: list[bytes] = []
        if self.after_ack is not None:

            async def read_and_keep(limit: int) -> bytes:
                bodies.append(await _read_body(scope, receive, limit))
                return bodies[-1]

            read = read_and_keep
        try:
            client = scope.get("client")
            answer = await self.receiver.answer(secret, read, client[0] if client else None)
        except _ClientGone:
            return  # nobody to answer; nothing was written
        if answer.status == 200:
            self.counters[answer.payload["outcome"]] += 1
        await _send_answer(send, answer)
        if self.after_ack is not None and answer.status == 200 and bodies:
            # Acknowledged first; the hand-over only queues (the responder's own thread answers).
            self.after_ack(bodies[0], answer.payload["outcome"])


def create_app(
    ingestor: Ingestor,
    path: str = "/webhook",
    extra_routes: Sequence[BaseRoute] = (),
    after_ack: Callable[[bytes, str], None] | None = None,
) -> Starlette:
    """The ASGI app: ``POST {path}`` takes updates, ``GET /healthz`` says it is up.

    A taken update is answered ``{"ok": true, "outcome": ..., "update_id": N}``
    (Telegram ignores the body; load tests use the id to check each one is stored).

    ``extra_routes`` lets an adapter add pages (the ``/report`` page) to the
    same server without the ingest path knowing about them; ``after_ack`` is
    told of each update (bytes, outcome) once Telegram has its 200 (the
    responder's hand-over: it must neither block nor raise).
    """
    counters: dict[str, int] = {"stored": 0, "duplicate": 0, "conflict": 0, "filtered": 0}

    async def healthz(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        problem = await loop.run_in_executor(app.executor, _not_ready, app)
        if problem is not None:
            return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)
        body: dict[str, Any] = {"status": "ok", "updates": dict(counters)}
        return JSONResponse(body)

    async def not_allowed(request: Request) -> Response:
        # Never called: POST is answered before routing. The route makes the
        # router answer 405 (not 404) to other methods on the webhook path.
        return JSONResponse({"ok": False, "error": "use POST"}, status_code=405)

    routes = [
        Route(path, not_allowed, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        *extra_routes,
    ]
    app = _WebhookApp(ingestor, path, routes, counters, after_ack)
    return app


def _not_ready(app: _WebhookApp) -> str | None:
    """Why updates cannot be stored now (``None``: they can), for ``/healthz``.

    The lake's zone record must be in place (written on first use), the last
    write must not have failed, and a folder layer must be writable and have
    room. Run in a thread: it may touch the disk.
    """
    ingestor = app.ingestor
    try:
        ingestor.record_zone()
    except (StorageError, ConfigError) as exc:
        return f"the raw layer cannot be written: {exc}"
    if app.receiver.storage_problem is not None:
        return f"the last update could not be stored: {app.receiver.storage_problem}"
    root = getattr(ingestor.store, "root", None)
    if root is None:
        return None  # S3: a PUT is the only test, and the last one worked
    try:
        stats = os.statvfs(root)
    except OSError as exc:
        return f"the raw layer {root} cannot be read: {exc.strerror}"
    if stats.f_flag & os.ST_RDONLY:
        return f"the raw layer {root} is on a read-only file system"
    if not os.access(root, os.W_OK | os.X_OK):
        return f"the raw layer {root} is not writable by this process"
    if stats.f_bavail == 0:
        return f"the file system of the raw layer {root} is full"
    return None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``, or :class:`ConfigError` saying why not.

    Bound before anything says "listening" (and before Telegram is told the
    URL), so a port in use or an address not of this machine fails the start
    with one line and exit code 1, never a log line that lies.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {_reason(exc)}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {_reason(exc)} (choose another --port or --host)"
        ) from None
    sock.set_inheritable(True)
    return sock


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).lower()


def run_server(app: Any, sock: socket.socket, limits: HttpLimits | None = None) -> None:
    """Serve ``app`` on the bound ``sock`` with uvicorn until SIGTERM/SIGINT, as
    ``serve`` and ``run`` do, with :class:`HttpLimits` on every request.

    uvicorn re-raises the stop signal once it has shut down gracefully; the
    caller's handler underneath decides what that means (exit 0 for both).
    """
    import uvicorn

    uvicorn.Server(server_config(app, limits or HttpLimits())).run(sockets=[sock])


def server_config(app: Any, limits: HttpLimits) -> Any:
    """The uvicorn configuration of the webhook server (also for tests serving in a thread)."""
    import uvicorn

    return uvicorn.Config(
        app,
        http=limited_protocol(limits),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        # uvicorn's own logging config would add handlers that bypass the
        # token redaction; None makes its loggers go through ours.
        log_config=None,
        server_header=False,
        lifespan="off",
        ws="none",
    )

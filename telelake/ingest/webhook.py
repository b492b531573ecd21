"""The webhook receiver: Telegram's POST in, a durable raw object out.

A Starlette app run by uvicorn. It enforces the order of DESIGN §3: secret
first (constant time, nothing read or written without it), then the body
limit while reading (413 without buffering more than the limit), then the
ingest core. 2xx only after the core returns, i.e. once the update is durable.

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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from telelake.errors import BadUpdateError, BodyTooLargeError, StorageError
from telelake.ingest.batcher import batcher_for
from telelake.ingest.core import SECRET_REFUSED, Ingestor, Receipt, secret_refusal

log = logging.getLogger("telelake.webhook")

SECRET_HEADER = "x-telegram-bot-api-secret-token"
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
            raise BodyTooLargeError(f"declared body of {size} bytes is over {limit}")
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


async def _answer(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _WebhookApp(Starlette):
    """Starlette, with ``POST {path}`` answered before the router sees it."""

    def __init__(
        self, ingestor: Ingestor, path: str, routes: Sequence[BaseRoute], counters: dict[str, int]
    ) -> None:
        super().__init__(routes=list(routes))
        self.ingestor = ingestor
        self.webhook_path = path
        self.counters = counters
        self.executor = ThreadPoolExecutor(INGEST_THREADS, thread_name_prefix="telelake-ingest")
        self.batcher = batcher_for(ingestor)

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
            planned = self.ingestor.plan(body, blocking=False)
            if isinstance(planned, Receipt):
                return planned
            if planned is not None:
                return await self.batcher.store_planned(planned)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.ingestor.accept, body)

    async def webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        secret = self.ingestor.settings.secret
        if secret is not None:
            given = None
            for name, value in scope["headers"]:
                if name == _SECRET_HEADER:
                    given = value.decode("latin-1")
            refusal = secret_refusal(secret, given)
            if refusal is not None:
                await _answer(send, refusal, {"ok": False, "error": SECRET_REFUSED})
                return
        try:
            body = await _read_body(scope, receive, self.ingestor.settings.max_body)
            receipt = await self.ingest(body)
        except BadUpdateError as exc:
            await _answer(send, exc.status_code, {"ok": False, "error": str(exc)})
            return
        except _ClientGone:
            return  # nobody to answer; nothing was written
        except StorageError as exc:
            log.error("not acknowledged, Telegram will retry: %s", exc)
            await _answer(send, 503, {"ok": False, "error": "storage unavailable, retry later"})
            return
        self.counters[receipt.outcome] += 1
        log.debug("update %s (%s): %s", receipt.update_id, receipt.kind, receipt.outcome)
        await _answer(
            send, 200, {"ok": True, "outcome": receipt.outcome, "update_id": receipt.update_id}
        )


def create_app(
    ingestor: Ingestor, path: str = "/webhook", extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """The ASGI app: ``POST {path}`` takes updates, ``GET /healthz`` says it is up.

    A taken update is answered ``{"ok": true, "outcome": ..., "update_id": N}``
    (Telegram ignores the body; load tests use the id to check each one is stored).

    ``extra_routes`` lets an adapter add pages (the ``/report`` page) to the
    same server without the ingest path knowing about them.
    """
    counters: dict[str, int] = {"stored": 0, "duplicate": 0, "conflict": 0, "filtered": 0}

    async def healthz(request: Request) -> Response:
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
    return _WebhookApp(ingestor, path, routes, counters)


def run_server(app: Any, host: str, port: int) -> None:
    """Serve ``app`` with uvicorn until SIGTERM/SIGINT, as ``serve`` and ``run`` do.

    uvicorn re-raises the stop signal once it has shut down gracefully; the
    caller's handler underneath decides what that means (exit 0 for both).
    """
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
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
    uvicorn.Server(config).run()

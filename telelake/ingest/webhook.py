"""The webhook receiver: Telegram's POST in, a durable raw object out.

A small Starlette app run by uvicorn. It enforces the order of DESIGN §3:
secret first (constant time, nothing read or written without it), then the
body limit while reading (413 without buffering more than the limit), then
the ingest core, whose blocking fsync runs in a worker thread so many
requests can be durable at once. 2xx only after the core returns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from telelake.errors import BadUpdateError, BodyTooLargeError, StorageError
from telelake.ingest.core import Ingestor, secret_matches

log = logging.getLogger("telelake.webhook")

SECRET_HEADER = "x-telegram-bot-api-secret-token"


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLargeError(f"declared body of {declared} bytes is over {limit}")
        except ValueError:
            raise BadUpdateError("invalid Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"body over the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


def create_app(
    ingestor: Ingestor, path: str = "/webhook", extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """The ASGI app: ``POST {path}`` takes updates, ``GET /healthz`` says it is up.

    ``extra_routes`` lets an adapter add pages (the ``/report`` page) to the
    same server without the ingest path knowing about them.
    """
    secret = ingestor.settings.secret
    counters: dict[str, int] = {"stored": 0, "duplicate": 0, "conflict": 0, "filtered": 0}

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER)
        if secret is not None and not secret_matches(secret, given):
            status = 401 if given is None else 403
            return _error(status, "missing or wrong secret token")
        try:
            body = await _read_limited(request, ingestor.settings.max_body)
            receipt = await run_in_threadpool(ingestor.accept, body)
        except BadUpdateError as exc:
            return _error(exc.status_code, str(exc))
        except ClientDisconnect:
            return _error(400, "client disconnected")
        except StorageError as exc:
            log.error("not acknowledged, Telegram will retry: %s", exc)
            return _error(503, "storage unavailable, retry later")
        counters[receipt.outcome] += 1
        log.debug("update %s (%s): %s", receipt.update_id, receipt.kind, receipt.outcome)
        return JSONResponse({"ok": True, "outcome": receipt.outcome})

    async def healthz(request: Request) -> Response:
        body: dict[str, Any] = {"status": "ok", "updates": dict(counters)}
        return JSONResponse(body)

    return Starlette(
        routes=[
            Route(path, webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            *extra_routes,
        ]
    )

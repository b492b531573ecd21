"""A fake Telegram Bot API server for tests: real HTTP on 127.0.0.1, Telegram's semantics.

It speaks what telelake's client meets at ``https://api.telegram.org``:

- ``/bot<token>/<method>`` with JSON, form-encoded or query-string parameters
  (``allowed_updates`` as a JSON string in forms, as Telegram accepts it);
- answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..,
  "description": .., "parameters": {"retry_after": ..}}``;
- 401 ``Unauthorized`` for a wrong token, 404 for an unknown method;
- getUpdates: updates with an id below ``offset`` are forgotten (confirmed);
  with ``timeout`` the request is held until an update arrives or time is up;
  409 while a webhook is set; a newer getUpdates ends an older waiting one
  with 409 "terminated by other getUpdates request";
- setWebhook / getWebhookInfo / deleteWebhook with ``drop_pending_updates``;
- injectable failures: the next N calls of a method answer 429 with
  ``retry_after``, or 5xx (with a proxy's HTML body, as nginx does).

Admin endpoints (no token): ``POST /admin/updates`` (a JSON list to enqueue),
``GET /admin/state`` (pending ids, confirmed offset, webhook, calls seen),
``POST /admin/fail``, ``POST /admin/reset``. :class:`FakeBotApi` wraps them.

Run it alone: ``python tests/telegram/fake_bot_api.py --port 8081 --token 123:...``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

TOKEN = "123456789:AAHk-fakeTokenForTestsOnly_0123456789"


@dataclass
class Failure:
    method: str
    status: int
    times: int
    retry_after: int | None = None


@dataclass
class State:
    token: str
    pending: list[dict[str, Any]] = field(default_factory=list)
    confirmed: int = 0  # every update_id below this is forgotten
    webhook: dict[str, Any] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    poll_generation: int = 0
    delivered_max: int = -1


def _param(value: Any) -> Any:
    """Form and query values arrive as strings; Telegram parses JSON ones (lists, bools)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _fail(code: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=code)


def create_app(state: State) -> Starlette:
    arrived = asyncio.Condition()

    async def params_of(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {k: _param(v) for k, v in request.query_params.items()}
        body = await request.body()
        kind = request.headers.get("content-type", "")
        if body and "json" in kind:
            params.update(json.loads(body))
        elif body and "form-urlencoded" in kind:
            params.update({k: _param(v) for k, v in parse_qsl(body.decode())})
        return params

    def injected(method: str) -> Response | None:
        for failure in state.failures:
            if failure.method in (method, "*") and failure.times > 0:
                failure.times -= 1
                if failure.status == 429:
                    return _fail(
                        429,
                        f"Too Many Requests: retry after {failure.retry_after}",
                        failure.retry_after or 1,
                    )
                return PlainTextResponse(
                    "<html><body><h1>502 Bad Gateway</h1></body></html>",
                    status_code=failure.status,
                )
        return None

    async def get_updates(params: dict[str, Any]) -> Response:
        if state.webhook.get("url"):
            return _fail(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset", 0) or 0)
        if offset > 0:
            state.confirmed = max(state.confirmed, offset)
            state.pending = [u for u in state.pending if u["update_id"] >= offset]
        limit = max(1, min(100, int(params.get("limit", 100))))
        timeout = max(0.0, float(params.get("timeout", 0)))
        allowed = params.get("allowed_updates")
        deadline = time.monotonic() + timeout
        async with arrived:
            # A newer request ends any older one still waiting (Telegram's 409).
            state.poll_generation += 1
            generation = state.poll_generation
            arrived.notify_all()

        def ready() -> list[dict[str, Any]]:
            batch = [u for u in state.pending if u["update_id"] >= state.confirmed]
            if allowed:
                batch = [u for u in batch if set(u) - {"update_id"} <= set(allowed)]
            return batch[:limit]

        async with arrived:
            while True:
                if generation != state.poll_generation:
                    return _fail(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                batch = ready()
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0:
                    break
                with suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), timeout=min(remaining, 0.5))
        if batch:
            state.delivered_max = max(state.delivered_max, batch[-1]["update_id"])
        return _ok(batch)

    async def bot_method(request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        params = await params_of(request)
        state.calls.append({"method": method, "token_ok": token == state.token, "params": params})
        if token != state.token:
            return _fail(401, "Unauthorized")
        failure = injected(method)
        if failure is not None:
            return failure
        if method == "getMe":
            bot_id = int(state.token.split(":", 1)[0])
            return _ok({"id": bot_id, "is_bot": True, "first_name": "Fake Lake",
                        "username": "fake_lake_bot", "can_join_groups": True,
                        "can_read_all_group_messages": False,
                        "supports_inline_queries": False})  # fmt: skip
        if method == "getUpdates":
            return await get_updates(params)
        if method == "setWebhook":
            url = params.get("url")
            if url is None:
                return _fail(400, 'Bad Request: parameter "url" is required')
            if url and not str(url).startswith(("https://", "http://")):
                return _fail(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
            if params.get("drop_pending_updates"):
                state.pending.clear()
            state.webhook = {k: v for k, v in params.items() if k != "drop_pending_updates"}
            async with arrived:
                arrived.notify_all()
            return JSONResponse({"ok": True, "result": True, "description": "Webhook was set"})
        if method == "deleteWebhook":
            if params.get("drop_pending_updates"):
                state.pending.clear()
            state.webhook = {}
            return JSONResponse({"ok": True, "result": True, "description": "Webhook was deleted"})
        if method == "getWebhookInfo":
            info: dict[str, Any] = {
                "url": state.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(state.pending),
            }
            for key in ("max_connections", "allowed_updates", "ip_address"):
                if key in state.webhook:
                    info[key] = state.webhook[key]
            return _ok(info)
        return _fail(404, "Not Found: method not found")

    async def add_updates(request: Request) -> Response:
        updates = await request.json()
        async with arrived:
            state.pending.extend(updates)
            state.pending.sort(key=lambda u: u["update_id"])
            arrived.notify_all()
        return _ok(len(updates))

    async def get_state(request: Request) -> Response:
        return _ok({
            "pending": [u["update_id"] for u in state.pending],
            "confirmed": state.confirmed,
            "delivered_max": state.delivered_max,
            "webhook": state.webhook,
            "calls": state.calls,
        })  # fmt: skip

    async def add_failure(request: Request) -> Response:
        data = await request.json()
        state.failures.append(Failure(data["method"], int(data["status"]), int(data["times"]),
                                      data.get("retry_after")))  # fmt: skip
        return _ok(True)

    async def reset(request: Request) -> Response:
        state.pending.clear()
        state.failures.clear()
        state.calls.clear()
        state.webhook = {}
        state.confirmed = 0
        return _ok(True)

    return Starlette(
        routes=[
            Route("/bot{token}/{method}", bot_method, methods=["GET", "POST"]),
            Route("/admin/updates", add_updates, methods=["POST"]),
            Route("/admin/state", get_state, methods=["GET"]),
            Route("/admin/fail", add_failure, methods=["POST"]),
            Route("/admin/reset", reset, methods=["POST"]),
        ]
    )


class FakeBotApi:
    """Test-side handle: the base URL (for ``TELEGRAM_API_URL``) and the admin calls."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.client = httpx.Client(base_url=url, timeout=10.0, trust_env=False)

    def enqueue(self, updates: Iterable[dict[str, Any]]) -> None:
        self.client.post("/admin/updates", json=list(updates)).raise_for_status()

    def state(self) -> dict[str, Any]:
        response = self.client.get("/admin/state")
        response.raise_for_status()
        result: dict[str, Any] = response.json()["result"]
        return result

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.state()["calls"] if method is None or c["method"] == method]

    def fail(
        self, method: str, status: int, times: int = 1, retry_after: int | None = None
    ) -> None:
        body = {"method": method, "status": status, "times": times, "retry_after": retry_after}
        self.client.post("/admin/fail", json=body).raise_for_status()

    def set_webhook(self, url: str) -> None:
        self.client.post(f"/bot{self.token}/setWebhook", json={"url": url}).raise_for_status()

    def reset(self) -> None:
        self.client.post("/admin/reset").raise_for_status()

    def close(self) -> None:
        self.client.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_fake_bot_api(token: str = TOKEN) -> Iterator[FakeBotApi]:
    """Start the fake server in a thread (uvicorn, real socket) and stop it afterwards."""
    port = _free_port()
    config = uvicorn.Config(create_app(State(token=token)), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off", ws="none",
                            log_config=None, access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-bot-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Bot API server did not start")
        time.sleep(0.02)
    fake = FakeBotApi(f"http://127.0.0.1:{port}", token)
    try:
        yield fake
    finally:
        fake.close()
        server.should_exit = True
        thread.join(timeout=10)


def make_update(update_id: int, *, chat_id: int = -1001, date: int = 1_764_000_000,
                text: str | None = None, user_id: int = 42) -> dict[str, Any]:  # fmt: skip
    """A realistic group message update."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": user_id, "is_bot": False, "first_name": "Ana", "language_code": "pt"},
            "chat": {"id": chat_id, "title": "Lake Friends", "type": "supergroup"},
            "date": date,
            "text": text if text is not None else f"message {update_id} 🙂 ação",
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=TOKEN)
    args = parser.parse_args()
    uvicorn.run(create_app(State(token=args.token)), host="127.0.0.1", port=args.port)

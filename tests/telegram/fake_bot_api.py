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
  ``retry_after``, or 5xx (with a proxy's HTML body, as nginx does), or
  garbage with a 200 (an HTML page, a JSON list, no ``ok``, a ``result`` of
  the wrong shape), or an answer dripped one byte at a time;
- what a bot that answers uses: sendMessage and sendPhoto (multipart upload,
  the photo must be a PNG; 403 "bot can't initiate conversation" to a person
  who has not started the bot; Telegram's length limits), setMyCommands
  (per scope), getChatMember, getChatAdministrators and getChatMemberCount
  over chats the test describes; every message sent is recorded, and a
  method can be made slow (to kill a client mid-call).

Admin endpoints (no token): ``POST /admin/updates`` (a JSON list to enqueue),
``GET /admin/state`` (pending ids, confirmed offset, webhook, calls seen),
``POST /admin/fail``, ``POST /admin/reset``, ``POST /admin/chat`` (a chat's
administrators and member count), ``POST /admin/started`` (people who
started the bot), ``POST /admin/slow``, ``GET /admin/sent`` (messages sent,
with the commands registered). :class:`FakeBotApi` wraps them.

Run it alone: ``python tests/telegram/fake_bot_api.py --port 8081 --token 123:...``.
"""

from __future__ import annotations

import argparse
import asyncio
import email.parser
import email.policy
import json
import re
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
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

TOKEN = "123456789:AAHk-fakeTokenForTestsOnly_0123456789"


@dataclass
class Failure:
    method: str
    status: int
    times: int
    retry_after: int | None = None
    # "html", "list", "no-ok", "shape", "drip": a 200 that is not the Bot API's answer
    garbage: str | None = None


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
    # chat id -> {"admins": [ChatMember], "member_count": int}
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    started: set[int] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    slow: dict[str, list[float]] = field(default_factory=dict)  # method -> [seconds, times]
    message_ids: int = 0


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


def _multipart(kind: str, body: bytes) -> dict[str, Any]:
    """Fields of a multipart/form-data body: text parsed like a form value, files as bytes."""
    head = f"Content-Type: {kind}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            fields[str(name)] = data
        else:
            fields[str(name)] = _param(data.decode())
    return fields


_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
USER_NOT_STARTED = "Forbidden: bot can't initiate conversation with a user"


def _garbage(kind: str) -> Response:
    """HTTP 200 answers that are not the Bot API's, as broken proxies and servers give."""
    if kind == "drip":

        async def drip() -> Any:
            for byte in b'{"ok": true, "result": []}':
                await asyncio.sleep(0.4)
                yield bytes([byte])

        return StreamingResponse(drip(), media_type="application/json")
    bodies = {
        "html": "<html><body>Welcome to our captive portal</body></html>",
        "list": "[1, 2, 3]",
        "no-ok": '{"result": []}',
        "shape": '{"ok": true, "result": {"not": "a list"}}',
    }
    return Response(bodies[kind], media_type="application/json")


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
        elif body and "multipart/form-data" in kind:
            params.update(_multipart(kind, body))
        return params

    def injected(method: str) -> Response | None:
        for failure in state.failures:
            if failure.method in (method, "*") and failure.times > 0:
                failure.times -= 1
                if failure.garbage is not None:
                    return _garbage(failure.garbage)
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
        shown = {k: f"<{len(v)} bytes>" if isinstance(v, bytes) else v for k, v in params.items()}
        state.calls.append({"method": method, "token_ok": token == state.token, "params": shown,
                            "at": time.time()})  # fmt: skip
        if token != state.token:
            return _fail(401, "Unauthorized")
        failure = injected(method)
        if failure is not None:
            return failure
        slow = state.slow.get(method)
        if slow and slow[1] > 0:
            slow[1] -= 1
            await asyncio.sleep(slow[0])
        answered = answering(method, params)
        if answered is not None:
            return answered
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

    def answering(method: str, params: dict[str, Any]) -> Response | None:
        """The methods of a bot that answers in chats; ``None`` for any other method."""
        if method in ("sendMessage", "sendPhoto"):
            return send(method, params)
        if method == "setMyCommands":
            commands = params.get("commands")
            if not isinstance(commands, list) or len(commands) > 100:
                return _fail(400, "Bad Request: commands must be a list of at most 100")
            for command in commands:
                name, text = command.get("command", ""), command.get("description", "")
                if not _COMMAND.match(name) or not 1 <= len(text) <= 256:
                    return _fail(400, "Bad Request: BOT_COMMAND_INVALID")
            scope = (params.get("scope") or {}).get("type", "default")
            state.commands[scope] = commands
            return _ok(True)
        if method == "getMyCommands":
            return _ok(state.commands.get((params.get("scope") or {}).get("type", "default"), []))
        if method in ("getChatMember", "getChatAdministrators", "getChatMemberCount"):
            chat = state.chats.get(int(params.get("chat_id", 0)))
            if chat is None:
                return _fail(400, "Bad Request: chat not found")
            admins = chat.get("admins", [])
            if method == "getChatAdministrators":
                return _ok(admins)
            if method == "getChatMemberCount":
                return _ok(chat.get("member_count", len(admins)))
            user_id = int(params.get("user_id", 0))
            for admin in admins:
                if admin["user"]["id"] == user_id:
                    return _ok(admin)
            user = {"id": user_id, "is_bot": False, "first_name": "Member"}
            return _ok({"status": "member", "user": user})
        return None

    def send(method: str, params: dict[str, Any]) -> Response:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            return _fail(400, "Bad Request: chat_id is empty")
        if chat_id > 0 and chat_id not in state.started:
            return _fail(403, USER_NOT_STARTED)
        if chat_id < 0 and chat_id not in state.chats:
            return _fail(400, "Bad Request: chat not found")
        record: dict[str, Any] = {"method": method, "chat_id": chat_id, "at": time.time()}
        if method == "sendMessage":
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                return _fail(400, "Bad Request: message text is empty")
            if len(text) > 4096:
                return _fail(400, "Bad Request: message is too long")
            record["text"] = text
        else:
            photo = params.get("photo")
            if not isinstance(photo, bytes) or not photo.startswith(b"\x89PNG\r\n\x1a\n"):
                return _fail(400, "Bad Request: IMAGE_PROCESS_FAILED")
            caption = params.get("caption") or ""
            if len(caption) > 1024:
                return _fail(400, "Bad Request: message caption is too long")
            record.update(text=caption, photo_bytes=len(photo))
        reply = params.get("reply_parameters")
        record["reply_to"] = reply.get("message_id") if isinstance(reply, dict) else None
        record["thread_id"] = params.get("message_thread_id")
        state.sent.append(record)
        state.message_ids += 1
        bot_id = int(state.token.split(":", 1)[0])
        return _ok({"message_id": state.message_ids, "date": int(time.time()),
                    "from": {"id": bot_id, "is_bot": True, "first_name": "Fake Lake"},
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                    "text": record["text"]})  # fmt: skip

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
                                      data.get("retry_after"), data.get("garbage")))  # fmt: skip
        return _ok(True)

    async def set_chat(request: Request) -> Response:
        data = await request.json()
        state.chats[int(data["chat_id"])] = {
            "admins": [
                {"status": a.get("status", "administrator"),
                 "user": {"id": a["id"], "is_bot": a.get("is_bot", False),
                          "first_name": a.get("first_name", "Admin")}}
                for a in data.get("admins", [])
            ],
            "member_count": data.get("member_count", 0),
        }  # fmt: skip
        return _ok(True)

    async def set_started(request: Request) -> Response:
        state.started.update(int(i) for i in (await request.json())["user_ids"])
        return _ok(True)

    async def set_slow(request: Request) -> Response:
        data = await request.json()
        state.slow[data["method"]] = [float(data["seconds"]), int(data["times"])]
        return _ok(True)

    async def get_sent(request: Request) -> Response:
        return _ok({"sent": state.sent, "commands": state.commands})

    async def reset(request: Request) -> Response:
        state.pending.clear()
        state.failures.clear()
        state.calls.clear()
        state.sent.clear()
        state.slow.clear()
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
            Route("/admin/chat", set_chat, methods=["POST"]),
            Route("/admin/started", set_started, methods=["POST"]),
            Route("/admin/slow", set_slow, methods=["POST"]),
            Route("/admin/sent", get_sent, methods=["GET"]),
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
        self,
        method: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        garbage: str | None = None,
    ) -> None:
        body = {"method": method, "status": status, "times": times, "retry_after": retry_after,
                "garbage": garbage}  # fmt: skip
        self.client.post("/admin/fail", json=body).raise_for_status()

    def set_webhook(self, url: str) -> None:
        self.client.post(f"/bot{self.token}/setWebhook", json={"url": url}).raise_for_status()

    def reset(self) -> None:
        self.client.post("/admin/reset").raise_for_status()

    def set_chat(
        self, chat_id: int, admins: Iterable[dict[str, Any]] = (), member_count: int = 0
    ) -> None:
        """Describe a group: administrators as ``{"id", "first_name", "status", "is_bot"}``."""
        body = {"chat_id": chat_id, "admins": list(admins), "member_count": member_count}
        self.client.post("/admin/chat", json=body).raise_for_status()

    def start_bot(self, *user_ids: int) -> None:
        """These people pressed Start in a private chat with the bot (so it may write to them)."""
        self.client.post("/admin/started", json={"user_ids": list(user_ids)}).raise_for_status()

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are answered only after ``seconds``."""
        body = {"method": method, "seconds": seconds, "times": times}
        self.client.post("/admin/slow", json=body).raise_for_status()

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (sendMessage and sendPhoto), oldest first."""
        response = self.client.get("/admin/sent")
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["result"]["sent"]
        return [m for m in found if chat_id is None or m["chat_id"] == chat_id]

    def commands(self) -> dict[str, list[dict[str, Any]]]:
        """The command lists registered with setMyCommands, by scope type."""
        response = self.client.get("/admin/sent")
        response.raise_for_status()
        result: dict[str, list[dict[str, Any]]] = response.json()["result"]["commands"]
        return result

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

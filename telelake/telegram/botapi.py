"""A small, careful client of the Telegram Bot API: the calls that set up a bot and poll it.

Only the methods telelake needs (getMe, setWebhook, getWebhookInfo,
deleteWebhook, getUpdates; and for the responder sendMessage, sendPhoto,
setMyCommands, getChatMember, getChatAdministrators). What it adds over a
bare HTTP call:

- retries with bounded exponential backoff and jitter on network errors, 5xx
  answers and answers that are not the Bot API's (not JSON, no ``ok``, a
  ``result`` of the wrong shape: a proxy's page, a broken server), one log
  line each; on a 429 it waits ``parameters.retry_after``, at most
  ``max_retry_after`` (300 s: Telegram's flood waits can be hours, and a
  command must not sleep that long; it says so in its log line);
- an overall deadline per attempt (:mod:`telelake.telegram.deadline`), so a
  server that drips a byte every few seconds cannot stall a command;
- the answers a person must act on become one line saying what to do (a
  rejected token, a webhook in the way of polling, a second poller);
- the token never leaves: it is part of every URL, so no exception raised
  here carries a URL or an httpx error text, and messages pass through
  :func:`telelake.redaction.redact` anyway.

Errors are the :class:`telelake.errors.BotApiError` family (drawn in
``telelake/errors.py``): a rejected token, a webhook in the way, a second
poller, and Telegram unavailable after the retries (the one retryable kind).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx
import orjson

from telelake import __version__
from telelake.errors import (
    BotApiError,
    BotApiUnavailableError,
    OtherPollerError,
    TokenRejectedError,
    WebhookActiveError,
)
from telelake.redaction import redact, register_secret
from telelake.telegram.deadline import Deadline, DeadlineTransport

log = logging.getLogger("telelake.botapi")


TOKEN_REJECTED = "the bot token was rejected (401): check TELEGRAM_BOT_TOKEN from @BotFather"
WEBHOOK_ACTIVE = (
    "a webhook is set for this bot: run `telelake bot webhook-delete` "
    "or use `telelake run --webhook-url`"
)
OTHER_POLLER = (
    "another process is polling this bot (409 terminated by other getUpdates request): "
    "stop the other `telelake poll`/`run` or bot instance; only one may poll at a time"
)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0.0, min(cap, base * (2**attempt)))


class BotApi:
    """A Bot API client for one token. Use as a context manager or call :meth:`close`.

    ``sleep`` is injectable so tests (and the poller's stop signal) control waiting.
    """

    def __init__(
        self,
        token: str,
        api_url: str = "https://api.telegram.org",
        *,
        attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 300.0,
        timeout: float = 15.0,
        deadline_slack: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not token or "/" in token or any(c.isspace() for c in token):
            raise TokenRejectedError(
                "the bot token is empty or malformed: set TELEGRAM_BOT_TOKEN to the token "
                "@BotFather gave you (looks like 123456789:AA...)"
            )
        register_secret(token)
        self._base = f"{api_url.rstrip('/')}/bot{token}/"
        self.api_url = api_url.rstrip("/")
        self.attempts = max(1, attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.timeout = timeout
        # An attempt ends at the latest this long after its read timeout (connect,
        # send, and a slow but steady answer fit; a dripping one does not).
        self.deadline_slack = deadline_slack
        self._deadline = Deadline()
        self.sleep = sleep
        self.rng = rng or random.Random()
        # trust_env=False: a proxy from the environment would see the token in every URL.
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=DeadlineTransport(self._deadline),
            trust_env=False,
            headers={"User-Agent": f"telelake/{__version__}"},
        )

    def __enter__(self) -> BotApi:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- the methods ------------------------------------------------------

    def get_me(self) -> dict[str, Any]:
        result = self.call("getMe", expect=dict)
        return result if isinstance(result, dict) else {}

    def set_webhook(
        self,
        url: str,
        *,
        secret_token: str | None = None,
        allowed_updates: Sequence[str] | None = None,
        max_connections: int | None = None,
        drop_pending_updates: bool = False,
        ip_address: str | None = None,
    ) -> bool:
        register_secret(secret_token)
        params: dict[str, Any] = {"url": url}
        if secret_token is not None:
            params["secret_token"] = secret_token
        if allowed_updates is not None:
            params["allowed_updates"] = list(allowed_updates)
        if max_connections is not None:
            params["max_connections"] = max_connections
        if drop_pending_updates:
            params["drop_pending_updates"] = True
        if ip_address is not None:
            params["ip_address"] = ip_address
        return bool(self.call("setWebhook", params, expect=bool))

    def get_webhook_info(self) -> dict[str, Any]:
        result = self.call("getWebhookInfo", expect=dict)
        return result if isinstance(result, dict) else {}

    def delete_webhook(self, *, drop_pending_updates: bool = False) -> bool:
        params = {"drop_pending_updates": True} if drop_pending_updates else {}
        return bool(self.call("deleteWebhook", params, expect=bool))

    def get_updates(
        self,
        *,
        offset: int | None = None,
        limit: int = 100,
        timeout: int = 0,
        allowed_updates: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Updates after ``offset`` (which also confirms every update before it)."""
        params: dict[str, Any] = {"limit": limit, "timeout": timeout}
        if offset is not None:
            params["offset"] = offset
        if allowed_updates is not None:
            params["allowed_updates"] = list(allowed_updates)
        # The server holds the request up to ``timeout`` seconds: read that long and more.
        result = self.call("getUpdates", params, read_timeout=timeout + self.timeout, expect=list)
        if not isinstance(result, list):
            raise BotApiError(
                "getUpdates answered something that is not a list", method="getUpdates"
            )
        return [item for item in result if isinstance(item, dict)]

    # -- answering in chats (the responder) ---------------------------------

    def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """sendMessage as plain text (no parse mode: names are never markup); the Message."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        params.update(_reply_params(reply_to, thread_id))
        result = self.call("sendMessage", params)
        return result if isinstance(result, dict) else {}

    def send_photo(
        self,
        chat_id: int,
        png: bytes,
        *,
        caption: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """sendPhoto uploading ``png`` (multipart), with an optional plain-text caption."""
        params: dict[str, Any] = {"chat_id": chat_id}
        if caption:
            params["caption"] = caption
        params.update(_reply_params(reply_to, thread_id))
        result = self.call("sendPhoto", params, files={"photo": ("chart.png", png, "image/png")})
        return result if isinstance(result, dict) else {}

    def set_my_commands(
        self, commands: Sequence[Mapping[str, str]], *, scope: Mapping[str, Any] | None = None
    ) -> bool:
        """setMyCommands: the menu of ``/`` commands, for ``scope`` (default: every chat)."""
        params: dict[str, Any] = {"commands": [dict(c) for c in commands]}
        if scope is not None:
            params["scope"] = dict(scope)
        return bool(self.call("setMyCommands", params))

    def get_chat_member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        """getChatMember: ``status`` is creator, administrator, member, restricted, left, kicked."""
        result = self.call("getChatMember", {"chat_id": chat_id, "user_id": user_id})
        return result if isinstance(result, dict) else {}

    def get_chat_administrators(self, chat_id: int) -> list[dict[str, Any]]:
        """getChatAdministrators: the ChatMember of every administrator (bots included)."""
        result = self.call("getChatAdministrators", {"chat_id": chat_id})
        if not isinstance(result, list):
            return []
        return [item for item in result if isinstance(item, dict)]

    def get_chat_member_count(self, chat_id: int) -> int:
        """getChatMemberCount: the number of members of a chat (the daily snapshot)."""
        result = self.call("getChatMemberCount", {"chat_id": chat_id})
        if not isinstance(result, int) or isinstance(result, bool) or result < 0:
            raise BotApiError(
                "getChatMemberCount answered something that is not a count",
                method="getChatMemberCount",
            )
        return result

    # -- the transport ----------------------------------------------------

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        read_timeout: float | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        expect: type | tuple[type, ...] | None = None,
    ) -> Any:
        """POST ``method`` with a JSON body; the ``result``, or a :class:`BotApiError`.

        With ``files`` (name -> (file name, bytes, type)), a multipart upload:
        the parameters go as form fields, JSON-encoded when not text. With
        ``expect``, a ``result`` of another type is a malformed answer (retried).
        """
        body = orjson.dumps(dict(params or {}))
        request: dict[str, Any] = {
            "content": body,
            "headers": {"Content-Type": "application/json"},
        }
        if files:
            request = {"data": _form_fields(params or {}), "files": dict(files)}
        read = self.timeout if read_timeout is None else read_timeout
        timeout = httpx.Timeout(read, connect=10.0)
        last = ""
        for attempt in range(self.attempts):
            try:
                with self._deadline.within(read + self.deadline_slack):
                    response = self._client.post(self._base + method, timeout=timeout, **request)
            except httpx.HTTPError as exc:
                # str(exc) may quote the URL (and so the token): keep only the kind.
                last = f"network error ({type(exc).__name__})"
                self._wait(method, attempt, last, None)
                continue
            answer = _decode(response)
            malformed = _malformed(answer, response.status_code, expect)
            if malformed is not None:
                last = f"a malformed answer (HTTP {response.status_code}: {malformed})"
                self._wait(method, attempt, last, None)
                continue
            if answer is None or not isinstance(answer.get("ok"), bool):
                answer = {"ok": False, "error_code": response.status_code}  # an error page
            if answer["ok"] is True:
                return answer.get("result")
            code = response.status_code
            described = answer.get("error_code")
            if isinstance(described, int) and not isinstance(described, bool):
                code = described
            description = redact(str(answer.get("description") or f"HTTP {code}"))
            if code == 429:
                last = f"rate limited (429): {description}"
                self._wait(method, attempt, last, _retry_after(answer))
                continue
            if code >= 500:
                last = f"server error ({code}): {description}"
                self._wait(method, attempt, last, None)
                continue
            raise _error_for(method, code, description)
        raise BotApiUnavailableError(
            f"Bot API {method} failed {self.attempts} times at {self.api_url}; last: {last}",
            method=method,
        )

    def _wait(self, method: str, attempt: int, reason: str, retry_after: float | None) -> None:
        if attempt + 1 >= self.attempts:
            return
        if retry_after is not None:
            delay = min(retry_after, self.max_retry_after)
            if retry_after > self.max_retry_after:
                reason += (
                    f" (Telegram asked to wait {retry_after:.0f} s; waiting at most "
                    f"{self.max_retry_after:.0f} s)"
                )
        else:
            delay = backoff_delay(attempt, self.backoff_base, self.backoff_cap, self.rng)
        log.warning(
            "Bot API %s: %s; retry %d/%d in %.1f s",
            method,
            reason,
            attempt + 1,
            self.attempts - 1,
            delay,
        )
        self.sleep(delay)


def _decode(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON object, or ``None`` when it is not one (a proxy's HTML page)."""
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _malformed(
    answer: dict[str, Any] | None, status: int, expect: type | tuple[type, ...] | None
) -> str | None:
    """What makes ``answer`` not a Bot API answer (``None``: nothing).

    A refusal Telegram means (``ok: false``) is never malformed, whatever its
    shape, when the HTTP status says it is one (4xx/5xx): a proxy's error
    page with an error status is judged by the status alone.
    """
    if answer is None or not isinstance(answer.get("ok"), bool):
        if status >= 400:
            return None
        return "not a JSON object with ok" if answer is not None else "not JSON"
    if answer["ok"] is False:
        code = answer.get("error_code")
        if status < 400 and not (isinstance(code, int) and not isinstance(code, bool)):
            return "ok is false with no error_code"
        return None
    result = answer.get("result")
    if expect is not None and not isinstance(result, expect):
        return f"a result of type {type(result).__name__}"
    return None


def _reply_params(reply_to: int | None, thread_id: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if reply_to is not None:
        # Sent even when the message replied to was deleted meanwhile.
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    if thread_id is not None:
        params["message_thread_id"] = thread_id
    return params


def _retry_after(answer: Mapping[str, Any]) -> float:
    parameters = answer.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return 1.0


def _error_for(method: str, code: int, description: str) -> BotApiError:
    # Telegram answers 404 "Not Found" for a malformed token: for a method we
    # know exists, that is the token's fault too.
    if code == 401 or (code == 404 and method in _KNOWN_METHODS):
        return TokenRejectedError(TOKEN_REJECTED, method=method, error_code=code)
    if code == 409 and method == "getUpdates":
        if "other getupdates" in description.lower():
            return OtherPollerError(OTHER_POLLER, method=method, error_code=code)
        return WebhookActiveError(WEBHOOK_ACTIVE, method=method, error_code=code)
    return BotApiError(
        f"Bot API {method} refused ({code}): {description}", method=method, error_code=code
    )


_KNOWN_METHODS = frozenset(
    {"getMe", "setWebhook", "getWebhookInfo", "deleteWebhook", "getUpdates"}
    | {"sendMessage", "sendPhoto", "setMyCommands", "getChatMember", "getChatAdministrators"}
)


def _form_fields(params: Mapping[str, Any]) -> dict[str, str]:
    """Parameters of a multipart request: text as is, anything else as JSON (Telegram's rule)."""
    return {
        name: value if isinstance(value, str) else orjson.dumps(value).decode("utf-8")
        for name, value in params.items()
        if value is not None
    }

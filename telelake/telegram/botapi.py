"""A small, careful client of the Telegram Bot API: the calls that set up a bot and poll it.

Only the methods telelake needs (getMe, setWebhook, getWebhookInfo,
deleteWebhook, getUpdates). What it adds over a bare HTTP call:

- retries with bounded exponential backoff and jitter on network errors and
  5xx answers, and waits exactly ``parameters.retry_after`` on a 429;
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
        self.sleep = sleep
        self.rng = rng or random.Random()
        # trust_env=False: a proxy from the environment would see the token in every URL.
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0),
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
        result = self.call("getMe")
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
        return bool(self.call("setWebhook", params))

    def get_webhook_info(self) -> dict[str, Any]:
        result = self.call("getWebhookInfo")
        return result if isinstance(result, dict) else {}

    def delete_webhook(self, *, drop_pending_updates: bool = False) -> bool:
        params = {"drop_pending_updates": True} if drop_pending_updates else {}
        return bool(self.call("deleteWebhook", params))

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
        result = self.call("getUpdates", params, read_timeout=timeout + self.timeout)
        if not isinstance(result, list):
            raise BotApiError(
                "getUpdates answered something that is not a list", method="getUpdates"
            )
        return [item for item in result if isinstance(item, dict)]

    # -- the transport ----------------------------------------------------

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        read_timeout: float | None = None,
    ) -> Any:
        """POST ``method`` with a JSON body; the ``result``, or a :class:`BotApiError`."""
        body = orjson.dumps(dict(params or {}))
        timeout = httpx.Timeout(
            self.timeout if read_timeout is None else read_timeout, connect=10.0
        )
        last = ""
        for attempt in range(self.attempts):
            try:
                response = self._client.post(
                    self._base + method,
                    content=body,
                    headers={"Content-Type": "application/json"},
                    timeout=timeout,
                )
            except httpx.HTTPError as exc:
                # str(exc) may quote the URL (and so the token): keep only the kind.
                last = f"network error ({type(exc).__name__})"
                self._wait(method, attempt, last, None)
                continue
            answer = _decode(response)
            if answer.get("ok") is True:
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


def _decode(response: httpx.Response) -> dict[str, Any]:
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        # A proxy's HTML error page: judge by the status alone.
        return {"ok": False, "error_code": response.status_code}
    return data if isinstance(data, dict) else {"ok": False, "error_code": response.status_code}


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


_KNOWN_METHODS = frozenset({"getMe", "setWebhook", "getWebhookInfo", "deleteWebhook", "getUpdates"})

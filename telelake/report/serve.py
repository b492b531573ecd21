"""The report page on the webhook server: ``GET /report``, behind a password.

``telelake serve`` (and ``run``) can show the latest report to whoever holds
the report password (``TELELAKE_REPORT_PASSWORD``) or, when none is set, the
webhook secret. The password comes as HTTP Basic auth (any user name; a
browser asks for it) or as ``?key=...`` (a link to bookmark); both are
compared in constant time. With neither secret configured the route is not
added at all (404) and a log line says why: the lake holds people's messages.
The same happens when the password is too weak to face guessing
(:func:`password_problem`). Guessing is slow: a few failures per client are
free, then each one doubles the wait before the next attempt is even checked
(429 meanwhile; :class:`~telelake.ingest.refusals.Backoff`), and every refusal
is logged, never with the value tried.

The page is rendered from the enriched layer on request and kept for
:data:`CACHE_SECONDS`, so a reload storm costs one run of the reports.
Rendering runs in a worker thread; the webhook keeps answering meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import threading
import time
from collections.abc import Callable
from math import ceil

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from telelake.config import Settings
from telelake.errors import TelelakeError
from telelake.ingest.refusals import Backoff, RefusalLog

log = logging.getLogger("telelake.report")

REPORT_PATH = "/report"
CACHE_SECONDS = 60.0
_REALM = 'Basic realm="telelake report", charset="UTF-8"'
# NIST SP 800-63B-4 (3.1.1.2): a password used as the only factor "SHALL be a
# minimum of 15 characters in length". The distinct characters rule out the
# trivially guessable ("aaaaaaaaaaaaaaa") without composition rules.
MIN_PASSWORD_LENGTH = 15
MIN_DISTINCT_CHARACTERS = 5


def report_password(settings: Settings) -> str | None:
    """The password of the page: its own if set, else the webhook secret."""
    return settings.report_password or settings.secret or None


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak for the page (``None``: it is strong enough)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"it has {len(password)} characters; at least {MIN_PASSWORD_LENGTH} are needed"
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        return f"it has fewer than {MIN_DISTINCT_CHARACTERS} different characters"
    return None


def _matches(expected: str, given: str | None) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogateescape"))


def _basic_password(header: str | None) -> str | None:
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _user, sep, password = decoded.partition(":")
    return password if sep else None


def authorized(request: Request, password: str) -> bool:
    """Whether ``request`` carries ``password`` (Basic auth or ``?key=``)."""
    # Both are checked, each in constant time, so timing tells nothing of which failed.
    by_header = _matches(password, _basic_password(request.headers.get("authorization")))
    by_key = _matches(password, request.query_params.get("key"))
    return by_header or by_key


def _offers_password(request: Request) -> bool:
    return "authorization" in request.headers or "key" in request.query_params


class PageCache:
    """The last page rendered and when; one render at a time."""

    def __init__(self, render: Callable[[], str], seconds: float = CACHE_SECONDS) -> None:
        self._render = render
        self._seconds = seconds
        self._lock = threading.Lock()
        self._page: str | None = None
        self._at = 0.0

    def get(self) -> str:
        with self._lock:
            now = time.monotonic()
            if self._page is None or now - self._at > self._seconds:
                self._page = self._render()
                self._at = time.monotonic()
            return self._page


def _headers() -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def report_routes(settings: Settings, render: Callable[[], str] | None = None) -> list[BaseRoute]:
    """``GET /report`` when a password is configured, else no route (and a log line)."""
    password = report_password(settings)
    if password is None:
        log.info("no /report page: set TELELAKE_REPORT_PASSWORD (or a webhook secret) to serve it")
        return []
    weak = password_problem(password)
    if weak is not None:
        which = "TELELAKE_REPORT_PASSWORD" if settings.report_password else "the webhook secret"
        log.warning("no /report page: its password (%s) is too weak: %s", which, weak)
        return []
    backoff = Backoff(free=5)
    refusals = RefusalLog(log)
    if render is None:
        from telelake.report.build import render_lake

        cache = PageCache(lambda: render_lake(settings))
    else:
        cache = PageCache(render)

    async def page(request: Request) -> Response:
        client = request.client.host if request.client else "?"
        wait = backoff.wait_left(client)
        if wait > 0:
            # Not even checked: a guess made while waiting tells nothing.
            refusals.refused("/report: refused %s, waiting %.0f s after failures", client, wait)
            return PlainTextResponse(
                "too many wrong passwords; try again later\n",
                status_code=429,
                headers={"Retry-After": str(ceil(wait)), **_headers()},
            )
        if not authorized(request, password):
            if not _offers_password(request):
                # A browser's first request, before it asks: no guess was made.
                refusals.refused("/report: refused %s: no password given", client)
                return PlainTextResponse(
                    "password required\n",
                    status_code=401,
                    headers={"WWW-Authenticate": _REALM, **_headers()},
                )
            failures, wait = backoff.failed(client)
            refusals.refused(
                "/report: refused %s: no or a wrong password (%d in a row; next try in %.0f s)",
                client, failures, wait,
            )  # fmt: skip
            return PlainTextResponse(
                "password required\n",
                status_code=401,
                headers={"WWW-Authenticate": _REALM, **_headers()},
            )
        backoff.succeeded(client)
        try:
            body = await run_in_threadpool(cache.get)
        except TelelakeError as exc:
            log.error("report page not rendered: %s", exc)
            return PlainTextResponse(
                "report unavailable, see the server log\n", status_code=503, headers=_headers()
            )
        return HTMLResponse(body, headers=_headers())

    log.info("report page on %s (password required)", REPORT_PATH)
    return [Route(REPORT_PATH, page, methods=["GET"])]

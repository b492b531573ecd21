"""How a webhook request is answered: one function for the local server and the Lambda.

Telegram retries anything but a 2xx, so the status of every answer is a
promise (DESIGN §3): 200 only once the update is durable; 401/403 when the
secret is missing or wrong, checked in constant time before the body is
read; 413 over the body limit and 400 for what is not an update (requests
Telegram itself never sends); 503 when the raw layer cannot be written, so
Telegram retries; 500 when the configuration is broken. The webhook server
(``ingest/webhook.py``) and the ingest Lambda (``aws/handlers.py``) both end
in :meth:`Receiver.answer` and only translate its :class:`Answer` into their
transport's response.

Every refused secret is logged (never the value sent), at most a number of
lines a minute (:class:`~telelake.ingest.refusals.RefusalLog`); the last
storage failure is kept until an update is stored again, so ``/healthz`` can
say why the server is not ready.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telelake.errors import BadUpdateError, ConfigError, StorageError
from telelake.ingest.core import Ingestor, Receipt
from telelake.ingest.refusals import RefusalLog

log = logging.getLogger("telelake.webhook")

# The header Telegram sends the webhook's secret token in (lower-cased, as
# ASGI servers and API Gateway HTTP APIs deliver header names).
SECRET_HEADER = "x-telegram-bot-api-secret-token"
SECRET_REFUSED = "missing or wrong secret token"

# Reads the request body; raises BodyTooLargeError past ``limit`` bytes.
BodyReader = Callable[[int], Awaitable[bytes]]
# Stores one body (as the transport can: in a thread, through a batcher, inline).
Storer = Callable[[bytes], Awaitable[Receipt]]


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP status and JSON body a request is answered with."""

    status: int
    payload: dict[str, Any]


def secret_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time check of the ``X-Telegram-Bot-Api-Secret-Token`` header."""
    if expected is None:
        return True
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogateescape"))


def whole_body(body: bytes) -> BodyReader:
    """A reader for a transport that has the whole body already (the Lambda's event).

    The body limit is the ingest core's to enforce then (``parse_update``).
    """

    async def read(limit: int) -> bytes:
        return body

    return read


class Receiver:
    """Answers webhook requests for one :class:`Ingestor`.

    ``store`` is how the transport runs the core: the webhook server hands it
    to a writer thread or a thread pool so its event loop never blocks; by
    default it runs inline (the Lambda has one request at a time).
    """

    def __init__(self, ingestor: Ingestor, store: Storer | None = None) -> None:
        self.ingestor = ingestor
        self._store = store or self._inline
        self.refusals = RefusalLog(log)
        # Why the last update could not be stored; None once one is stored again.
        self.storage_problem: str | None = None

    async def _inline(self, body: bytes) -> Receipt:
        return self.ingestor.accept(body)

    async def answer(
        self, secret: str | None, read_body: BodyReader, client: str | None = None
    ) -> Answer:
        """The answer to one POST carrying ``secret`` in its header (``None``: absent),
        from ``client`` (its address, when the transport knows it: for the log).

        The secret is checked before a byte of the body is read. A client that
        goes away while its body is read raises whatever ``read_body`` raises.
        """
        expected = self.ingestor.settings.secret
        if not secret_matches(expected, secret):
            self.refusals.refused(
                "refused a webhook request from %s: %s secret token",
                client or "an unknown address",
                "no" if secret is None else "a wrong",
            )
            return Answer(401 if secret is None else 403, {"ok": False, "error": SECRET_REFUSED})
        try:
            body = await read_body(self.ingestor.settings.max_body)
            receipt = await self._store(body)
        except BadUpdateError as exc:
            return Answer(exc.status_code, {"ok": False, "error": str(exc)})
        except StorageError as exc:
            log.error("not acknowledged, Telegram will retry: %s", exc)
            self.storage_problem = str(exc)
            return Answer(503, {"ok": False, "error": "storage unavailable, retry later"})
        except ConfigError as exc:
            log.error("not acknowledged, configuration is broken: %s", exc)
            return Answer(500, {"ok": False, "error": "server misconfigured"})
        self.storage_problem = None
        log.debug("update %s (%s): %s", receipt.update_id, receipt.kind, receipt.outcome)
        return Answer(200, {"ok": True, "outcome": receipt.outcome, "update_id": receipt.update_id})

    def answer_now(self, secret: str | None, body: bytes) -> Answer:
        """:meth:`answer` for a synchronous transport that has the whole request."""
        return asyncio.run(self.answer(secret, whole_body(body)))

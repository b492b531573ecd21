"""Messages waiting to be sent, sent as Telegram's limits allow, one chat never blocking another.

Each chat has its own first-in first-out line; :meth:`Outbox.send_ready`
sends, oldest first, every message whose chat the :class:`RateLimiter` lets
through now, and says how long until the next one may go. So a group at its
20-a-minute limit waits while other chats' answers go out.

A ``429`` is waited out inside the Bot API client (exactly ``retry_after``),
and the outbox is told through the client's ``sleep``, so no other message
goes meanwhile either. A ``403`` (a person who never started the bot, or
blocked it; a group that removed it) sends the message's ``fallback``
instead, if it has one. Telegram unavailable after the client's retries puts
the message back for one more try later. Every message tells its ``done``
callback once, delivered or not: that is how a command counts as handled.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from telelake.errors import BotApiError
from telelake.responder.limits import RateLimiter
from telelake.telegram.botapi import BotApi

log = logging.getLogger("telelake.responder")

# An answer not sent within this long is not sent (the chat has moved on).
STALE_SECONDS = 15 * 60
MAX_TRIES = 2


class Stopping(Exception):
    """The responder is stopping: abandon the call in hand (it was not necessarily sent)."""


@dataclass
class Outgoing:
    """One message to send: text, or a PNG with the text as its caption."""

    chat_id: int
    text: str
    png: bytes | None = None
    reply_to: int | None = None
    thread_id: int | None = None
    # sent instead when Telegram refuses ``chat_id`` (403)
    fallback: Outgoing | None = None
    done: Callable[[bool], None] | None = None
    created: float = field(default_factory=time.time)
    tries: int = 0

    def finish(self, delivered: bool) -> None:
        if self.done is not None:
            done, self.done = self.done, None
            done(delivered)


class Outbox:
    """The responder's sending side: one line per chat, the limiter, the Bot API."""

    def __init__(
        self, api: BotApi, limiter: RateLimiter, clock: Callable[[], float] = time.time
    ) -> None:
        self.api = api
        self.limiter = limiter
        self.clock = clock
        self._lines: dict[int, deque[Outgoing]] = {}
        self.delivered = 0
        self.failed = 0

    def put(self, message: Outgoing) -> None:
        self._lines.setdefault(message.chat_id, deque()).append(message)

    def __len__(self) -> int:
        return sum(len(line) for line in self._lines.values())

    def send_ready(self) -> float | None:
        """Send everything the limits allow now; seconds until the next may go (``None``: empty)."""
        while True:
            ready: Outgoing | None = None
            wait: float | None = None
            for chat_id, line in list(self._lines.items()):
                if not line:
                    del self._lines[chat_id]
                    continue
                delay = self.limiter.delay(chat_id)
                if delay > 0:
                    wait = delay if wait is None else min(wait, delay)
                elif ready is None or line[0].created < ready.created:
                    ready = line[0]
            if ready is None:
                return wait
            self._lines[ready.chat_id].popleft()
            self._deliver(ready)

    def drop_all(self) -> int:
        """Abandon every waiting message (a Lambda out of time); how many. Their commands
        are not marked handled."""
        count = len(self)
        self._lines.clear()
        return count

    def _deliver(self, message: Outgoing) -> None:
        if self.clock() - message.created > STALE_SECONDS:
            log.info("an answer to chat %s waited too long and was not sent", message.chat_id)
            message.finish(False)
            return
        self.limiter.sent(message.chat_id)
        try:
            where = {"reply_to": message.reply_to, "thread_id": message.thread_id}
            if message.png is not None:
                self.api.send_photo(message.chat_id, message.png, caption=message.text, **where)
            else:
                self.api.send_message(message.chat_id, message.text, **where)
        except BotApiError as exc:
            self._failed(message, exc)
            return
        self.delivered += 1
        message.finish(True)

    def _failed(self, message: Outgoing, exc: BotApiError) -> None:
        if exc.error_code == 403 and message.fallback is not None:
            fallback, message.fallback = message.fallback, None
            fallback.done, message.done = message.done, None
            self.put(fallback)
            return
        if exc.retryable and message.tries + 1 < MAX_TRIES:
            message.tries += 1
            self.put(message)
            return
        if exc.error_code == 400 and message.png is not None:
            # A photo Telegram would not take: the text alone still answers.
            message.png = None
            self.put(message)
            return
        self.failed += 1
        # 403: someone who never started the bot, blocked it, or a group that removed it.
        level = logging.INFO if exc.error_code == 403 else logging.WARNING
        log.log(level, "answer to chat %s not sent: %s", message.chat_id, exc)
        message.finish(False)

"""Telegram's sending limits, as one clock-driven rule: when may the next message go?

Telegram's FAQ for bot developers: no more than one message per second in
one chat, no more than 20 messages per minute in one group, and about 30
messages per second overall; past them it answers 429 with ``retry_after``.
:class:`RateLimiter` keeps the bot under all three, with a small margin
(a message counts from the moment it is handed to HTTP, and arrives a little
later), and honours a ``retry_after`` for every chat at once (Telegram's flood
control is per bot as much as per chat). It decides only *when*; the outbox
decides *what* goes next. Pure: the clock is injected, nothing sleeps here.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

PER_SECOND = 30
GROUP_PER_MINUTE = 20
CHAT_INTERVAL = 1.0
# Seconds added to every window: what is sent at t arrives at t + latency, so
# windows counted on our side must be a little longer than Telegram's.
MARGIN = 0.25


class RateLimiter:
    """When the next message to a chat may be sent; told of every send and every 429."""

    def __init__(
        self,
        *,
        per_second: int = PER_SECOND,
        group_per_minute: int = GROUP_PER_MINUTE,
        chat_interval: float = CHAT_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_second = per_second
        self.group_per_minute = group_per_minute
        self.chat_interval = chat_interval
        self.clock = clock
        self._all: deque[float] = deque(maxlen=per_second)
        self._chats: dict[int, deque[float]] = {}
        self._paused_until = 0.0

    def delay(self, chat_id: int) -> float:
        """Seconds until a message to ``chat_id`` may be sent (0: now)."""
        now = self.clock()
        waits = [self._paused_until - now]
        if len(self._all) == self.per_second:
            waits.append(self._all[0] + 1.0 + MARGIN - now)
        sent = self._chats.get(chat_id)
        if sent:
            waits.append(sent[-1] + self.chat_interval + MARGIN - now)
            # Negative ids are groups, supergroups and channels; positive ones people.
            if chat_id < 0 and len(sent) == self.group_per_minute:
                waits.append(sent[0] + 60.0 + MARGIN - now)
        return max(0.0, *waits)

    def sent(self, chat_id: int) -> None:
        """Record a message handed to Telegram now."""
        now = self.clock()
        self._all.append(now)
        self._chats.setdefault(chat_id, deque(maxlen=self.group_per_minute)).append(now)

    def pause(self, seconds: float) -> None:
        """Telegram asked to wait (``retry_after``): nothing goes anywhere until then."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def seed(self, chat_id: int, times: Iterable[float]) -> None:
        """Sends made by an earlier process (a Lambda's previous invocation)."""
        known = self._chats.setdefault(chat_id, deque(maxlen=self.group_per_minute))
        merged = sorted({*known, *times})
        known.clear()
        known.extend(merged[-self.group_per_minute :])

    def recent(self, chat_id: int) -> list[float]:
        """This chat's sends within the last minute (for :meth:`seed` in the next process)."""
        horizon = self.clock() - 60.0 - MARGIN
        return [t for t in self._chats.get(chat_id, ()) if t > horizon]

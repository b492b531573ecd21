"""The clock and the two queues every part of the simulation writes to.

A simulation first plans *slots* (things that will happen: a message, a
join, a pin) and then plays them in time order; playing a slot may plan
more slots and *emits* updates. Both queues share one sequence number, so
ties in time keep the order in which things were decided, and the same
seed always gives the same bytes. :class:`Timeline` is the base of the
parts that plan and play (:mod:`telelake.demo.messages`,
:mod:`telelake.demo.membership`), so they share one state without
importing each other.
"""

from __future__ import annotations

import heapq
import random
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telelake.demo import vocabulary as vocab
from telelake.demo.people import Cast
from telelake.demo.world import Chat, Json, Msg, Pending


class Timeline:
    """State shared by planning and playing: clock, cast, slots and emitted updates."""

    def __init__(self, rng: random.Random, zone: ZoneInfo, first: date, last: date, cast: Cast):
        self.rng, self.zone, self.first, self.last = rng, zone, first, last
        self.end = self._midnight(last + timedelta(days=1))  # exclusive
        self.cast = cast
        self.seq = 0
        self.slots: list[tuple[int, int, str, tuple[Any, ...]]] = []
        self.pending: list[Pending] = []
        # (chat id, message id, user id or 0 for an anonymous admin) -> current reaction
        self.reactions: dict[tuple[int, int, int], list[Json]] = {}

    def _midnight(self, day: date) -> int:
        # Epoch of local midnight: days with a DST change keep their real length.
        return int(datetime.combine(day, time(0), tzinfo=self.zone).timestamp())

    def _moment(self, day: date) -> int:
        """A random second of local ``day``, following the group's daily rhythm."""
        hours = vocab.WEEKEND_HOURS if day.weekday() >= 5 else vocab.WEEKDAY_HOURS
        hour = self.rng.choices(range(24), weights=hours)[0]
        when = datetime.combine(day, time(hour, self.rng.randrange(60), self.rng.randrange(60)))
        # A wall time inside a DST gap maps an hour on; never onto another day.
        last = self._midnight(day + timedelta(days=1)) - 1
        return min(int(when.replace(tzinfo=self.zone).timestamp()), last)

    def _later(self, at: int, delay: float) -> int:
        # Keep follow-ups inside the simulated week whenever there is room.
        return max(at, min(at + int(delay), self.end - 1))

    def _add_slot(self, at: int, kind: str, *args: Any) -> None:
        """Plan ``_do_<kind>(at, *args)`` for time ``at``."""
        self.seq += 1
        heapq.heappush(self.slots, (at, self.seq, kind, args))

    def _emit(
        self, at: int, kind: str, msg: Msg | None = None, payload: Json | None = None
    ) -> None:
        """Queue an update; a message in it is rendered as it looked at ``at``."""
        self.seq += 1
        self.pending.append(Pending(at, self.seq, kind, msg, payload))

    def _new(self, chat: Chat, at: int, head: Json, body: Json, **extra: Any) -> Msg:
        """Post a new message to ``chat`` and emit its ``message`` update."""
        msg = Msg(chat, chat.next_id, at, head, body, **extra)
        chat.next_id += 1
        chat.history.append(msg)
        self._emit(at, "message", msg)
        return msg

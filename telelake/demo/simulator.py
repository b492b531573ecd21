"""Simulated group traffic: the webhook bodies Telegram would POST for a week of a busy group.

``telelake demo``, the benchmarks and the tests need realistic input without
a bot token or a network: a supergroup and a small basic group, a few
hundred people who mostly lurk while a handful write most of the messages,
a daily rhythm in the group's time zone with quieter weekends, and the
awkward parts of real traffic - accents, CJK, right-to-left text and multi
code-point emoji, entity offsets in UTF-16 code units, stickers, photo
albums, replies, forwards, edits hours later, joins and leaves, reactions,
``chat_member`` updates and re-deliveries of identical bytes. Field names and
key order follow the Bot API server's own serialiser, so the bodies look
like what Telegram really sends.

Everything comes from one ``random.Random(seed)``: the same arguments always
give the same bytes. :class:`Traffic` carries the ground truth (how many
messages, service messages, edits, re-deliveries) that tests compare with what
the pipeline computed.

This module drives a run: :func:`simulate` gathers the cast
(:mod:`telelake.demo.people`), plans the days, plays the plan in time order
(:mod:`telelake.demo.messages`, :mod:`telelake.demo.membership`) and
numbers and serialises the updates in delivery order.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from telelake.demo import vocabulary as vocab
from telelake.demo.membership import Membership
from telelake.demo.messages import Messages
from telelake.demo.people import gather
from telelake.demo.world import Chat
from telelake.errors import UsageError

REDELIVERY_RATE = 0.03


@dataclass(frozen=True)
class Traffic:
    """Simulated updates in delivery order, and the ground truth about them."""

    bodies: list[bytes]  # delivery order, re-deliveries included (identical bytes)
    unique_updates: int  # distinct update_ids
    redeliveries: int  # len(bodies) - unique_updates
    messages: int  # distinct (chat_id, message_id) of messages people (or bots) wrote
    service_messages: int  # distinct service messages (joins, leaves, pins, title changes)
    edits: int  # distinct edited_message updates
    first_day: date  # local day of the earliest message send date
    last_day: date  # local day of the latest message send date
    # (chat id, local day, taken at, members): what the daily getChatMemberCount
    # snapshot of `telelake run` would have stored, taken at local noon.
    member_counts: tuple[tuple[int, date, int, int], ...] = ()


def simulate(
    *,
    seed: int = 7,
    users: int = 300,
    days: int = 8,
    messages_per_day: int = 400,
    end: date | None = None,
    timezone: str = "America/Sao_Paulo",
) -> Traffic:
    """Simulate ``days`` local days ending on ``end`` (default: yesterday in ``timezone``).

    ``users`` people (plus three bots) share the two chats; ``messages_per_day``
    is the weekday volume of both chats together (weekends are quieter).
    """
    if users < 10 or days < 1 or messages_per_day < 1:
        raise UsageError("simulate needs users >= 10, days >= 1 and messages_per_day >= 1")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown time zone {timezone!r}") from exc
    last = end if end is not None else datetime.now(zone).date() - timedelta(days=1)
    rng = random.Random(seed)
    sim = _Sim(rng, zone, last - timedelta(days=days - 1), last, gather(rng, users))
    sim.plan(messages_per_day)
    sim.run()
    return sim.traffic()


class _Sim(Messages, Membership):
    """One simulation run: plans the days, plays them in time order, then delivers."""

    def plan(self, per_day: int) -> None:
        rng, day = self.rng, self.first
        while day <= self.last:
            volume = per_day * vocab.DAY_VOLUME[day.weekday()] * rng.uniform(0.85, 1.15)
            main = max(1, round(volume * 0.88))
            for chat, count in ((self.cast.main, main), (self.cast.small, round(volume) - main)):
                self._plan_bursts(chat, day, count)
            day += timedelta(days=1)
        self._plan_chat_events()

    def _plan_bursts(self, chat: Chat, day: date, count: int) -> None:
        # Conversations come in bursts: a start from the daily curve, then
        # messages tens of seconds apart.
        lo, hi = self._midnight(day), self._midnight(day + timedelta(days=1)) - 1
        while count > 0:
            size = min(count, 1 + int(self.rng.expovariate(1 / 5)))
            at = float(self._moment(day))
            for _ in range(size):
                slot = int(at) if lo <= at <= hi else hi - self.rng.randrange(900)
                self._add_slot(slot, "msg", chat)
                at += 2 + self.rng.expovariate(1 / 50)
            count -= size

    def run(self) -> None:
        """Play every slot in time order; playing may plan more slots."""
        while self.slots:
            at, _, kind, args = heapq.heappop(self.slots)
            getattr(self, f"_do_{kind}")(at, *args)

    def traffic(self) -> Traffic:
        """Number the updates in time order, serialise them and add re-deliveries."""
        self.pending.sort()
        base = self.rng.randrange(100_000_000, 900_000_000)
        unique: list[bytes] = []
        sent: list[int] = []
        for index, item in enumerate(self.pending):
            payload = item.msg.to_json(item.time) if item.msg is not None else item.payload
            unique.append(orjson.dumps({"update_id": base + index, item.kind: payload}))
            if item.kind == "message" and item.msg is not None:
                sent.append(item.msg.date)
        order = self._redeliver(unique)
        messages = [p.msg for p in self.pending if p.kind == "message" and p.msg is not None]
        local = [datetime.fromtimestamp(t, UTC).astimezone(self.zone).date() for t in sent]
        return Traffic(
            bodies=order,
            unique_updates=len(unique),
            redeliveries=len(order) - len(unique),
            messages=sum(not m.service for m in messages),
            service_messages=sum(m.service for m in messages),
            edits=sum(p.kind == "edited_message" for p in self.pending),
            first_day=min(local),
            last_day=max(local),
            member_counts=self._member_counts(),
        )

    def _member_counts(self) -> tuple[tuple[int, date, int, int], ...]:
        counts = []
        day = self.first
        while day <= self.last:
            noon = self._midnight(day) + 12 * 3600
            for chat in (self.cast.main, self.cast.small):
                members = sum(chat.is_member(user, noon) for user in chat.members)
                counts.append((chat.id, day, noon, members))
            day += timedelta(days=1)
        return tuple(counts)

    def _redeliver(self, unique: list[bytes]) -> list[bytes]:
        # A re-delivery is the same bytes again a little later, as when
        # Telegram retries an update whose acknowledgement it did not get.
        order: list[tuple[float, int, bytes]] = []
        for index, body in enumerate(unique):
            order.append((index, 0, body))
            if self.rng.random() < REDELIVERY_RATE:
                for copy in range(1 if self.rng.random() < 0.9 else 2):
                    order.append((index + self.rng.uniform(0.5, 40), copy + 1, body))
        order.sort(key=lambda entry: (entry[0], entry[1]))
        return [body for _, _, body in order]

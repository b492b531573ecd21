"""Telegram's limits hold: 1 a second per chat, 20 a minute per group, 30 a second overall.

The limits are Telegram's published ones ("avoid sending more than one
message per second" to a chat, "no more than 20 messages per minute" to a
group, "about 30 messages per second" in bulk; Bots FAQ). Checked three ways:
the limiter alone over random traffic (property test), a burst of 100 commands
through the whole responder against the fake Bot API on a simulated clock, and
a 429 storm in real time, where the fake's own timestamps show that
``retry_after`` was honoured.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from responder_helpers import GROUP, Clock, drain, message, responder, settings_for, store, user

from telelake.responder.limits import RateLimiter
from telelake.responder.worker import ResponderWorker

NOW = 1_790_000_000


def assert_within_limits(sends: list[tuple[float, int]]) -> None:
    """Telegram's three rules over (time, chat_id) sends, exact windows."""
    times = sorted(t for t, _ in sends)
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 1.0) <= 30, "over 30 a second"
    by_chat: dict[int, list[float]] = defaultdict(list)
    for t, chat in sends:
        by_chat[chat].append(t)
    for chat, moments in by_chat.items():
        moments.sort()
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(moments)), chat
        if chat < 0:
            for i, t in enumerate(moments):
                assert sum(1 for u in moments[i:] if u < t + 60.0) <= 20, "over 20 a minute"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([-1, -2, -3, 5, 6, 7, 8, 9]), min_size=1, max_size=150))
def test_the_limiter_keeps_any_traffic_within_the_limits(chats: list[int]) -> None:
    clock = Clock(0)
    limiter = RateLimiter(clock=clock)
    sends = []
    for chat in chats:  # in order, each as soon as allowed
        clock.advance(limiter.delay(chat))
        assert limiter.delay(chat) == 0
        limiter.sent(chat)
        sends.append((clock.now, chat))
    assert_within_limits(sends)


def test_a_retry_after_stops_every_chat() -> None:
    clock = Clock(0)
    limiter = RateLimiter(clock=clock)
    limiter.pause(7)
    assert limiter.delay(-5) >= 7 and limiter.delay(42) >= 7
    clock.advance(7)
    assert limiter.delay(-5) == 0


def recorded(core: Any, clock: Clock) -> list[tuple[float, int]]:
    sends: list[tuple[float, int]] = []
    original = core.limiter.sent

    def sent(chat_id: int) -> None:
        sends.append((clock.now, chat_id))
        original(chat_id)

    core.limiter.sent = sent
    return sends


def test_a_burst_of_100_commands_is_coalesced_and_kept_within_the_limits(
    tmp_path: Path, fake: Any
) -> None:
    settings = settings_for(tmp_path / "lake", fake)
    others = [-2000 - i for i in range(30)]
    for chat in others:
        fake.set_chat(chat)
    people = [user(1000 + i, f"P{i}") for i in range(100)]
    fake.start_bot(*[p["id"] for p in people[:20]])
    burst = []
    for i, person in enumerate(people):
        # 40 /me in the test group (20 of them from people who never started the bot),
        # 30 /stats, /top and /help in it, and 30 /help in 30 other groups.
        if i < 40:
            text, chat = "/me", GROUP
        elif i < 70:
            text, chat = ("/stats", "/top", "/help")[i % 3], GROUP
        else:
            text, chat = "/help", others[i - 70]
        chat_json = {"id": chat, "title": f"G{chat}", "type": "supergroup"}
        burst.append(message(5000 + i, date=NOW, sender=person, text=text, chat=chat_json))
    store(settings, burst)
    clock = Clock(NOW)
    core = responder(settings, clock)
    sends = recorded(core, clock)
    started = time.monotonic()
    for update in burst:
        core.handle(update)
    handled = time.monotonic() - started
    took = drain(core, clock)
    sent = fake.sent()
    in_group = [m for m in sent if m["chat_id"] == GROUP]
    # Coalesced: one /stats, one /top, one /help in the group; /me is per person.
    assert len(in_group) == 3 + 20
    assert len([m for m in sent if m["chat_id"] > 0]) == 20
    assert len([m for m in sent if m["chat_id"] in others]) == 30
    # Every call counts, the 20 private tries Telegram refused (403) too.
    assert len(sent) == 73 and len(sends) == 93
    assert_within_limits(sends)
    # 23 group messages at 20 a minute: the last three wait for the minute to pass.
    assert took >= 60.0
    print(f"\n100 commands: decided in {handled:.2f} s, sent over {took:.0f} simulated s")
    record = core.records.get(GROUP)
    assert all(5000 + i in record.handled for i in range(70))


def test_a_429_storm_is_waited_out_exactly_and_never_blocks_the_hand_over(
    tmp_path: Path, fake: Any
) -> None:
    settings = settings_for(tmp_path / "lake", fake)
    stop = threading.Event()
    worker = ResponderWorker(settings, stop)
    worker.start()
    try:
        fake.fail("sendMessage", 429, times=3, retry_after=2)
        fake.fail("sendPhoto", 429, times=1, retry_after=2)
        now = int(time.time())
        updates = [message(7000 + i, date=now, sender=user(20 + i, "Q"), text=text)
                   for i, text in enumerate(["/help", "/top", "/stats"])]  # fmt: skip
        store(settings, updates)
        offered = []
        for update in updates:
            begin = time.perf_counter()
            worker.offer(orjson.dumps(update), "stored")
            offered.append(time.perf_counter() - begin)
        deadline = time.monotonic() + 60
        while len(fake.sent()) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(fake.sent()) == 3
        # Every call after a 429 came at least retry_after seconds later (the fake's clock).
        calls = [c for c in fake.calls() if c["method"] in ("sendMessage", "sendPhoto")]
        assert len(calls) == 3 + 4
        # The fake refuses the first three sendMessage calls and the first sendPhoto.
        messages = [i for i, c in enumerate(calls) if c["method"] == "sendMessage"][:3]
        photos = [i for i, c in enumerate(calls) if c["method"] == "sendPhoto"][:1]
        for i in messages + photos:
            assert calls[i + 1]["at"] - calls[i]["at"] >= 2.0 - 0.01, (i, calls)
        # The hand-over never waited for the storm.
        assert max(offered) < 0.01
    finally:
        stop.set()
        worker.join()

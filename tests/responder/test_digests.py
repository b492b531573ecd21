"""Digests: set only by administrators, posted once at the local time, DST days included.

Expected instants worked out by hand from the zone's rules (Europe/Berlin:
clocks go from 02:00 to 03:00 on 2026-03-29 and from 03:00 back to 02:00 on
2026-10-25), not from the scheduler's own functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from responder_helpers import (
    GROUP,
    Clock,
    build,
    drain,
    group_chat,
    message,
    responder,
    settings_for,
    store,
    user,
)

OLGA = user(1, "Olga")  # creator of GROUP in the fake
PAULO = user(2, "Paulo")  # administrator
ANA = user(10, "Ana")  # a member


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def make(tmp_path: Path, fake: Any, now: float, **given: Any) -> tuple[Any, Clock, Any]:
    settings = settings_for(tmp_path / "lake", fake, timezone="Europe/Berlin", **given)
    clock = Clock(now)
    return settings, clock, responder(settings, clock)


def say(core: Any, clock: Clock, update_id: int, sender: dict[str, Any], text: str) -> None:
    command = message(update_id, date=int(clock.now), sender=sender, text=text)
    store(core.settings, [command])
    core.handle(command)
    drain(core, clock)


def digest_times(core: Any, clock: Clock, fake: Any, until: float, step: float = 60) -> list[float]:
    """Tick every ``step`` seconds until ``until``; when each digest went out."""
    posted = []
    while clock.now < until:
        before = len(fake.sent(GROUP))
        core.tick()
        drain(core, clock)
        if len(fake.sent(GROUP)) > before:
            assert fake.sent(GROUP)[-1]["text"].startswith("🗓 Digest")
            posted.append(clock.now)
        clock.advance(step)
    return posted


def test_only_administrators_change_the_digest(tmp_path: Path, fake: Any) -> None:
    _, clock, core = make(tmp_path, fake, utc(2026, 3, 20, 12))
    say(core, clock, 1, ANA, "/digest daily")
    assert "Only the group's administrators" in fake.sent(GROUP)[-1]["text"]
    assert core.records.get(GROUP).digest == "off"
    say(core, clock, 2, PAULO, "/digest weekly")
    assert core.records.get(GROUP).digest == "weekly"
    assert "every Monday at 09:00 (Europe/Berlin)" in fake.sent(GROUP)[-1]["text"]
    # An anonymous administrator writes as the group itself.
    anonymous = message(3, date=int(clock.now), sender={"id": 1087968824, "is_bot": True,
                        "first_name": "Group"}, text="/digest off")  # fmt: skip
    anonymous["message"]["sender_chat"] = group_chat()
    core.handle(anonymous)
    drain(core, clock)
    assert core.records.get(GROUP).digest == "off"
    asked = [c["params"] for c in fake.calls("getChatMember")]
    assert asked == [{"chat_id": GROUP, "user_id": 10}, {"chat_id": GROUP, "user_id": 2}]


@pytest.mark.parametrize(
    ("start", "until", "expected"),
    [
        # 02:30 does not exist on 2026-03-29: the digest comes right after the gap, 03:30
        # CEST = 01:30 UTC. The days around it: 02:30 CET = 01:30 UTC, 02:30 CEST = 00:30 UTC.
        (utc(2026, 3, 27, 12), utc(2026, 3, 31, 6),
         [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30),
          utc(2026, 3, 31, 0, 30)]),
        # 02:30 happens twice on 2026-10-25: once, at the first (CEST, 00:30 UTC).
        (utc(2026, 10, 24, 12), utc(2026, 10, 26, 6),
         [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]),
    ],
)  # fmt: skip
def test_a_daily_digest_comes_once_a_day_at_the_local_time_dst_days_included(
    tmp_path: Path, fake: Any, start: float, until: float, expected: list[float]
) -> None:
    _, clock, core = make(tmp_path, fake, start, digest_at="02:30")
    say(core, clock, 1, OLGA, "/digest daily")
    posted = digest_times(core, clock, fake, until)
    assert posted == expected


def test_a_weekly_digest_comes_on_mondays_and_the_setting_survives_a_restart(
    tmp_path: Path, fake: Any
) -> None:
    settings, clock, core = make(tmp_path, fake, utc(2026, 3, 27, 12), digest_at="08:15")
    say(core, clock, 1, OLGA, "/digest weekly")
    core.save()
    # A new process (a restart): the setting is read back from the lake's records.
    again = responder(settings, clock)
    posted = digest_times(again, clock, fake, utc(2026, 4, 7, 12), step=300)
    # Mondays 2026-03-30 and 2026-04-06, 08:15 CEST = 06:15 UTC (ticks every 5 minutes).
    assert posted == [utc(2026, 3, 30, 6, 15), utc(2026, 4, 6, 6, 15)]


def test_a_restart_after_the_digest_does_not_post_it_twice(tmp_path: Path, fake: Any) -> None:
    settings, clock, core = make(tmp_path, fake, utc(2026, 5, 4, 12), digest_at="09:00")
    say(core, clock, 1, OLGA, "/digest daily")
    assert digest_times(core, clock, fake, utc(2026, 5, 5, 7, 5)) == [utc(2026, 5, 5, 7)]
    again = responder(settings, clock)
    assert digest_times(again, clock, fake, utc(2026, 5, 5, 12)) == []


def test_the_digest_counts_the_day_before_as_the_lake_holds_it(tmp_path: Path, fake: Any) -> None:
    settings, clock, core = make(tmp_path, fake, utc(2026, 5, 4, 12), digest_at="09:00")
    # 2026-05-04 local: 7 messages (one at 23:59 CEST, i.e. 21:59 UTC); 2026-05-05 00:01: not.
    people = [ANA, PAULO, OLGA]
    day = [message(100 + i, date=int(utc(2026, 5, 4, 8 + i)), sender=people[i % 3],
                   text=f"m{i}") for i in range(6)]  # fmt: skip
    day.append(message(106, date=int(utc(2026, 5, 4, 21, 59)), sender=ANA, text="late"))
    day.append(message(107, date=int(utc(2026, 5, 4, 22, 1)), sender=ANA, text="next day"))
    store(settings, day)
    build(settings)
    say(core, clock, 1, OLGA, "/digest daily")
    digest_times(core, clock, fake, utc(2026, 5, 5, 7, 5))
    text = fake.sent(GROUP)[-1]["text"]
    # The "/digest daily" command itself (12:00 UTC = 14:00 local) is a message too: 8.
    assert "Monday, May 04" in text and "Messages: 8 (new" in text and "Posters: 3" in text

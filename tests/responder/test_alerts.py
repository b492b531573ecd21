"""Join alerts: more joins than the threshold within 10 minutes warn the administrators.

"Above a threshold" is strictly more: with a threshold of 5, five joins in ten
minutes are quiet and the sixth alerts. Administrators who started the bot get
it privately; when none did, the group gets it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from responder_helpers import (
    GROUP,
    Clock,
    drain,
    joined,
    message,
    responder,
    settings_for,
    store,
    user,
)

NOW = 1_790_000_000


def setup(tmp_path: Path, fake: Any, threshold: int = 5) -> tuple[Clock, Any]:
    settings = settings_for(tmp_path / "lake", fake, alert_joins=threshold)
    clock = Clock(NOW)
    return clock, responder(settings, clock)


def join(core: Any, clock: Clock, update_id: int, *user_ids: int) -> None:
    people = [user(uid, f"N{uid}") for uid in user_ids]
    core.handle(joined(update_id, date=int(clock.now), people=people))
    drain(core, clock)


def member_update(update_id: int, user_id: int, date: int) -> dict[str, Any]:
    """A ``chat_member`` update (sent to admin bots that ask for it): someone joined."""
    person = user(user_id, f"N{user_id}")
    return {
        "update_id": update_id,
        "chat_member": {
            "chat": {"id": GROUP, "title": "Lake Friends", "type": "supergroup"},
            "from": person,
            "date": date,
            "old_chat_member": {"status": "left", "user": person},
            "new_chat_member": {"status": "member", "user": person},
        },
    }


def test_the_join_above_the_threshold_alerts_the_admins_who_started_the_bot(
    tmp_path: Path, fake: Any
) -> None:
    fake.start_bot(1)  # Olga started the bot; Paulo did not; the helper bot is a bot
    clock, core = setup(tmp_path, fake)
    for i in range(5):
        join(core, clock, 100 + i, 500 + i)
        clock.advance(100)  # five joins within 400 s
    assert fake.sent() == []
    join(core, clock, 105, 505)
    sent = fake.sent()
    assert [m["chat_id"] for m in sent] == [1]
    assert "6 accounts joined Lake Friends in the last 10 minutes" in sent[0]["text"]
    tried = [c["params"]["chat_id"] for c in fake.calls("sendMessage")]
    assert sorted(tried) == [1, 2]  # both human admins tried, never the bot, not the group


def test_with_no_admin_reachable_the_group_is_told(tmp_path: Path, fake: Any) -> None:
    clock, core = setup(tmp_path, fake)
    join(core, clock, 100, *range(500, 506))  # six people added at once
    sent = fake.sent()
    assert [m["chat_id"] for m in sent] == [GROUP]
    assert "6 accounts joined this group" in sent[0]["text"]


def test_joins_spread_over_more_than_ten_minutes_do_not_alert(tmp_path: Path, fake: Any) -> None:
    clock, core = setup(tmp_path, fake)
    for i in range(12):
        join(core, clock, 100 + i, 500 + i)
        clock.advance(121)  # at most five in any ten minutes
    assert fake.sent() == []


def test_one_alert_per_ten_minutes_and_the_same_person_counts_once(
    tmp_path: Path, fake: Any
) -> None:
    clock, core = setup(tmp_path, fake)
    for i in range(5):
        # Each join arrives twice: as a service message and as a chat_member update.
        join(core, clock, 100 + 2 * i, 500 + i)
        core.handle(member_update(101 + 2 * i, 500 + i, int(clock.now)))
    drain(core, clock)
    assert fake.sent() == []  # five people, not ten
    join(core, clock, 200, 600, 601, 602)
    clock.advance(60)
    join(core, clock, 201, 603, 604)
    assert len(fake.sent()) == 1  # the second burst within ten minutes: no second alert
    clock.advance(600)
    join(core, clock, 202, *range(700, 706))
    assert len(fake.sent()) == 2


def test_admins_set_the_threshold_per_chat(tmp_path: Path, fake: Any) -> None:
    clock, core = setup(tmp_path, fake, threshold=20)
    for update_id, sender, text in [(1, user(10, "Ana"), "/alerts 2"), (2, user(2, "Paulo"),
                                    "/alerts 2")]:  # fmt: skip
        command = message(update_id, date=int(clock.now), sender=sender, text=text)
        store(core.settings, [command])
        core.handle(command)
        drain(core, clock)
    assert core.records.get(GROUP).alert_joins == 2
    join(core, clock, 100, 500, 501, 502)
    assert fake.sent()[-1]["text"].startswith("⚠️ 3 accounts joined this group")
    command = message(3, date=int(clock.now), sender=user(1, "Olga"), text="/alerts off")
    core.handle(command)
    drain(core, clock)
    clock.advance(700)
    before = len(fake.sent())
    join(core, clock, 101, *range(800, 830))
    assert len(fake.sent()) == before


def test_people_s_tags_leave_the_records_within_minutes_even_in_a_quiet_chat(
    tmp_path: Path, fake: Any
) -> None:
    from telelake.responder.records import tag

    clock, core = setup(tmp_path, fake)
    join(core, clock, 100, 500)
    core.save()
    marks = tag(core.secret, 500).encode()
    files = list((tmp_path / "lake" / "raw" / "_telelake" / "responder").rglob("*.json"))
    assert any(marks in f.read_bytes() for f in files)
    clock.advance(601)
    core.tick()  # nothing else happens in the chat
    core.save()
    assert not any(marks in f.read_bytes() for f in files)

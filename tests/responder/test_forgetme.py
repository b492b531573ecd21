"""``/forgetme``: a person erases themselves from both layers through the bot.

End to end: their messages over several days (built and not yet built),
others' replies to and forwards of them, their private chat with the bot;
after ``/forgetme`` and the code, nothing of them is left in either layer,
in the lake's raw objects and segments, in any table, or in the responder's
records, and the erasure is recorded as ``telelake forget`` records it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from responder_helpers import (
    GROUP,
    Clock,
    build,
    drain,
    message,
    private,
    responder,
    settings_for,
    store,
    user,
)

from telelake.lake.compaction import compact_lake
from telelake.lake.forget import audit_matches
from telelake.lake.storage import LocalStore
from telelake.responder.records import tag

NOW = 1_790_000_000
ZOE = user(424242, "Zoé", "Quintanilha")
OTHERS = [user(10, "Ana"), user(11, "Bruno")]


def history() -> list[dict[str, Any]]:
    updates = []
    for day in range(6):
        for i in range(4):
            update_id = 1000 + day * 10 + i
            sender = ZOE if i % 2 == 0 else OTHERS[i // 2 % 2]
            date = NOW - (5 - day) * 86_400 - 3600 + i * 60
            updates.append(message(update_id, date=date, sender=sender, text=f"day {day} #{i}"))
    # Ana replies to one of Zoé's messages (the reply embeds it) and forwards another.
    reply = message(2000, date=NOW - 1800, sender=OTHERS[0], text="agreed")
    reply["message"]["reply_to_message"] = updates[0]["message"]
    forward = message(2001, date=NOW - 1700, sender=OTHERS[1], text="day 0 #2")
    forward["message"]["forward_origin"] = {"type": "user", "sender_user": ZOE, "date": NOW - 9}
    updates += [reply, forward, private(2002, date=NOW - 600, sender=ZOE, text="/start")]
    return updates


def ask(core: Any, fake: Any, clock: Clock, update_id: int, text: str) -> str:
    """Zoé writes to the bot privately; the bot's last answer to her."""
    command = private(update_id, date=int(clock.now), sender=ZOE, text=text)
    store(core.settings, [command])
    core.handle(command)
    drain(core, clock)
    return str(fake.sent(ZOE["id"])[-1]["text"])


@pytest.fixture
def lake(tmp_path: Path, fake: Any) -> Any:
    fake.start_bot(ZOE["id"])
    settings = settings_for(tmp_path / "lake", fake, forgetme=True)
    updates = history()
    store(settings, updates[:20])
    build(settings)
    # Older days packed into segments, as `run`'s daily ETL does.
    compact_lake(LocalStore(tmp_path / "lake" / "raw"), settings.zone, 2)
    store(settings, updates[20:])
    return settings


def traces(root: Path, needles: list[bytes]) -> list[str]:
    """Files of a layer holding any needle: raw bytes (gzip'd segments decoded), Parquet
    values (every column, as text)."""
    import gzip

    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        if path.suffix == ".parquet":
            data = orjson.dumps(pq.read_table(path).to_pylist(), default=str)
        if any(re.search(rb"(?<![0-9])" + re.escape(n) + rb"(?![0-9])", data) for n in needles):
            found.append(str(path.relative_to(root)))
    return found


def test_forgetme_erases_the_person_from_both_layers(lake: Any, fake: Any, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    # Her id, her names, and her first name as JSON may escape it.
    needles = [str(ZOE["id"]).encode(), "Zoé".encode(), b"Quintanilha", b"Zo\\u00e9"]
    assert traces(root / "raw", needles) and traces(root / "enriched", needles)
    assert list((root / "raw").rglob("segment-*"))  # some of it packed into segments
    clock = Clock(NOW)
    core = responder(lake, clock)
    # /me first, so the responder's own records hold a trace of them (a tag).
    command = message(3000, date=NOW, sender=ZOE, text="/me")
    store(lake, [command])
    core.handle(command)
    drain(core, clock)
    person = tag(core.secret, ZOE["id"]).encode()
    assert traces(root / "raw", [person])

    explained = ask(core, fake, clock, 3001, "/forgetme")
    code = explained.rsplit(" ", 1)[-1]
    assert "cannot be undone" in explained and re.fullmatch(r"[0-9A-F]{8}", code)
    clock.advance(30)
    done = ask(core, fake, clock, 3002, f"/forgetme {code}")
    assert done.startswith("Done: ")
    sent = [m["text"] for m in fake.sent(ZOE["id"])]
    assert sent[-2].startswith("Erasing everything I hold about you")

    assert traces(root / "raw", [*needles, person]) == []
    assert traces(root / "enriched", needles) == []
    erasures = list((root / "raw" / "_telelake" / "erasures").glob("*.json"))
    assert len(erasures) == 1
    record = orjson.loads(erasures[0].read_bytes())
    assert audit_matches(record, ZOE["id"]) and sum(record["raw_objects_deleted"].values()) > 12
    # Others' messages are still there: Ana and Bruno kept every one of theirs.
    table = pq.read_table(root / "enriched" / "telegram").to_pylist()
    assert {r["user_id"] for r in table} == {10, 11}


def test_a_wrong_or_old_code_erases_nothing(lake: Any, fake: Any, tmp_path: Path) -> None:
    clock = Clock(NOW)
    core = responder(lake, clock)
    code = ask(core, fake, clock, 3001, "/forgetme").rsplit(" ", 1)[-1]
    clock.advance(61)
    assert "wrong or has expired" in ask(core, fake, clock, 3002, "/forgetme 0000ABCD")
    clock.advance(25 * 60)  # the code was valid for 10 to 20 minutes
    assert "wrong or has expired" in ask(core, fake, clock, 3003, f"/forgetme {code}")
    assert not (tmp_path / "lake" / "raw" / "_telelake" / "erasures").exists()


def test_only_where_the_operator_allows_it_and_only_privately(tmp_path: Path, fake: Any) -> None:
    fake.start_bot(ZOE["id"])
    settings = settings_for(tmp_path / "lake", fake)  # forgetme off (the default)
    clock = Clock(NOW)
    core = responder(settings, clock)
    answer = ask(core, fake, clock, 1, "/forgetme")
    assert "has not enabled /forgetme" in answer and "telelake forget --user-id 424242" in answer
    command = message(2, date=NOW, sender=ZOE, text="/forgetme")
    core.handle(command)
    drain(core, clock)
    assert "private chat" in fake.sent(GROUP)[-1]["text"]

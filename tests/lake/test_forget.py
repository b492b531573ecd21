"""``telelake forget``: one person out of both layers, everyone else exactly as before.

The lake is built from hand-written updates where the person appears in
every way the Bot API lets them (sender, edit, reply target, forward origin,
text_mention, joins and leaves, membership changes both ways, reactions,
callbacks, poll answers, a private chat) plus an imported export that names
them without an id. The checks read the stores through the Store protocol
only, so the same scenario runs on a folder and on an in-memory store.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from memory_store import MemoryStore

from telelake.config import load_settings
from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.ingest.importer import ImportSummary, import_export
from telelake.lake.forget import ERASURES_PREFIX, audit_matches, erasure_records
from telelake.lake.layout import raw_key
from telelake.lake.storage import LocalStore, Store
from telelake.privacy import forget_user

GONE = 777000123
NAMES = ("Zebulon", "Quixtar", "zeb_qx")
ANA = {"id": 1001, "is_bot": False, "first_name": "Ana"}
BRUNO = {"id": 1002, "is_bot": False, "first_name": "Bruno"}
CARLA = {"id": 1003, "is_bot": False, "first_name": "Carla"}
ZEB = {"id": GONE, "is_bot": False, "first_name": "Zebulon", "last_name": "Quixtar",
       "username": "zeb_qx"}  # fmt: skip
BOT = {"id": 7000000001, "is_bot": True, "first_name": "LakeBot"}
CHAT = {"id": -1001234500000, "type": "supergroup", "title": "Test Group"}
PRIVATE = {"id": GONE, "type": "private", "first_name": "Zebulon"}
DAY1 = int(datetime(2026, 11, 10, 12, tzinfo=UTC).timestamp())
DAY2 = int(datetime(2026, 11, 11, 12, tzinfo=UTC).timestamp())
ZONE = load_settings({}, env={}).zone


def message(
    message_id: int, sender: dict[str, Any], date: int = DAY1, **fields: Any
) -> dict[str, Any]:
    return {"message_id": message_id, "from": sender, "chat": CHAT, "date": date, **fields}


def updates() -> list[dict[str, Any]]:
    """Every way the person appears, each next to other people's data."""
    their_message = message(2, ZEB, text="Zebulon here, secret plan")
    return [
        {"update_id": 1, "message": message(1, ANA, text="hello all")},
        {"update_id": 2, "message": their_message},
        {"update_id": 3, "edited_message": {**their_message, "edit_date": DAY1 + 60,
                                            "text": "Zebulon here, edited plan"}},
        {"update_id": 4, "message": message(3, BRUNO, text="agreed", reply_to_message=their_message,
                                            quote={"text": "secret plan", "position": 14})},
        {"update_id": 5, "message": message(4, CARLA, text="fwd text", forward_date=DAY1 - 99,
                                            forward_from=ZEB, forward_origin={
                                                "type": "user", "sender_user": ZEB,
                                                "date": DAY1 - 99})},
        {"update_id": 6, "message": message(5, ANA, text="thanks buddy", entities=[
            {"type": "text_mention", "offset": 7, "length": 5, "user": ZEB}])},
        {"update_id": 7, "message": message(6, ANA, new_chat_members=[ZEB, BRUNO],
                                            new_chat_member=ZEB, new_chat_participant=ZEB)},
        {"update_id": 8, "message": message(7, ZEB, new_chat_members=[ZEB])},
        {"update_id": 9, "message": message(8, ZEB, left_chat_member=ZEB)},
        {"update_id": 10, "message": message(9, ANA, pinned_message=their_message)},
        {"update_id": 11, "chat_member": {
            "chat": CHAT, "from": ANA, "date": DAY1,
            "old_chat_member": {"user": ZEB, "status": "member"},
            "new_chat_member": {"user": ZEB, "status": "kicked", "until_date": 0}}},
        {"update_id": 12, "chat_member": {
            "chat": CHAT, "from": ZEB, "date": DAY1,
            "old_chat_member": {"user": CARLA, "status": "member"},
            "new_chat_member": {"user": CARLA, "status": "administrator"}}},
        {"update_id": 13, "message_reaction": {
            "chat": CHAT, "message_id": 1, "user": ZEB, "date": DAY1, "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}]}},
        {"update_id": 14, "message_reaction": {
            "chat": CHAT, "message_id": 2, "user": BRUNO, "date": DAY1, "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "🔥"}]}},
        {"update_id": 15, "callback_query": {"id": "cb1", "from": ZEB, "chat_instance": "x",
                                             "data": "vote:1"}},
        {"update_id": 16, "poll_answer": {"poll_id": "p1", "user": ZEB, "option_ids": [0]}},
        {"update_id": 17, "message": {"message_id": 1, "from": BOT, "date": DAY1,
                                      "text": "hi Zebulon", "chat": PRIVATE}},
        {"update_id": 18, "message": message(10, BRUNO, DAY2, text="day two")},
        {"update_id": 19, "message": message(11, ZEB, DAY2, text="me again")},
    ]  # fmt: skip


EXPORT = {
    "name": "Test Group", "type": "private_supergroup", "id": 1234500000,
    "messages": [
        {"id": 100, "type": "message", "date_unixtime": str(DAY1 - 86400), "from": "Ana Souza",
         "from_id": "user1001", "forwarded_from": "Zebulon Quixtar", "text": "old forward"},
        {"id": 101, "type": "service", "date_unixtime": str(DAY1 - 86400), "actor": "Ana Souza",
         "actor_id": "user1001", "action": "invite_members",
         "members": ["Zebulon Quixtar", "Dora Dias"], "text": ""},
        {"id": 102, "type": "message", "date_unixtime": str(DAY1 - 86400), "from": "Dora Dias",
         "from_id": "user1004", "text": "hi from the past"},
        {"id": 103, "type": "message", "date_unixtime": str(DAY1 - 86400),
         "from": "Zebulon Quixtar", "from_id": f"user{GONE}", "text": "old words"},
    ],
}  # fmt: skip


def import_export_file(raw: Store, tmp_path: Path) -> ImportSummary:
    export = tmp_path / "result.json"
    export.write_text(json.dumps(EXPORT), encoding="utf-8")
    settings = load_settings({"lake": str(tmp_path / "unused")}, env={})
    return import_export(export, settings, raw)


def build(raw: Store, enriched: Store, tmp_path: Path) -> None:
    for data in updates():
        payload = next(v for k, v in data.items() if k != "update_id")
        day = datetime.fromtimestamp(payload.get("date") or DAY1, tz=UTC).date()
        assert raw.create(raw_key(data["update_id"], day), orjson.dumps(data))
    import_export_file(raw, tmp_path)
    # A corrupt object (set aside by the ETL) that still holds their bytes.
    raw.create("telegram/context_date=2026-11-11/99.json", b'{"update_id": 99, "message": {"from'
               + f'": {{"id": {GONE}, "first_name": "Zebulon"'.encode())  # fmt: skip
    run(Layers(raw, enriched, ZONE), Selection(everything=True), workers=1)


def tables(enriched: Store) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for key in enriched.list(""):
        if key.endswith(".parquet"):
            rows = pq.read_table(io.BytesIO(enriched.read(key))).to_pylist()
            out.setdefault(key.split("/", 1)[0], []).extend(rows)
    return out


def others(built: dict[str, list[dict[str, Any]]]) -> dict[str, set[tuple[Any, ...]]]:
    """What everyone but the person has, in the columns that are theirs."""
    return {
        "messages": {(r["message_id"], r["user_id"], r["text"], r["reply_to_message_id"], r["date"])
                     for r in built["telegram"] if r["user_id"] != GONE and r["chat_id"] != GONE},
        "service": {(r["message_id"], r["user_id"], r["event"], r["member_user_id"])
                    for r in built["telegram_service"]
                    if GONE not in (r["user_id"], r["member_user_id"])
                    and r["member_first_name"] != "Zebulon Quixtar"},  # theirs, by name
        "members": {(r["update_id"], r["user_id"], r["old_status"], r["new_status"])
                    for r in built["telegram_members"] if r["user_id"] != GONE},
        "reactions": {(r["update_id"], r["user_id"], r["message_id"], tuple(r["new_reactions"]))
                      for r in built["telegram_reactions"] if r["user_id"] != GONE},
    }  # fmt: skip


def traces(store: Store) -> list[str]:
    """Keys of objects whose bytes (or, for Parquet, values) mention the person."""
    needles = [str(GONE).encode()] + [n.encode() for n in NAMES]
    found = []
    for key in store.list(""):
        body = store.read(key)
        text = body
        if key.endswith(".parquet"):
            text = repr(pq.read_table(io.BytesIO(body)).to_pylist()).encode()
        if any(n in body or n in text for n in needles):
            found.append(key)
    return found


@pytest.fixture(params=["folder", "memory"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Store, Store]:
    if request.param == "memory":
        return MemoryStore(), MemoryStore()
    return LocalStore(tmp_path / "raw"), LocalStore(tmp_path / "enriched")


def test_forget_leaves_no_trace_and_everyone_else_as_they_were(
    stores: tuple[Store, Store], tmp_path: Path
) -> None:
    raw, enriched = stores
    build(raw, enriched, tmp_path)
    before = tables(enriched)
    assert traces(raw) and traces(enriched)  # the scenario does hold them
    assert {r["user_id"] for r in before["telegram"]} >= {GONE, 1001, 1002, 1003, 1004}

    erasure = forget_user(Layers(raw, enriched, ZONE), GONE, clock=lambda: 1_800_000_000)

    assert traces(raw) == [] and traces(enriched) == []
    after = tables(enriched)
    assert others(after) == others(before)
    # Deleted: their messages, edit, join, leave, membership change, reaction,
    # callback, poll answer, private chat; rewritten: the reply, forward,
    # text_mention, group join with Bruno, pin, their admin action, and two
    # imported objects naming them without an id.
    day1, day2, day0 = date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 9)
    assert dict(erasure.deleted) == {day0: 1, day1: 9, day2: 2}
    assert dict(erasure.rewritten) == {day1: 6, day0: 2}
    assert erasure.names == 4  # Zebulon, Quixtar, "Zebulon Quixtar", zeb_qx
    assert erasure.rebuilt is not None and len(erasure.rebuilt.partitions) == 3
    reply = next(r for r in after["telegram"] if r["message_id"] == 3)
    assert reply["reply_to_message_id"] == 2  # the link survives, their text does not
    forward = next(r for r in after["telegram"] if r["message_id"] == 4)
    assert (forward["forward_origin_type"], forward["forward_from_user_id"]) == (
        "hidden_user",
        None,
    )
    admin_change = next(r for r in after["telegram_members"] if r["update_id"] == 12)
    assert admin_change["actor_user_id"] is None and admin_change["user_id"] == 1003

    (key,) = raw.list(ERASURES_PREFIX)
    (record,) = erasure_records(raw)
    assert key == erasure.audit_key and record["erased_at"] == "2027-01-15T08:00:00+00:00"
    assert record["raw_objects_deleted"] == {"2026-11-09": 1, "2026-11-10": 9, "2026-11-11": 2}
    assert record["partitions_rebuilt"] == ["2026-11-09", "2026-11-10", "2026-11-11"]
    assert audit_matches(record, GONE) and not audit_matches(record, 1001)


def test_dry_run_counts_and_changes_nothing(tmp_path: Path) -> None:
    raw, enriched = MemoryStore(), MemoryStore()
    build(raw, enriched, tmp_path)
    snapshot = (dict(raw.objects), dict(enriched.objects))
    counted = forget_user(Layers(raw, enriched, ZONE), GONE, dry_run=True)
    assert (raw.objects, enriched.objects) == snapshot
    done = forget_user(Layers(raw, enriched, ZONE), GONE)
    assert (counted.deleted, counted.rewritten) == (done.deleted, done.rewritten)
    again = forget_user(Layers(raw, enriched, ZONE), GONE)
    assert again.dates == [] and again.audit_key is None


def test_importing_the_export_again_keeps_them_erased(tmp_path: Path) -> None:
    raw, enriched = MemoryStore(), MemoryStore()
    build(raw, enriched, tmp_path)
    forget_user(Layers(raw, enriched, ZONE), GONE)
    snapshot = dict(raw.objects)
    again = import_export_file(raw, tmp_path)
    # Their message is not imported; the two that mention them arrive scrubbed,
    # byte for byte as forget left them; Dora's is already there.
    assert (again.erased, again.stored, again.updated, again.already) == (1, 0, 0, 3)
    assert raw.objects == snapshot and traces(raw) == []


def test_forgetting_someone_absent_changes_nothing(tmp_path: Path) -> None:
    raw, enriched = MemoryStore(), MemoryStore()
    build(raw, enriched, tmp_path)
    snapshot = (dict(raw.objects), dict(enriched.objects))
    erasure = forget_user(Layers(raw, enriched, ZONE), 424242)
    assert erasure.dates == [] and (raw.objects, enriched.objects) == snapshot


def test_cli_forget_prints_counts_and_needs_confirmation(tmp_path: Path) -> None:
    raw, enriched = (
        LocalStore(tmp_path / "lake" / "raw"),
        LocalStore(tmp_path / "lake" / "enriched"),
    )
    build(raw, enriched, tmp_path)
    command = [sys.executable, "-m", "telelake", "forget", "--user-id", str(GONE),
               "--lake", str(tmp_path / "lake")]  # fmt: skip
    refused = subprocess.run(
        command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert traces(raw)
    done = subprocess.run([*command, "--yes"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "objects deleted: 12; rewritten: 8" in done.stderr
    assert "enriched partitions rebuilt: 3" in done.stderr
    assert str(GONE) not in done.stderr + done.stdout
    assert traces(raw) == [] and traces(enriched) == []


def test_names_are_found_however_the_json_escapes_them(tmp_path: Path) -> None:
    # Telegram escapes non-ASCII as \uXXXX; orjson (our importer) writes UTF-8.
    raw, enriched = MemoryStore(), MemoryStore()
    zoe = {"id": GONE, "is_bot": False, "first_name": "Zoë", "last_name": "Ана"}
    own = {"update_id": 1, "message": message(1, zoe, text="hi")}
    hidden = {"type": "hidden_user", "sender_user_name": "Zoë Ана", "date": DAY1}
    forward = {"update_id": 2, "message": message(2, ANA, text="fwd", forward_origin=hidden)}
    raw.create(raw_key(1, date(2026, 11, 10)), orjson.dumps(own))
    raw.create(raw_key(2, date(2026, 11, 10)), json.dumps(forward).encode())  # \u escapes
    assert b"\\u00eb" in raw.read(raw_key(2, date(2026, 11, 10)))
    erasure = forget_user(Layers(raw, enriched, ZONE), GONE)
    assert (sum(erasure.deleted.values()), sum(erasure.rewritten.values())) == (1, 1)
    origin = orjson.loads(raw.read(raw_key(2, date(2026, 11, 10))))["message"]["forward_origin"]
    assert origin["sender_user_name"] == "Deleted Account"

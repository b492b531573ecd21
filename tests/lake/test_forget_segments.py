"""``forget`` across segments and objects: the same erasure as on a lake never compacted.

Two lakes get the same updates; one is compacted (and then receives a few
objects more, one of them a copy of a packed update, as after a compaction
that died before its deletes). After ``forget`` both must hold exactly the
same updates and the same enriched files, and nothing of the person may be
left in any byte of the raw layer, segments decompressed.
"""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.lake.compaction import compact_day
from telelake.lake.segments import read_partition
from telelake.lake.storage import LocalStore
from telelake.privacy import forget_user

ZONE = ZoneInfo("UTC")
DAY = date(2026, 1, 20)
WHEN = int(datetime(2026, 1, 20, 9, tzinfo=UTC).timestamp())
GONE = 660055001
ZEB = {"id": GONE, "is_bot": False, "first_name": "Zebediah", "username": "zeb_gone"}
ANA = {"id": 1001, "is_bot": False, "first_name": "Ana"}
CHAT = {"id": -1005550001, "type": "supergroup", "title": "G"}


def msg(message_id: int, sender: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"message_id": message_id, "from": sender, "chat": CHAT, "date": WHEN, **fields}


def updates() -> list[dict[str, Any]]:
    theirs = msg(2, ZEB, text="Zebediah's plan")
    return [
        {"update_id": 1, "message": msg(1, ANA, text="hello")},
        {"update_id": 2, "message": theirs},
        {"update_id": 3, "message": msg(3, ANA, text="ok", reply_to_message=theirs)},
        {"update_id": 4, "message_reaction": {"chat": CHAT, "message_id": 1, "user": ZEB,
                                              "date": WHEN, "old_reaction": [],
                                              "new_reaction": [{"type": "emoji", "emoji": "👍"}]}},
        {"update_id": 5, "message": msg(5, ANA, text="fwd", forward_origin={
            "type": "user", "sender_user": ZEB, "date": WHEN - 9})},
        {"update_id": 6, "message": msg(6, ANA, text="bye")},
    ]  # fmt: skip


def webhook(data: dict[str, Any]) -> bytes:
    rest = orjson.dumps({k: v for k, v in data.items() if k != "update_id"})
    return b'{"update_id":%d,\n' % data["update_id"] + rest[1:]


def key(update_id: int) -> str:
    return f"telegram/context_date={DAY.isoformat()}/{update_id}.json"


def lake(root: Path) -> Layers:
    return Layers(LocalStore(root / "raw"), LocalStore(root / "enriched"), ZONE)


def fill(layers: Layers, compacted: bool) -> None:
    bodies = {u["update_id"]: webhook(u) for u in updates()}
    late = {7: webhook({"update_id": 7, "message": msg(7, ZEB, text="late, mine")})}
    for update_id, body in bodies.items():
        layers.raw.create(key(update_id), body)
    if compacted:
        compact_day(layers.raw, DAY)
        # A copy of a packed update of theirs and one of someone else, as a
        # compaction killed before its deletes leaves them.
        layers.raw.create(key(2), bodies[2])
        layers.raw.create(key(3), bodies[3])
    for update_id, body in late.items():
        layers.raw.create(key(update_id), body)
    run(layers, Selection(everything=True), workers=1)


def raw_bytes(root: Path) -> bytes:
    out = b""
    for path in sorted((root / "raw" / "telegram").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out += gzip.decompress(data) if path.name.endswith(".gz") else data
    return out


def enriched_files(root: Path) -> dict[str, bytes]:
    base = root / "enriched"
    return {
        str(p.relative_to(base)): p.read_bytes()
        for p in sorted(base.rglob("*.parquet"))
        if "_telelake" not in p.parts
    }


def test_forget_erases_from_segments_as_from_objects(tmp_path: Path) -> None:
    plain, packed = lake(tmp_path / "plain"), lake(tmp_path / "packed")
    fill(plain, compacted=False)
    fill(packed, compacted=True)
    names = sorted(p.name for p in (tmp_path / "packed/raw/telegram").rglob("*") if p.is_file())
    assert [n for n in names if n.startswith("segment-")] and "2.json" in names
    assert str(GONE).encode() in raw_bytes(tmp_path / "packed")

    erased = {}
    for name, layers in (("plain", plain), ("packed", packed)):
        erased[name] = forget_user(layers, GONE, clock=lambda: 1_800_000_000)

    # Counted once per update, whatever forms it had: deleted 2, 4, 7; rewritten 3, 5.
    for erasure in erased.values():
        assert (erasure.deleted[DAY], erasure.rewritten[DAY]) == (3, 2)
    for root in (tmp_path / "plain", tmp_path / "packed"):
        held = raw_bytes(root)
        assert (
            str(GONE).encode() not in held and b"Zebediah" not in held and b"zeb_gone" not in held
        )
    assert read_partition(packed.raw, DAY) == read_partition(plain.raw, DAY)
    assert enriched_files(tmp_path / "packed") == enriched_files(tmp_path / "plain")
    # Still one segment, the copies erased with it; the others' bytes untouched.
    left = sorted(p.name for p in (tmp_path / "packed/raw/telegram").rglob("*") if p.is_file())
    assert len([n for n in left if n.startswith("segment-")]) == 1
    assert (key(1), webhook(updates()[0])) in read_partition(packed.raw, DAY)


def test_a_dry_run_over_segments_changes_nothing(tmp_path: Path) -> None:
    packed = lake(tmp_path)
    fill(packed, compacted=True)
    before = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    erasure = forget_user(packed, GONE, dry_run=True)
    assert (erasure.deleted[DAY], erasure.rewritten[DAY]) == (3, 2)
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == before

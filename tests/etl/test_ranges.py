"""DESIGN §3.11: values no column can hold become rejects, never a broken table or run.

Each case is one update carrying an integer beyond signed 64 bits, or a time
outside what every engine reads (1970-01-01 .. 9999-12-30 23:59:59 UTC,
etl/timestamps.py), in a different field. Expected: that update is a row of
``telegram_rejects`` naming the field, the other updates of the date build,
and every table reads back whole through pyarrow (``to_pylist``: Python's
``datetime``, years 1..9999) and DuckDB (``SELECT *``). The chunked build
(etl/chunked.py) gives the same bytes, and a whole run goes on to the later
dates (§3.7).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import orjson
import pytest

from telelake.config import load_settings
from telelake.etl import chunked
from telelake.etl.chunked import build_part, merge, split
from telelake.etl.layers import Layers
from telelake.etl.partition import parquet_bytes
from telelake.etl.runner import run
from telelake.etl.transform import collect, to_arrow, transform
from telelake.lake import tables as contract
from telelake.lake.layout import raw_key
from telelake.lake.storage import LocalStore

DAY = date(2025, 11, 24)
NOON = int(datetime(2025, 11, 24, 12, tzinfo=UTC).timestamp())
TOO_BIG = 2**63  # one more than the largest signed 64-bit integer
# 9999-12-31 00:00 UTC: already 10000-01-01 in Kiribati (+14 h), so out of range.
LAST_DAY_OF_9999 = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp())
ZONES = [ZoneInfo("UTC"), ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")]


def _chat(chat_id: int = -1001) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": "G"}


def _person(user_id: int = 42) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ana"}


def _message(**fields: Any) -> dict[str, Any]:
    payload = {"message_id": 5, "from": _person(), "chat": _chat(), "date": NOON, "text": "x"}
    payload.update(fields)
    return payload


def _reaction(**fields: Any) -> dict[str, Any]:
    payload = {"chat": _chat(), "message_id": 5, "user": _person(), "date": NOON,
               "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}  # fmt: skip
    payload.update(fields)
    return payload


def _member(**fields: Any) -> dict[str, Any]:
    payload = {"chat": _chat(), "from": _person(), "date": NOON,
               "old_chat_member": {"status": "left", "user": _person(7)},
               "new_chat_member": {"status": "member", "user": _person(7)}}  # fmt: skip
    payload.update(fields)
    return payload


# (name, kind, payload, a word the reject's reason must hold)
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("chat id", "message", _message(chat=_chat(TOO_BIG)), "chat.id"),
    ("sender id", "message", _message(**{"from": _person(TOO_BIG)}), "from.id"),
    ("message id", "message", _message(message_id=TOO_BIG), "message_id"),
    ("sender id beyond 2^64", "message", _message(**{"from": _person(10**30)}), "from.id"),
    ("chat id below -2^63", "message", _message(chat=_chat(-(2**63) - 1)), "chat.id"),
    ("reply id", "message", _message(reply_to_message={"message_id": 2**64 - 1}), "reply"),
    ("member id", "chat_member", _member(new_chat_member={"status": "member",
                                                          "user": _person(TOO_BIG)}), "user.id"),
    ("reaction count", "message_reaction_count",
     {"chat": _chat(), "message_id": 5, "date": NOON,
      "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": TOO_BIG}]},
     "total_count"),
    ("reaction date 10^15", "message_reaction", _reaction(date=10**15), "date"),
    ("edit date 2^63-1", "edited_message", _message(edit_date=2**63 - 1), "edit_date"),
    ("edit date negative", "edited_message", _message(edit_date=-1), "edit_date"),
    ("send date in year 10000 locally", "message", _message(date=LAST_DAY_OF_9999), "date"),
    ("forward date", "message", _message(forward_origin={"type": "hidden_user",
                                                         "date": 10**13}), "forward date"),
    ("member date", "chat_member", _member(date=-5), "date"),
    ("join request date", "chat_join_request",
     {"chat": _chat(), "from": _person(), "date": 10**16}, "date"),
]  # fmt: skip


def _object(update_id: int, kind: str, payload: Any) -> tuple[str, bytes]:
    # json writes integers of any size exactly (orjson stops at 64 bits).
    return raw_key(update_id, DAY), json.dumps({"update_id": update_id, kind: payload}).encode()


def _good(count: int = 3) -> list[tuple[str, bytes]]:
    return [
        _object(100 + i, "message", _message(message_id=100 + i, text=f"fine {i}"))
        for i in range(count)
    ]


def _read_back_everywhere(tables: dict[str, Any], tmp_path: Path) -> None:
    """Every table through Parquet, pyarrow's Python values and DuckDB's ``SELECT *``."""
    connection = duckdb.connect()
    for name, table in tables.items():
        table.to_pylist()
        path = tmp_path / f"{name}.parquet"
        path.write_bytes(parquet_bytes(table))
        connection.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()


@pytest.mark.parametrize(("name", "kind", "payload", "field"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("zone", ZONES, ids=lambda z: z.key)
def test_an_unholdable_value_is_a_reject_and_the_rest_builds(
    name: str, kind: str, payload: Any, field: str, zone: ZoneInfo, tmp_path: Path
) -> None:
    bad = _object(1, kind, payload)
    tables = transform([bad, *_good()], zone)
    rejects = tables[contract.REJECTS].to_pylist()
    assert [r["raw_key"] for r in rejects] == [bad[0]], name
    assert field in rejects[0]["reason"], rejects[0]["reason"]
    assert tables[contract.MESSAGES].column("text").to_pylist() == ["fine 0", "fine 1", "fine 2"]
    assert tables[contract.UPDATES].column("update_id").to_pylist() == [100, 101, 102]
    _read_back_everywhere(tables, tmp_path)


def test_an_update_id_beyond_64_bits_is_a_reject() -> None:
    bad = _object(TOO_BIG, "message", _message())
    tables = transform([bad, *_good()], ZONES[0])
    [reject] = tables[contract.REJECTS].to_pylist()
    assert "update_id" in reject["reason"]
    assert tables[contract.MESSAGES].num_rows == 3


def test_the_edges_of_the_range_are_kept() -> None:
    # 0 is 1970-01-01 00:00 UTC; 253402214399 is 9999-12-30 23:59:59 UTC, whose
    # local time in Kiribati (+14 h) is 9999-12-31 13:59:59, still a year-9999 time.
    first = _object(1, "message", _message(message_id=1, date=0))
    last = _object(2, "message", _message(message_id=2, date=253_402_214_399,
                                          edit_date=253_402_214_399))  # fmt: skip
    largest = _object(3, "message", _message(message_id=2**63 - 1, chat=_chat(-(2**63))))
    table = transform([first, last, largest], ZoneInfo("Pacific/Kiritimati"))[contract.MESSAGES]
    rows = table.to_pylist()
    assert sorted(r["message_id"] for r in rows) == [1, 2, 2**63 - 1]
    by_id = {r["message_id"]: r for r in rows}
    assert by_id[1]["sent_at"] == datetime(1970, 1, 1)
    assert by_id[2]["edited_at"] == datetime(9999, 12, 30, 23, 59, 59)
    assert by_id[2]["sent_at_local"] == datetime(9999, 12, 31, 13, 59, 59)
    assert by_id[2**63 - 1]["chat_id"] == -(2**63)


def test_chunks_give_the_bytes_of_one_process_with_unholdable_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chunked, "MIN_CHUNK", 1)
    objects = _good(40)
    objects += [_object(1_000 + i, kind, payload) for i, (_, kind, payload, _) in enumerate(CASES)]
    zone = ZONES[1]
    expected = {n: parquet_bytes(t) for n, t in to_arrow(collect(objects), zone).items()}
    for count in (2, 5, 17):
        parts = [build_part(None, chunk) for chunk in split(objects, DAY, count)]
        built = merge(parts, zone)
        assert built is not None
        assert {n: parquet_bytes(t) for n, t in built.tables.items()} == expected
        assert len(built.rejects) == len(CASES)


def test_a_run_builds_the_date_and_every_later_one(tmp_path: Path) -> None:
    settings = load_settings({"lake": str(tmp_path / "lake")}, env={})
    raw = LocalStore(tmp_path / "lake" / "raw")
    days = [date(2025, 11, 24), date(2025, 11, 25), date(2025, 11, 26)]
    for n, day in enumerate(days):
        when = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
        message = _message(message_id=n, date=when, chat=_chat(TOO_BIG if n == 0 else -1001))
        raw.create(raw_key(10 + n, day), orjson.dumps({"update_id": 10 + n, "message": message}))
        good = _message(message_id=50 + n, date=when)
        raw.create(raw_key(50 + n, day), orjson.dumps({"update_id": 50 + n, "message": good}))
    summary = run(Layers.open(settings), workers=1)
    assert [p.day for p in summary.partitions] == days
    assert summary.rejected == 1
    assert summary.total(contract.MESSAGES) == 5

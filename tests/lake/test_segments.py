"""The segment format: every update's exact bytes and key through a segment, read by any engine.

Expected keys are spelled out here from the layout contract (DESIGN §4:
``<update_id>.json``, a reused id with other bytes ``<update_id>.<first 16
hex of SHA-256>.json``), with hashlib, never taken from the code under test.
Engines (DuckDB, Python's gzip) read the segment files themselves.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memory_store import MemoryStore
from strategies import json_values

from telelake.errors import StorageError
from telelake.lake.segments import decode, encode, pack, read_day, read_partition

DAY = date(2026, 3, 14)
FOLDER = f"telegram/context_date={DAY.isoformat()}"


def key(update_id: int, body: bytes | None = None) -> str:
    if body is None:
        return f"{FOLDER}/{update_id}.json"
    return f"{FOLDER}/{update_id}.{hashlib.sha256(body).hexdigest()[:16]}.json"


def webhook_form(line: bytes) -> bytes:
    """The body as Telegram's Bot API server POSTs it: ``{"update_id":N,\\n"kind":...}``
    (telegram-bot-api, WebhookActor.h ``JsonUpdate::store`` writes that raw line
    break). Corpus lines that start with the update id get it after the id."""
    data = orjson.loads(line)
    rest = orjson.dumps({k: v for k, v in data.items() if k != "update_id"})
    return b'{"update_id":%d,\n' % data["update_id"] + rest[1:]


def corpus_lines(corpus_dir: Path) -> list[bytes]:
    lines: list[bytes] = []
    for path in sorted((corpus_dir / "updates").glob("*.jsonl")):
        lines += [line for line in path.read_bytes().splitlines() if line.strip()]
    return lines


def as_objects(bodies: list[bytes]) -> list[tuple[str, bytes]]:
    """Keys as ingest gives them: the first body of an id by its id, others by content."""
    pairs: list[tuple[str, bytes]] = []
    seen: dict[int, bytes] = {}
    for body in bodies:
        update_id = orjson.loads(body)["update_id"]
        if update_id not in seen:
            seen[update_id] = body
            pairs.append((key(update_id), body))
        elif seen[update_id] != body and (key(update_id, body), body) not in pairs:
            pairs.append((key(update_id, body), body))
    return pairs


def round_trip(pairs: list[tuple[str, bytes]]) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    packed = pack(DAY, pairs)
    assert packed.left == []
    name, data = encode(packed.lines, DAY)
    return name, data, decode(name, data, DAY)


@pytest.mark.parametrize("form", ["compact", "webhook"])
def test_every_corpus_update_keeps_its_bytes_and_key_through_a_segment(
    corpus_dir: Path, form: str
) -> None:
    lines = corpus_lines(corpus_dir)
    bodies = lines if form == "compact" else [webhook_form(line) for line in lines]
    if form == "webhook":
        assert all(b"\n" in body for body in bodies)
    objects = as_objects(bodies)
    # The corpus reuses ids (samples of several libraries): some keys are by content.
    assert any(k.count(".") == 2 for k, _ in objects)
    _, data, back = round_trip(objects)
    assert sorted(back) == sorted(objects)
    # Every line is one JSON object; a line break became a tab (JSON whitespace).
    text = gzip.decompress(data)
    assert text.endswith(b"\n")
    for line, (_, body) in zip(text.splitlines(), sorted(back, key=_line_order), strict=True):
        assert orjson.loads(line) == orjson.loads(body)
        assert line.replace(b"\t", b"\n") == body


def _line_order(pair: tuple[str, bytes]) -> tuple[int, bool, str]:
    stem = pair[0].rsplit("/", 1)[1].split(".")
    return (int(stem[0]), len(stem) > 2, pair[0])


def test_duckdb_and_gzip_read_a_segment_as_it_is(tmp_path: Path, corpus_dir: Path) -> None:
    objects = as_objects([webhook_form(line) for line in corpus_lines(corpus_dir)])
    name, data, _ = round_trip(objects)
    assert name.startswith(f"{FOLDER}/segment-") and name.endswith(".jsonl.gz")
    path = tmp_path / name.rsplit("/", 1)[1]
    path.write_bytes(data)
    # Columns named, as for any heterogeneous JSON: DuckDB's detection samples (§10).
    rows = duckdb.sql(
        f"SELECT update_id, message->>'$.message_id' FROM read_json('{path}', "
        "format='newline_delimited', columns={update_id: 'BIGINT', message: 'JSON'})"
    ).fetchall()
    expected = [orjson.loads(b) for _, b in objects]
    assert sorted(r[0] for r in rows) == sorted(u["update_id"] for u in expected)
    with_message = sorted(int(r[1]) for r in rows if r[1] is not None)
    assert with_message == sorted(u["message"]["message_id"] for u in expected if "message" in u)


def test_the_same_updates_make_the_same_segment_whatever_their_order() -> None:
    bodies = [orjson.dumps({"update_id": i, "message": {"text": "é" * i}}) for i in range(40)]
    pairs = [(key(i), body) for i, body in enumerate(bodies)]
    first = encode(pack(DAY, pairs).lines, DAY)
    second = encode(pack(DAY, list(reversed(pairs))).lines, DAY)
    assert first == second
    # gzip header: no file name, modification time 0 (RFC 1952 §2.3), same on every machine.
    assert first[1][:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    content = gzip.decompress(first[1])
    assert first[0] == f"{FOLDER}/segment-{hashlib.sha256(content).hexdigest()[:32]}.jsonl.gz"


@pytest.mark.parametrize(
    ("name", "body", "stored_as"),
    [
        ("not JSON", b"{nope", None),
        ("an array", b"[1, 2]", None),
        ("update_id a string", b'{"update_id": "5", "message": {}}', None),
        ("update_id a float", b'{"update_id": 5.0, "message": {}}', None),
        # Its start says 5, a JSON parser says 6 (the last wins): no key to derive safely.
        ("update_id twice", b'{"update_id":5,"update_id":6,"message":{}}', 6),
        ("a raw tab", b'{"update_id": 5,\t"message": {}}', None),
        ("a carriage return", b'{"update_id": 5,\r\n"message": {}}', None),
        ("named by an older tool", b'{"update_id": 5, "message": {}}', "1700000000.123"),
        ("a reused id without the first body", b'{"update_id": 5, "message": {"x": 1}}', "5.x"),
    ],
)
def test_objects_that_cannot_be_lines_stay_objects(
    name: str, body: bytes, stored_as: int | str | None
) -> None:
    if stored_as == "5.x":
        object_key = key(5, body)
    elif isinstance(stored_as, str):
        object_key = f"{FOLDER}/{stored_as}.json"
    else:
        object_key = key(stored_as if isinstance(stored_as, int) else 5)
    good = (key(9), b'{"update_id":9,"message":{}}')
    packed = pack(DAY, [(object_key, body), good])
    assert packed.lines == [good], name
    assert packed.left == [(object_key, body)], name


def test_a_reader_sees_an_update_in_a_segment_and_as_an_object_once() -> None:
    store = MemoryStore()
    first = b'{"update_id":7,"message":{"text":"first"}}'
    other = b'{"update_id":8,"message":{"text":"x"}}'
    name, data = encode(pack(DAY, [(key(7), first), (key(8), other)]).lines, DAY)
    store.replace(name, data)
    # A compaction killed before its deletes: the same object is still there.
    store.replace(key(7), first)
    assert read_partition(store, DAY) == [(key(7), first), (key(8), other)]
    # After compaction, ingest cannot see the packed 8.json: other bytes under its name
    # are what ingest would have kept as 8.<sha256 prefix>.json.
    late = b'{"update_id":8,"message":{"text":"y"}}'
    store.replace(key(8), late)
    assert read_partition(store, DAY) == sorted(
        [(key(7), first), (key(8), other), (key(8, late), late)]
    )


def test_a_reader_lists_again_when_objects_vanish_mid_read() -> None:
    class Compacted(MemoryStore):
        """Deletes the objects between a reader's listing and its reads, once."""

        reads = 0

        def read_many(self, keys: list[str]) -> list[bytes]:
            self.reads += 1
            if self.reads == 1:
                packed = [(k, self.objects[k]) for k in keys]
                name, data = encode(pack(DAY, packed).lines, DAY)
                self.objects[name] = data
                for k in keys:
                    del self.objects[k]
            return super().read_many(keys)

    store = Compacted()
    pairs = [(key(i), b'{"update_id":%d,"message":{}}' % i) for i in range(5)]
    for k, body in pairs:
        store.create(k, body)
    assert read_partition(store, DAY) == pairs
    assert store.reads == 2


def test_a_corrupt_segment_is_one_clear_error() -> None:
    store = MemoryStore()
    name, data = encode(pack(DAY, [(key(1), b'{"update_id":1}')]).lines, DAY)
    store.replace(name, data[:-6])
    with pytest.raises(StorageError, match="not a readable segment"):
        read_day(store, DAY)


updates = st.builds(
    lambda update_id, kind, payload, newline: orjson.dumps(
        {"update_id": update_id, kind: payload}
    ).replace(b",", b",\n", 1 if newline else 0),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from(["message", "edited_message", "callback_query", "poll"]),
    json_values(max_int=2**63 - 1),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(updates, max_size=12))
def test_any_updates_round_trip_with_their_keys(bodies: list[bytes]) -> None:
    objects = as_objects(bodies)
    _, _, back = round_trip(objects)
    assert sorted(back) == sorted(objects)


def test_a_hand_edited_line_keeps_a_key_naming_its_place() -> None:
    # Two gzip members, as a tool appending to a .gz file writes them.
    data = gzip.compress(b'{"update_id":1,"message":{}}\n') + gzip.compress(b'{"no id":true}\n')
    name = f"{FOLDER}/segment-hand.jsonl.gz"
    back: list[tuple[str, Any]] = decode(name, data, DAY)
    assert back == [(key(1), b'{"update_id":1,"message":{}}'), (f"{name}#2", b'{"no id":true}')]

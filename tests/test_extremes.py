"""Extreme integers, times and strings through ingest, the ETL, every report and the page.

DESIGN §3.7 and §3.11, end to end: Hypothesis draws batches of updates of
every kind telelake reads (messages, edits, replies, forwards, reactions,
reaction counts, members, join requests, service messages) whose ids, counts
and times come from the edges of every range involved (signed and unsigned
64 bits, 2**53, beyond 64 bits; Unix seconds before 1970, after 9999, 10**15,
2**63 - 1) and whose strings are empty, NUL, huge, markup, SQL, bidi controls,
escaped lone surrogates. Each batch goes through the webhook's core
(``Receiver``: every answer is 200 or a 4xx, never a 5xx), then ``etl`` on a
real folder lake, then ``SELECT *`` on every table, every built-in report
(with every value converted to Python and printed as the terminal, CSV and
JSON show it) and the page ``/report`` and ``report --html`` serve.

Nothing may raise, and every object in the raw layer must be exactly one of:
a row of ``telegram_updates`` or a row of ``telegram_rejects`` with a reason.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telelake.analytics.engine import Engine
from telelake.analytics.output import write_result
from telelake.analytics.reports import REPORTS, run_report
from telelake.config import Settings, load_settings
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.ingest.receiver import Receiver
from telelake.lake import tables as contract
from telelake.lake.storage import LocalStore
from telelake.report.build import render_lake

NOON = int(datetime(2025, 11, 24, 12, tzinfo=UTC).timestamp())
# Edges of every integer range a value meets on its way: JSON parsers' exact
# doubles (2**53), Java/Trino/DuckDB/Parquet BIGINT (signed 64), orjson's
# unsigned 64, and beyond (orjson reads those as floats).
EDGE_INTS = [0, 1, -1, 2**31 - 1, 2**31, 2**52, 2**53 + 1, 2**63 - 1, -(2**63), 2**63,
             -(2**63) - 1, 2**64 - 1, 2**64, 10**30, -(10**30)]  # fmt: skip
# Edges of time: 1970, 9999-12-30 23:59:59 and one second later, 2038, the
# year 10000 in every zone, milliseconds by mistake, 2**63 - 1 (wraps to 1969
# when multiplied unchecked), negative.
EDGE_TIMES = [0, -1, 2**31, 253_402_214_399, 253_402_214_400, 253_402_300_799, NOON * 1000,
              10**15, 2**63 - 1, -(2**63), 2**64]  # fmt: skip
EDGE_TEXTS = ["", "\x00", "x" * 5000, "'; DROP TABLE telegram; --", "<script>alert(1)</script>",
              "\u202e\u200b\ufeff", "😀" * 50, "%3A%3a", "NaN", "\\", '"', "\r\n"]  # fmt: skip
# Lakes partitioned in the zones furthest ahead of and behind UTC (+14 h, -11 h).
ZONES = ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
LONE_SURROGATE = "\ud800"  # written as the JSON escape "\ud800", which no UTF-8 holds

ids = st.one_of(st.integers(1, 10**6), st.sampled_from(EDGE_INTS), st.integers(-(2**70), 2**70))
chat_ids = st.one_of(st.sampled_from([-1001, -1002, 7]), st.sampled_from(EDGE_INTS))
times = st.one_of(
    st.integers(NOON - 3 * 86_400, NOON + 3 * 86_400),
    st.sampled_from(EDGE_TIMES),
    st.integers(-(2**66), 2**66),
)
texts = st.one_of(st.sampled_from(EDGE_TEXTS), st.text(max_size=30), st.just(LONE_SURROGATE))


@st.composite
def people(draw: st.DrawFn) -> dict[str, Any]:
    return {"id": draw(ids), "is_bot": draw(st.booleans()), "first_name": draw(texts)}


@st.composite
def chats(draw: st.DrawFn) -> dict[str, Any]:
    return {"id": draw(chat_ids), "type": draw(st.sampled_from(["supergroup", "group"])),
            "title": draw(texts)}  # fmt: skip


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": draw(ids),
        "from": draw(people()),
        "chat": draw(chats()),
        "date": draw(times),
        "text": draw(texts),
    }
    extras = draw(st.sets(st.sampled_from(["edit", "reply", "forward", "joined", "entities"])))
    if "edit" in extras:
        message["edit_date"] = draw(times)
    if "reply" in extras:
        message["reply_to_message"] = {"message_id": draw(ids), "date": draw(times),
                                       "chat": message["chat"], "from": draw(people())}  # fmt: skip
    if "forward" in extras:
        message["forward_origin"] = {"type": "user", "date": draw(times),
                                     "sender_user": draw(people())}  # fmt: skip
    if "joined" in extras:
        message.pop("text")
        message["new_chat_members"] = draw(st.lists(people(), min_size=1, max_size=2))
    if "entities" in extras:
        message["entities"] = [{"type": "bold", "offset": draw(ids), "length": draw(ids)}]
    return message


@st.composite
def payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(
        st.sampled_from(
            [
                "message",
                "edited_message",
                "channel_post",
                "message_reaction",
                "message_reaction_count",
                "chat_member",
                "chat_join_request",
            ]
        )
    )
    if kind in ("message", "edited_message", "channel_post"):
        return kind, draw(messages())
    if kind == "message_reaction":
        emoji = {"type": "emoji", "emoji": draw(st.sampled_from(["👍", "", "x" * 300]))}
        return kind, {"chat": draw(chats()), "message_id": draw(ids), "user": draw(people()),
                      "date": draw(times), "old_reaction": [], "new_reaction": [emoji]}  # fmt: skip
    if kind == "message_reaction_count":
        counted = {"type": {"type": "emoji", "emoji": "🔥"}, "total_count": draw(ids)}
        return kind, {"chat": draw(chats()), "message_id": draw(ids), "date": draw(times),
                      "reactions": [counted]}  # fmt: skip
    if kind == "chat_member":
        member = draw(people())
        return kind, {"chat": draw(chats()), "from": draw(people()), "date": draw(times),
                      "old_chat_member": {"status": "left", "user": member},
                      "new_chat_member": {"status": "member", "user": member}}  # fmt: skip
    return kind, {"chat": draw(chats()), "from": draw(people()), "date": draw(times),
                  "user_chat_id": draw(ids)}  # fmt: skip


@st.composite
def batches(draw: st.DrawFn) -> list[bytes]:
    """Request bodies: updates with distinct ids (1.. or an extreme one), as exact JSON."""
    drawn = draw(st.lists(payloads(), min_size=1, max_size=12))
    update_ids = draw(st.lists(ids, min_size=len(drawn), max_size=len(drawn), unique=True))
    # json (not orjson) writes integers of any size exactly, and lone surrogates as escapes.
    return [
        json.dumps({"update_id": update_id, kind: payload}).encode()
        for update_id, (kind, payload) in zip(update_ids, drawn, strict=True)
    ]


def _ingest(settings: Settings, bodies: list[bytes]) -> dict[str, bytes]:
    """Post every body to the webhook's core; the raw objects stored, by key."""
    raw = LocalStore(Path(settings.raw_url))
    receiver = Receiver(Ingestor(settings, raw))
    for body in bodies:
        answer = receiver.answer_now(None, body)
        assert answer.status in (200, 400, 413), (answer, body[:300])
    return {key: raw.read(key) for key in raw.list("telegram") if key.endswith(".json")}


def _beyond_64_bits(body: bytes) -> bool:
    """Whether ``body`` holds an integer outside signed 64 bits (read exactly, by json)."""
    stack = [json.loads(body)]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif type(value) is int and not -(2**63) <= value < 2**63:
            return True
    return False


def _read_everything(settings: Settings) -> tuple[list[tuple[str]], list[tuple[str, str]]]:
    """Every table and every report as a reader meets them; (updates, rejects) raw keys."""
    with Engine(settings.enriched_url) as engine:
        for table in contract.TABLES:
            result = engine.query(f'SELECT * FROM "{table}"')
            for fmt in ("table", "csv", "json"):
                write_result(result, fmt, io.StringIO(), width=120)
        for report in REPORTS:
            result = run_report(engine, report)
            for fmt in ("table", "csv", "json"):
                write_result(result, fmt, io.StringIO(), max_rows=50, width=120)
        updates = engine.query("SELECT raw_key FROM telegram_updates").rows
        rejects = engine.query("SELECT raw_key, reason FROM telegram_rejects").rows
    page = render_lake(settings)
    assert page.lstrip().lower().startswith("<!doctype html>")
    return updates, rejects


def check_batch(bodies: list[bytes], zone: str = "UTC") -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({"lake": str(Path(folder) / "lake"), "timezone": zone}, env={})
        stored = _ingest(settings, bodies)
        summary = run(Layers.open(settings), workers=1)
        assert not summary.left
        updates, rejects = _read_everything(settings)
    as_rows = [key for (key,) in updates]
    as_rejects = [key for key, _ in rejects]
    assert all(reason.strip() for _, reason in rejects), rejects
    assert len(set(as_rows)) == len(as_rows) and len(set(as_rejects)) == len(as_rejects)
    assert set(as_rows).isdisjoint(as_rejects), set(as_rows) & set(as_rejects)
    assert set(as_rows) | set(as_rejects) == set(stored), (set(stored), as_rows, rejects)
    # Never a NULL id in place of one no column holds (orjson reads those as floats).
    unholdable = {key for key, body in stored.items() if _beyond_64_bits(body)}
    assert unholdable <= set(as_rejects), unholdable - set(as_rejects)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batches(), st.sampled_from(ZONES))
def test_no_extreme_value_crashes_a_stage_and_every_object_is_a_row_or_a_reject(
    bodies: list[bytes], zone: str
) -> None:
    check_batch(bodies, zone)


def test_every_edge_at_once() -> None:
    """One batch holding each edge value in each place, so none depends on a draw."""
    bodies = []
    update_id = 1
    for value in EDGE_INTS:
        for field in ("chat", "from", "message_id"):
            message = {
                "message_id": 5,
                "from": {"id": 7, "is_bot": False, "first_name": "A"},
                "chat": {"id": -1001, "type": "group"},
                "date": NOON,
                "text": "x",
            }
            if field == "message_id":
                message["message_id"] = value
            else:
                message[field]["id"] = value
            bodies.append(json.dumps({"update_id": update_id, "message": message}).encode())
            update_id += 1
        bodies.append(json.dumps({"update_id": value, "message": {"message_id": 1,
                      "chat": {"id": -1001, "type": "group"}, "date": NOON}}).encode())  # fmt: skip
    for when in EDGE_TIMES:
        for kind in ("message", "edited_message", "message_reaction"):
            payload: dict[str, Any] = {"message_id": update_id, "date": when, "text": "t",
                                       "chat": {"id": -1001, "type": "group"},
                                       "user": {"id": 7, "is_bot": False, "first_name": "A"},
                                       "old_reaction": [], "new_reaction": []}  # fmt: skip
            if kind == "edited_message":
                payload.update(date=NOON, edit_date=when)
            bodies.append(json.dumps({"update_id": update_id, kind: payload}).encode())
            update_id += 1
    for text in [*EDGE_TEXTS, LONE_SURROGATE]:
        message = {"message_id": update_id, "chat": {"id": -1001, "type": "group", "title": text},
                   "from": {"id": 7, "is_bot": False, "first_name": text}, "date": NOON,
                   "text": text}  # fmt: skip
        bodies.append(json.dumps({"update_id": update_id, "message": message}).encode())
        update_id += 1
    for zone in ZONES:
        check_batch(bodies, zone)

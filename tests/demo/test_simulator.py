"""The traffic simulator: deterministic, shaped like real Bot API updates, honest counts.

Everything here re-derives its expectations from the bodies themselves
(parsing, UTF-16 slicing, regexes, recounting) instead of trusting the
simulator's bookkeeping, so a bug in either side shows up as a mismatch.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telelake.demo.people import MAIN_CHAT_ID, SMALL_CHAT_ID
from telelake.demo.simulator import Traffic, simulate
from telelake.errors import UsageError
from telelake.telegram.update import Update

END = date(2025, 3, 16)  # a Sunday: the default week spans two weekends
ZONE = ZoneInfo("America/Sao_Paulo")

SERVICE_KEYS = {
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "pinned_message",
    "group_chat_created",
    "supergroup_chat_created",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
}
CONTENT_KEYS = {"text", "photo", "sticker"}
KINDS = {"message", "edited_message", "message_reaction", "chat_member"}

HASHTAG = re.compile(r"#\w+")
MENTION = re.compile(r"@[A-Za-z0-9_]{5,32}")
URL = re.compile(r"(?:https?://)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?")
COMMAND = re.compile(r"/\w+(?:@\w+)?")


@dataclass
class Delivered:
    update_id: int
    kind: str
    payload: Any


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return simulate(end=END)


def first_deliveries(traffic: Traffic) -> list[Delivered]:
    """Each update once, in the order it was first delivered."""
    seen: set[int] = set()
    out = []
    for body in traffic.bodies:
        update = Update.from_json(orjson.loads(body))
        if update.update_id not in seen:
            seen.add(update.update_id)
            out.append(Delivered(update.update_id, update.kind, update.payload))
    return out


def local_day(seconds: int, zone: ZoneInfo = ZONE) -> date:
    return datetime.fromtimestamp(seconds, UTC).astimezone(zone).date()


def is_service(message: dict[str, Any]) -> bool:
    return bool(SERVICE_KEYS & message.keys())


def texts(updates: list[Delivered]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every (text, entities) and (caption, caption_entities) of messages and edits."""
    for item in updates:
        if item.kind not in ("message", "edited_message"):
            continue
        message = item.payload
        for nested in (message, message.get("reply_to_message"), message.get("pinned_message")):
            if nested is None:
                continue
            if "text" in nested:
                yield nested["text"], nested.get("entities", [])
            if "caption" in nested:
                yield nested["caption"], nested.get("caption_entities", [])


def entity_problems(text: str, entities: list[dict[str, Any]]) -> list[str]:
    """What is wrong with ``entities`` of ``text``, checked the way Telegram counts (UTF-16)."""
    units = text.encode("utf-16-le")
    problems = []
    found: defaultdict[str, list[str]] = defaultdict(list)
    last = -1
    for entity in entities:
        start, length = entity["offset"], entity["length"]
        if start < last or length <= 0 or 2 * (start + length) > len(units):
            problems.append(f"bad span {entity} in {text!r}")
            continue
        last = start
        try:  # slicing through a surrogate pair fails to decode
            before = units[: 2 * start].decode("utf-16-le")
            piece = units[2 * start : 2 * (start + length)].decode("utf-16-le")
            after = units[2 * (start + length) :].decode("utf-16-le")
        except UnicodeDecodeError:
            problems.append(f"span {entity} splits a character in {text!r}")
            continue
        if before[-1:].strip() or after[:1].strip():
            problems.append(f"{piece!r} is not a whole word in {text!r}")
        kind = entity["type"]
        found[kind].append(piece)
        pattern = {"hashtag": HASHTAG, "mention": MENTION, "url": URL, "bot_command": COMMAND}
        if kind in pattern and not pattern[kind].fullmatch(piece):
            problems.append(f"{kind} entity covers {piece!r} in {text!r}")
        if kind == "text_mention" and piece != entity["user"]["first_name"]:
            problems.append(f"text_mention covers {piece!r}, not {entity['user']['first_name']!r}")
        if kind == "bold" and (not piece or piece != piece.strip()):
            problems.append(f"bold covers {piece!r}")
    # Independently, what Telegram would detect in the text must be exactly the entities.
    if found["hashtag"] != re.findall(r"(?<!\w)#\w+", text):
        problems.append(f"hashtags {found['hashtag']} vs text {text!r}")
    if found["mention"] != re.findall(r"(?<![\w@])@\w+", text):
        problems.append(f"mentions {found['mention']} vs text {text!r}")
    if found["url"] != [m for m in re.findall(r"(?<!\S)\S+", text) if URL.fullmatch(m)]:
        problems.append(f"urls {found['url']} vs text {text!r}")
    return problems


def recount(traffic: Traffic, zone: ZoneInfo = ZONE) -> dict[str, Any]:
    """The Traffic counters, recomputed from the bodies alone."""
    ids = [Update.from_json(orjson.loads(body)).update_id for body in traffic.bodies]
    updates = first_deliveries(traffic)
    written: set[tuple[int, int]] = set()
    service: set[tuple[int, int]] = set()
    days = []
    for item in updates:
        if item.kind in ("message", "edited_message"):
            key = (item.payload["chat"]["id"], item.payload["message_id"])
            (service if is_service(item.payload) else written).add(key)
        if item.kind == "message":
            days.append(local_day(item.payload["date"], zone))
    return {
        "unique_updates": len(set(ids)),
        "redeliveries": len(ids) - len(set(ids)),
        "messages": len(written),
        "service_messages": len(service),
        "edits": sum(item.kind == "edited_message" for item in updates),
        "first_day": min(days),
        "last_day": max(days),
    }


def structural_problems(traffic: Traffic, zone: ZoneInfo = ZONE) -> list[str]:
    """Invariants every simulation must keep, whatever its parameters."""
    problems: list[str] = []
    by_id: dict[int, bytes] = {}
    previous = -1
    for body in traffic.bodies:
        data = orjson.loads(body)
        if orjson.dumps(data) != body:
            problems.append(f"not compact orjson output: {body[:80]!r}")
        update = Update.from_json(data)
        if update.kind not in KINDS or update.chat_id not in (MAIN_CHAT_ID, SMALL_CHAT_ID):
            problems.append(f"unexpected kind or chat: {body[:120]!r}")
        if update.event_time is None:
            problems.append(f"no event time: {body[:120]!r}")
        if update.update_id in by_id:
            if by_id[update.update_id] != body:
                problems.append(f"re-delivery of {update.update_id} differs")
        else:
            if update.update_id <= previous:
                problems.append(f"update_id {update.update_id} after {previous}")
            previous = update.update_id
            by_id[update.update_id] = body
    updates = first_deliveries(traffic)
    originals: dict[tuple[int, int], dict[str, Any]] = {}
    last_edit: dict[tuple[int, int], int] = {}
    last_id: dict[int, tuple[int, int]] = {}
    reactions: dict[tuple[int, int, int], list[Any]] = {}
    for item in updates:
        p = item.payload
        if item.kind == "message":
            chat = p["chat"]["id"]
            if (p["message_id"], p["date"]) <= last_id.get(chat, (-1, -1)):
                problems.append(f"message_id/date not increasing in {chat}: {p['message_id']}")
            last_id[chat] = (p["message_id"], p["date"])
            kinds = (CONTENT_KEYS | SERVICE_KEYS) & p.keys()
            if len(kinds - {"new_chat_members"}) != 1 and kinds != {"new_chat_members"}:
                problems.append(f"message {p['message_id']} has content {kinds}")
            originals[(chat, p["message_id"])] = p
        elif item.kind == "edited_message":
            key = (p["chat"]["id"], p["message_id"])
            original = originals.get(key)
            if original is None:
                problems.append(f"edit of unknown message {key}")
                continue
            if p["date"] != original["date"] or p["from"] != original["from"]:
                problems.append(f"edit of {key} changed date or sender")
            if p["edit_date"] <= max(p["date"], last_edit.get(key, 0)):
                problems.append(f"edit_date of {key} not after the previous version")
            last_edit[key] = p["edit_date"]
            field = "text" if "text" in original else "caption"
            if p.get(field) == original.get(field):
                problems.append(f"edit of {key} kept the same {field}")
        elif item.kind == "message_reaction":
            key = (p["chat"]["id"], p["message_id"])
            actor = p["user"]["id"] if "user" in p else p["actor_chat"]["id"]
            if key not in originals or p["date"] < originals[key]["date"]:
                problems.append(f"reaction to unknown or later message {key}")
            if p["old_reaction"] != reactions.get((*key, actor), []):
                problems.append(f"old_reaction of {key} by {actor} does not match")
            reactions[(*key, actor)] = p["new_reaction"]
    for text, entities in texts(updates):
        problems += entity_problems(text, entities)
    counted = recount(traffic, zone)
    actual = {name: getattr(traffic, name) for name in counted}
    if counted != actual:
        problems.append(f"Traffic says {actual}, bodies say {counted}")
    return problems


def test_same_seed_gives_the_same_bytes() -> None:
    one = simulate(seed=3, users=40, days=3, messages_per_day=60, end=END)
    two = simulate(seed=3, users=40, days=3, messages_per_day=60, end=END)
    other = simulate(seed=4, users=40, days=3, messages_per_day=60, end=END)
    assert one == two
    assert one.bodies != other.bodies


def test_default_week_keeps_every_invariant(traffic: Traffic) -> None:
    assert structural_problems(traffic) == []


def test_update_kinds_and_message_shapes_are_all_there(traffic: Traffic) -> None:
    updates = first_deliveries(traffic)
    assert {item.kind for item in updates} == KINDS
    messages = [item.payload for item in updates if item.kind == "message"]
    features: Counter[str] = Counter()
    for m in messages:
        features.update(k for k in m if k in CONTENT_KEYS | SERVICE_KEYS)
        features.update(
            name
            for name, present in {
                "caption": "caption" in m and "photo" in m,
                "caption_entities": "caption_entities" in m,
                "reply": "reply_to_message" in m,
                "thread": "message_thread_id" in m,
                "album": "media_group_id" in m,
                "bot_sender": m["from"]["is_bot"],
                "anonymous_admin": "sender_chat" in m,
                f"forward_{m.get('forward_origin', {}).get('type')}": "forward_origin" in m,
                f"chat_{m['chat']['type']}": True,
            }.items()
            if present
        )
    wanted = {"text", "photo", "sticker", "caption", "caption_entities", "reply", "thread"}
    wanted |= {"album", "bot_sender", "anonymous_admin", "chat_group", "chat_supergroup"}
    wanted |= {"forward_user", "forward_channel", "forward_hidden_user"}
    wanted |= {"new_chat_members", "left_chat_member", "new_chat_title", "pinned_message"}
    assert wanted <= features.keys()
    assert features["text"] > features["photo"] > 0
    assert features["text"] > features["sticker"] > 0
    joins = [m for m in messages if "new_chat_members" in m]
    assert all(
        m["new_chat_member"] == m["new_chat_participant"] == m["new_chat_members"][0] for m in joins
    )
    assert any(u["is_bot"] for m in joins for u in m["new_chat_members"])
    leaves = [m for m in messages if "left_chat_member" in m]
    assert all(m["left_chat_member"] == m["left_chat_participant"] for m in leaves)
    statuses = {
        (item.payload["old_chat_member"]["status"], item.payload["new_chat_member"]["status"])
        for item in updates
        if item.kind == "chat_member"
    }
    assert {("left", "member"), ("member", "left"), ("member", "administrator")} <= statuses


def test_photos_and_stickers_carry_bot_api_fields(traffic: Traffic) -> None:
    for item in first_deliveries(traffic):
        message = item.payload
        if item.kind != "message":
            continue
        for size in message.get("photo", []):
            assert {"file_id", "file_unique_id", "file_size", "width", "height"} == size.keys()
        if "sticker" in message:
            sticker = message["sticker"]
            assert sticker["type"] == "regular"
            assert isinstance(sticker["is_animated"], bool) and isinstance(
                sticker["is_video"], bool
            )
            assert sticker["emoji"] and sticker["set_name"] and sticker["width"] > 0


def test_edits_keep_id_and_date_and_some_come_hours_later(traffic: Traffic) -> None:
    edits = [i.payload for i in first_deliveries(traffic) if i.kind == "edited_message"]
    assert traffic.edits == len(edits) > 0
    delays = [e["edit_date"] - e["date"] for e in edits]
    assert min(delays) > 0
    assert max(delays) >= 3 * 3600
    assert any(local_day(e["edit_date"]) > local_day(e["date"]) for e in edits)


def test_redeliveries_are_identical_bytes_at_about_three_percent(traffic: Traffic) -> None:
    copies: defaultdict[int, set[bytes]] = defaultdict(set)
    for body in traffic.bodies:
        copies[orjson.loads(body)["update_id"]].add(body)
    assert all(len(bodies) == 1 for bodies in copies.values())
    assert len(traffic.bodies) - len(copies) == traffic.redeliveries
    assert 0.01 < traffic.redeliveries / traffic.unique_updates < 0.06


def test_entity_offsets_count_astral_characters_twice(traffic: Traffic) -> None:
    shifted = 0
    for text, entities in texts(first_deliveries(traffic)):
        assert entity_problems(text, entities) == []
        for entity in entities:
            prefix = text.encode("utf-16-le")[: 2 * entity["offset"]].decode("utf-16-le")
            shifted += len(prefix) != entity["offset"]
    assert shifted > 0  # some entities follow emoji, so code points and UTF-16 differ


def test_entity_problems_catches_a_code_point_offset() -> None:
    # The checker itself must reject offsets counted in code points.
    text = "👍🏽 #dados"
    assert entity_problems(text, [{"offset": 3, "length": 6, "type": "hashtag"}]) != []
    assert entity_problems(text, [{"offset": 5, "length": 6, "type": "hashtag"}]) == []


def test_week_days_people_and_languages(traffic: Traffic) -> None:
    assert (traffic.first_day, traffic.last_day) == (END - timedelta(days=7), END)
    updates = first_deliveries(traffic)
    messages = [i.payload for i in updates if i.kind == "message"]
    assert len({local_day(m["date"]) for m in messages}) == 8
    people = {m["from"]["id"] for m in messages if not m["from"]["is_bot"]}
    people |= {u["id"] for m in messages for u in m.get("new_chat_members", [])}
    assert 200 <= len(people) <= 300
    corpus = "\n".join(text for text, _ in texts(updates))
    for sample in ("ç", "ã", "ñ", "é", "ü", "ß", "Ё", "の", "你", "요", "👍🏽", "👨‍👩‍👧", "\u0301"):
        assert sample in corpus, sample
    # 400 a weekday, about half on weekends: a week of 8 days is roughly 2,800.
    assert 0.6 * 8 * 400 <= traffic.messages <= 1.1 * 8 * 400


def test_daily_rhythm_weekends_and_heavy_tail(traffic: Traffic) -> None:
    messages = [i.payload for i in first_deliveries(traffic) if i.kind == "message"]
    hours: Counter[int] = Counter()
    per_day: Counter[date] = Counter()
    senders: Counter[int] = Counter()
    late_next_utc_day = 0
    for m in messages:
        moment = datetime.fromtimestamp(m["date"], UTC)
        local = moment.astimezone(ZONE)
        hours[local.hour] += 1
        per_day[local.date()] += 1
        senders[m["from"]["id"]] += 1
        late_next_utc_day += local.hour >= 21 and moment.date() != local.date()
    assert sum(hours[h] for h in range(2, 6)) * 5 < sum(hours[h] for h in range(14, 18))
    assert late_next_utc_day > 0
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    assert sum(weekend) / len(weekend) < 0.8 * sum(weekday) / len(weekday)
    top = sum(n for _, n in senders.most_common(len(senders) // 10))
    assert top > 0.4 * sum(senders.values())


def test_full_week_is_fast() -> None:
    started = time.perf_counter()
    simulate(seed=11, end=END)
    assert time.perf_counter() - started < 5


def test_default_end_is_yesterday_in_the_zone() -> None:
    before = datetime.now(ZONE).date()
    result = simulate(users=10, days=1, messages_per_day=3)
    after = datetime.now(ZONE).date()
    assert result.last_day in {before - timedelta(days=1), after - timedelta(days=1)}
    assert result.first_day == result.last_day


@pytest.mark.parametrize(
    "kwargs",
    [{"users": 9}, {"days": 0}, {"messages_per_day": 0}, {"timezone": "Mars/Olympus_Mons"}],
)
def test_bad_arguments_are_usage_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        simulate(end=END, **kwargs)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    users=st.integers(10, 60),
    days=st.integers(1, 9),
    per_day=st.integers(1, 40),
    end=st.dates(date(2016, 1, 1), date(2030, 12, 31)),
    zone=st.sampled_from(["UTC", "America/Sao_Paulo", "Europe/Berlin", "Asia/Kolkata"]),
)
def test_any_simulation_keeps_the_invariants(
    seed: int, users: int, days: int, per_day: int, end: date, zone: str
) -> None:
    traffic = simulate(
        seed=seed, users=users, days=days, messages_per_day=per_day, end=end, timezone=zone
    )
    assert structural_problems(traffic, ZoneInfo(zone)) == []
    assert (traffic.first_day, traffic.last_day) == (end - timedelta(days=days - 1), end)
    assert traffic.service_messages >= 3  # a join, a leave, a title change at least


def test_member_counts_move_by_the_joins_and_leaves_sent(traffic: Traffic) -> None:
    """One count per chat and day at local noon; from one noon to the next it changes by
    the chat_member joins minus departures the traffic itself carries in between."""
    counts = {(chat, day): (at, n) for chat, day, at, n in traffic.member_counts}
    days = sorted({day for _, day in counts})
    assert days[0] == traffic.first_day and days[-1] == traffic.last_day
    assert {chat for chat, _ in counts} == {MAIN_CHAT_ID, SMALL_CHAT_ID}
    changes = [
        (u.payload["date"], u.payload["chat"]["id"], u.payload["new_chat_member"]["status"])
        for u in first_deliveries(traffic)
        if u.kind == "chat_member"
    ]
    assert {status for _, _, status in changes} >= {"member", "left"}
    for chat in (MAIN_CHAT_ID, SMALL_CHAT_ID):
        for before, after in pairwise(days):
            (start, was), (end, now) = counts[chat, before], counts[chat, after]
            assert local_day(start) == before and datetime.fromtimestamp(start, ZONE).hour == 12
            moved = sum(
                1 if status == "member" else -1
                for when, where, status in changes
                if where == chat and start <= when < end
            )
            assert now - was == moved, (chat, before, after)

"""What the bot answers equals SQL over the lake, including messages of the last minutes.

The lake: ten days of two groups in Europe/Berlin, the days before today
built by the ETL, today's messages (some a minute old) only in the raw layer.
The expected numbers come from SQL run by the query engine over the same lake
*after* the ETL has built today too, with the periods worked out here from
the README's definitions, so neither the live reader nor the answer's queries
are trusted to check themselves.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from responder_helpers import (
    GROUP,
    OTHER_GROUP,
    Clock,
    build,
    drain,
    group_chat,
    joined,
    message,
    private,
    responder,
    settings_for,
    store,
    user,
)

from telelake.analytics.engine import Engine

ZONE = ZoneInfo("Europe/Berlin")
NOW = int(datetime(2026, 3, 30, 14, 7, 30, tzinfo=ZONE).timestamp())  # the day after DST began
PEOPLE = [user(10 + i, name, last) for i, (name, last) in enumerate(
    [("Ana", "Silva"), ("Bruno", None), ("Carla", "Diaz"), ("Davi", None), ("Eva", "Ng"),
     ("Fábio", None), ("Gil", None), ("Hana", "Mori")])]  # fmt: skip
BOT = {"id": 777, "is_bot": True, "first_name": "SomeBot"}
NAMES = [p["first_name"] for p in PEOPLE] + [p["last_name"] for p in PEOPLE if "last_name" in p]


def history(seed: int = 7) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(updates of the days before today, today's updates), deterministic."""
    rng = random.Random(seed)
    past, today = [], []
    update_id = 1000
    start = NOW - 40 * 86_400
    midnight = int(datetime.combine(datetime.fromtimestamp(NOW, ZONE).date(), time(0),
                                    tzinfo=ZONE).timestamp())  # fmt: skip
    for _ in range(900):
        update_id += 1
        date = rng.randrange(start, NOW - 120)
        chat = group_chat() if rng.random() < 0.8 else group_chat(OTHER_GROUP, "Other")
        sender = rng.choice([*PEOPLE[: 3 + rng.randrange(6)], BOT])
        body = message(update_id, date=date, sender=sender, text=f"msg {update_id}", chat=chat)
        (today if date >= midnight else past).append(body)
    for i in range(6):
        update_id += 1
        people = [user(500 + update_id * 10 + k, "New") for k in range(1 + i % 2)]
        date = rng.randrange(NOW - 9 * 86_400, NOW - 60)
        (today if date >= midnight else past).append(joined(update_id, date=date, people=people))
    # The last minutes: only in the raw layer when the command comes.
    for i in range(25):
        update_id += 1
        sender = PEOPLE[i % 2]
        today.append(message(update_id, date=NOW - 90 + i, sender=sender, text=f"just now {i}"))
    return past, today


@pytest.fixture
def lake(tmp_path: Path, fake: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    pseudonymize = getattr(request, "param", False)
    extra = {"pseudonymize": True, "pseudonym_key": "k" * 32} if pseudonymize else {}
    settings = settings_for(tmp_path / "lake", fake, timezone="Europe/Berlin", **extra)
    past, today = history()
    store(settings, past)
    build(settings)
    store(settings, today)
    return {"settings": settings, "pseudonymized": pseudonymize}


def windows(period: str) -> tuple[int, int, int, int]:
    """(start, end, previous start, previous end) by the README's rule, in Unix seconds."""
    days = {"today": 1, "week": 7, "month": 30}[period]
    local = datetime.fromtimestamp(NOW, ZONE)
    first = local.date() - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tzinfo=ZONE)
    before_start = datetime.combine(first - timedelta(days=days), time(0), tzinfo=ZONE)
    wall = datetime.combine(local.date() - timedelta(days=days), local.time(), tzinfo=ZONE)
    return int(start.timestamp()), NOW + 1, int(before_start.timestamp()), int(wall.timestamp())


def expected(settings: Any, period: str) -> dict[str, Any]:
    build(settings)  # today too, now: the engine reads built partitions only
    start, end, before_start, before_end = windows(period)
    human = "user_id IS NOT NULL AND NOT user_is_bot"
    where = f"chat_id = {GROUP} AND date >= {{}} AND date < {{}}"
    with Engine(settings.enriched_url) as engine:

        def one(sql: str) -> Any:
            return engine.query(sql).rows[0][0]

        now_where, before_where = where.format(start, end), where.format(before_start, before_end)
        top = engine.query(
            f"SELECT user_id, count(*) AS n FROM telegram WHERE {now_where} AND {human} "
            "GROUP BY user_id ORDER BY n DESC, user_id LIMIT 3"
        ).rows
        hour = engine.query(
            f"SELECT hour(sent_at_local) AS h, count(*) AS n FROM telegram WHERE {now_where} "
            "GROUP BY h ORDER BY n DESC, h LIMIT 1"
        ).rows
        return {
            "messages": one(f"SELECT count(*) FROM telegram WHERE {now_where}"),
            "before": one(f"SELECT count(*) FROM telegram WHERE {before_where}"),
            "posters": one(
                f"SELECT count(DISTINCT user_id) FROM telegram WHERE {now_where} AND {human}"
            ),
            "posters_before": one(
                f"SELECT count(DISTINCT user_id) FROM telegram WHERE {before_where} AND {human}"
            ),
            "top": [(int(u), int(n)) for u, n in top],
            "hour": (int(hour[0][0]), int(hour[0][1])),
            "joins": one(
                f"SELECT count(*) FROM telegram_service WHERE chat_id = {GROUP} AND "
                f"event = 'new_chat_members' AND date >= {start} AND date < {end}"
            ),
        }


def percent(now: int, before: int) -> str:
    if before == 0:
        return "±0%" if now == 0 else "new"
    value = (Decimal(now - before) * 100 / Decimal(before)).copy_abs()
    rounded = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return "±0%" if rounded == 0 else f"{'+' if now > before else '-'}{rounded}%"


def ask(lake: dict[str, Any], fake: Any, text: str, sender: dict[str, Any] | None = None,
        update_id: int = 90_000, later: int = 0) -> list[dict[str, Any]]:  # fmt: skip
    """Store a command and let a responder answer it ``later`` seconds after NOW."""
    settings = lake["settings"]
    command = message(update_id, date=NOW + later, sender=sender or PEOPLE[0], text=text)
    store(settings, [command])
    clock = Clock(NOW + later + 2)
    core = responder(settings, clock)
    core.handle(command)
    drain(core, clock)
    return fake.sent()


@pytest.mark.parametrize("period", ["today", "week", "month"])
def test_stats_equals_sql_over_the_lake_including_the_last_minutes(
    lake: dict[str, Any], fake: Any, period: str
) -> None:
    sent = ask(lake, fake, f"/stats {period}")
    assert len(sent) == 1
    answer = sent[0]
    assert answer["method"] == "sendPhoto" and answer["photo_bytes"] > 10_000
    assert answer["chat_id"] == GROUP and answer["reply_to"] == 90_000
    text = answer["text"]
    want = expected(lake["settings"], period)
    assert f"Messages: {want['messages']:,} ({percent(want['messages'], want['before'])}" in text
    assert f": {want['before']:,})" in text
    posters = f"Posters: {want['posters']} ({percent(want['posters'], want['posters_before'])}"
    assert posters + f": {want['posters_before']})" in text
    hour, count = want["hour"]
    assert f"Busiest hour: {hour:02d}:00–{(hour + 1) % 24:02d}:00 ({count:,} messages)" in text
    assert f"New members: {want['joins']}" in text
    names = {p["id"]: " ".join(filter(None, (p["first_name"], p.get("last_name"))))
             for p in PEOPLE}  # fmt: skip
    shown = " · ".join(f"{i}. {names[u]} {n:,}" for i, (u, n) in enumerate(want["top"], 1))
    assert f"Top posters: {shown}" in text


def test_the_last_minutes_count_before_any_build(lake: dict[str, Any], fake: Any) -> None:
    # 25 messages of the last 90 seconds plus the command itself, by two people.
    sent = ask(lake, fake, "/top today")
    build(lake["settings"])
    with Engine(lake["settings"].enriched_url) as engine:
        rows = engine.query(
            f"SELECT user_id, count(*) AS n FROM telegram WHERE chat_id = {GROUP} AND "
            f"date >= {windows('today')[0]} AND user_id < 100 GROUP BY 1 ORDER BY n DESC, 1"
        ).rows
    names = {p["id"]: " ".join(filter(None, (p["first_name"], p.get("last_name"))))
             for p in PEOPLE}  # fmt: skip
    lines = sent[0]["text"].splitlines()[1:]
    assert lines == [f"{i}. {names[u]} {n}" for i, (u, n) in enumerate(rows, 1)]


def test_a_day_built_since_it_was_read_leaves_the_responder_s_memory(
    lake: dict[str, Any], fake: Any
) -> None:
    from telelake.responder.stats import WANTED

    core = responder(lake["settings"], Clock(NOW))
    today = datetime.fromtimestamp(NOW, ZONE).date()
    before = core.live.tables([today], WANTED)["telegram"].num_rows
    assert today in core.live._raw  # read from the raw layer: not built yet
    build(lake["settings"])
    after = core.live.tables([today], WANTED)["telegram"].num_rows
    assert today not in core.live._raw and after == before  # now from Parquet, same rows


def test_me_goes_privately_to_someone_who_started_the_bot(lake: dict[str, Any], fake: Any) -> None:
    fake.start_bot(PEOPLE[1]["id"])
    sent = ask(lake, fake, "/me month", sender=PEOPLE[1])
    assert [m["chat_id"] for m in sent] == [PEOPLE[1]["id"]]
    start, end, _, _ = windows("month")
    build(lake["settings"])
    with Engine(lake["settings"].enriched_url) as engine:
        mine = engine.query(
            f"SELECT count(*) FROM telegram WHERE chat_id = {GROUP} AND user_id = "
            f"{PEOPLE[1]['id']} AND date >= {start} AND date < {end}"
        ).rows[0][0]
    assert f"Your messages: {mine:,} (" in sent[0]["text"]


def test_me_of_someone_who_never_started_the_bot_answers_in_the_group(
    lake: dict[str, Any], fake: Any
) -> None:
    sent = ask(lake, fake, "/me", sender=PEOPLE[2])
    # Tried privately first (Telegram refused: 403), then in the group as a reply.
    calls = [c["params"]["chat_id"] for c in fake.calls("sendMessage")]
    assert calls == [PEOPLE[2]["id"], GROUP]
    assert [m["chat_id"] for m in sent] == [GROUP] and sent[0]["reply_to"] == 90_000
    assert "Your messages:" in sent[0]["text"]


@pytest.mark.parametrize("lake", [True], indirect=True)
def test_a_pseudonymised_lake_never_names_anyone(lake: dict[str, Any], fake: Any) -> None:
    fake.start_bot(PEOPLE[0]["id"])
    for i, text in enumerate(["/stats", "/top month", "/stats today", "/me", "/words month"]):
        # A minute apart: one answer per chat and command per minute.
        ask(lake, fake, text, update_id=90_000 + i, later=61 * i)
    clock = Clock(NOW + 5)
    core = responder(lake["settings"], clock)
    command = private(90_100, date=NOW, sender=PEOPLE[0], text="/me week")
    store(lake["settings"], [command])
    core.handle(command)
    drain(core, clock)
    sent = fake.sent()
    assert len(sent) == 6
    for answer in sent:
        for name in NAMES:
            assert not re.search(rf"\b{re.escape(name)}\b", answer["text"]), answer["text"]
        assert "user-" not in answer["text"]  # not even the pseudonyms
    assert "names are not shown: this lake is pseudonymised" in sent[0]["text"]
    # The numbers are still those of the lake: the counts of the top posters (the
    # lake's own pseudonymised ids order ties, so compare the counts).
    want = expected(lake["settings"], "week")
    counts = re.findall(r"\d\. (\d+)", sent[0]["text"].split("Top posters: ")[1])
    assert [int(n) for n in counts] == [n for _, n in want["top"]]
    # /me found the asker through their pseudonym.
    assert "Your messages:" in sent[3]["text"] and "Your messages:" in sent[5]["text"]


def test_commands_for_other_bots_edits_and_unknown_commands_get_no_answer(
    lake: dict[str, Any], fake: Any
) -> None:
    settings = lake["settings"]
    clock = Clock(NOW + 2)
    core = responder(settings, clock)
    edited = message(90_003, date=NOW, sender=PEOPLE[0], text="/stats")
    edited["edited_message"] = edited.pop("message")
    for update in (
        message(90_001, date=NOW, sender=PEOPLE[0], text="/stats@other_bot"),
        message(90_002, date=NOW, sender=PEOPLE[0], text="/dance"),
        edited,
        message(90_004, date=NOW - 3600, sender=PEOPLE[0], text="/stats"),  # an hour late
        message(90_005, date=NOW, sender=PEOPLE[0], text="/stats@fake_lake_bot today"),
    ):
        core.handle(update)
    drain(core, clock)
    assert [m["reply_to"] for m in fake.sent()] == [90_005]


def test_filtered_groups_get_no_answer_but_private_chats_do(tmp_path: Path, fake: Any) -> None:
    settings = settings_for(tmp_path / "lake", fake, chat_ids=[OTHER_GROUP])
    clock = Clock(NOW)
    core = responder(settings, clock)
    fake.start_bot(PEOPLE[0]["id"])
    core.handle(message(1, date=NOW, sender=PEOPLE[0], text="/stats"), "filtered")
    core.handle(private(2, date=NOW, sender=PEOPLE[0], text="/help"), "filtered")
    drain(core, clock)
    assert [m["chat_id"] for m in fake.sent()] == [PEOPLE[0]["id"]]
    assert "/stats" in fake.sent()[0]["text"]


def test_the_time_now_is_the_answer_s_end(lake: dict[str, Any], fake: Any) -> None:
    # The heading says until when it counted, in the lake's zone.
    sent = ask(lake, fake, "/stats today")
    local = datetime.fromtimestamp(NOW + 2, UTC).astimezone(ZONE)
    assert f"today until {local:%H:%M} (Europe/Berlin)" in sent[0]["text"]


def entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram marks in a text (offsets and lengths in UTF-16 code units)."""
    kinds = {"#": "hashtag", "@": "mention", "h": "url"}
    found = []
    for match in re.finditer(r"#\w+|@\w+|https?://\S+", text):
        offset = len(text[: match.start()].encode("utf-16-le")) // 2
        length = len(match.group().encode("utf-16-le")) // 2
        found.append({"type": kinds[match.group()[0]], "offset": offset, "length": length})
    return found


def test_words_are_the_terms_table_over_the_period(lake: dict[str, Any], fake: Any) -> None:
    settings = lake["settings"]
    talk = ["café quente e pão de queijo 😂 #padaria", "o café acabou 😂😂 @ana_silva",
            "pão pão pão https://www.padaria.example/menu #padaria", "bom café 👍🏽"]  # fmt: skip
    said = [message(95_000 + i, date=NOW - 30 + i, sender=PEOPLE[i % 3], text=text)
            for i, text in enumerate(talk)]  # fmt: skip
    for update in said:
        update["message"]["entities"] = entities(update["message"]["text"])
    store(settings, said)
    sent = ask(lake, fake, "/words today")
    build(settings)
    start = datetime.fromtimestamp(windows("today")[0], ZONE).date()
    lines = sent[0]["text"].splitlines()
    assert lines[0] == "💬 Lake Friends, today until 14:07:"
    shown = {"word": ("Words", 10), "emoji": ("Emoji", 5), "hashtag": ("Hashtags", 5),
             "domain": ("Links", 3)}  # fmt: skip
    with Engine(settings.enriched_url) as engine:
        for kind, (heading, limit) in shown.items():
            rows = engine.query(
                f"SELECT term, sum(n) AS uses FROM telegram_terms WHERE chat_id = {GROUP} AND "
                f"kind = '{kind}' AND context_date >= DATE '{start}' GROUP BY term "
                f"ORDER BY uses DESC, term LIMIT {limit}"
            ).rows
            listed = ", ".join(f"{term} ({uses})" for term, uses in rows)
            assert f"{heading}: {listed}" in lines, (kind, lines)
    # Counted by hand: "o", "e", "de" are stop words; 👍🏽 is 👍; www. goes.
    assert "pão (4), café (3), acabou (1)" in lines[1] and "padaria" not in lines[1]
    assert "Emoji: 😂 (3), 👍 (1)" in lines and "Hashtags: #padaria (2)" in lines
    assert "Links: padaria.example (1)" in lines
    assert "ana_silva" not in sent[0]["text"]  # mentions are people: never listed


def test_words_say_so_when_the_lake_has_no_terms(
    lake: dict[str, Any], fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import telelake.responder.core as core_module

    monkeypatch.setattr(core_module, "words_available", lambda: False)
    sent = ask(lake, fake, "/words")
    assert "not available" in sent[0]["text"]

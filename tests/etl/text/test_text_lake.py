"""The text stage in real lakes: columns, terms and weekly topics through the ETL driver.

Real folders, the real driver (etl/runner.py); expected values follow from
the rules in telelake/etl/text/ applied by hand to messages written here.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow.parquet as pq
import pytest

from telelake.etl.layers import Layers
from telelake.etl.plan import Selection, plan
from telelake.etl.pseudonyms import Pseudonymizer
from telelake.etl.runner import run
from telelake.etl.text.weeks import pending_weeks
from telelake.lake import tables
from telelake.lake.changes import mark_dirty
from telelake.lake.layout import raw_key, table_key
from telelake.lake.storage import LocalStore
from telelake.lake.versions import BUILT_PREFIX, contract_id, record_key
from telelake.privacy import forget_user

MONDAY = date(2026, 3, 2)
WEEK = [MONDAY + timedelta(days=i) for i in range(7)]
CHAT = {"id": -100555, "type": "supergroup", "title": "Grupo"}
PIZZA = [1, 2, 3]  # people talking about pizza
SERVER = [4, 5, 6]  # people talking about the server
LONER = 9  # writes a word nobody else uses, in pizza messages


def epoch(day: date, second: int) -> int:
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()) + second


class Lake:
    def __init__(self, root: Path, pseudonyms: Pseudonymizer | None = None) -> None:
        self.raw, self.enriched = LocalStore(root / "raw"), LocalStore(root / "enriched")
        self.layers = Layers(self.raw, self.enriched, ZoneInfo("UTC"), pseudonyms)
        self.next_id = 1
        self.authors: dict[int, int] = {}

    def say(self, day: date, user: int, text: str, **extra: Any) -> int:
        update_id = message_id = self.next_id
        self.next_id += 1
        self.authors[message_id] = user
        message = {
            "message_id": message_id,
            "from": {"id": user, "is_bot": False, "first_name": f"Pessoa{user}"},
            "chat": CHAT,
            "date": epoch(day, message_id),
            "text": text,
            **extra,
        }
        body = orjson.dumps({"update_id": update_id, "message": message})
        self.raw.create(raw_key(update_id, day), body)
        mark_dirty(self.raw, day)
        return message_id

    def table(self, name: str, day: date) -> list[dict[str, Any]]:
        try:
            data = self.enriched.read(table_key(name, day))
        except FileNotFoundError:
            return []
        rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(data)).to_pylist()
        return rows

    def rows(self, name: str) -> list[dict[str, Any]]:
        return [row for day in WEEK for row in self.table(name, day)]


def two_subjects(lake: Lake, week: list[date] = WEEK) -> dict[str, list[int]]:
    """A week in which three people talk about pizza and three others about a server."""
    ids: dict[str, list[int]] = {"pizza": [], "server": [], "loner": []}
    for n, day in enumerate(week[:5]):
        for user in PIZZA:
            text = f"pizza de calabresa com queijo no forno hoje {n}"
            ids["pizza"].append(lake.say(day, user, text))
        for user in SERVER:
            text = f"o servidor de banco caiu e o backup falhou {n}"
            ids["server"].append(lake.say(day, user, text))
        ids["loner"].append(lake.say(day, LONER, "pizza queijo zebra zebra zebra"))
    return ids


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path)


def test_text_columns_and_terms_follow_the_latest_version(lake: Lake) -> None:
    message_id = lake.say(MONDAY, 1, "Que dia lindo 😍😍 #praia")
    edit = {
        "message_id": message_id,
        "from": {"id": 1, "is_bot": False, "first_name": "Pessoa1"},
        "chat": CHAT,
        "date": epoch(MONDAY, message_id),
        "edit_date": epoch(MONDAY, 500),
        "text": "Que dia horrível 😡 #praia",
        # UTF-16 units: "Que dia horrível " is 17, 😡 two, a space: the hashtag starts at 20.
        "entities": [{"type": "hashtag", "offset": 20, "length": 6}],
    }
    lake.raw.create(raw_key(99, MONDAY), orjson.dumps({"update_id": 99, "edited_message": edit}))
    run(lake.layers)
    (row,) = lake.table(tables.MESSAGES, MONDAY)
    assert (row["word_count"], row["emoji_count"], row["is_question"]) == (3, 1, False)
    assert row["sentiment"] < 0  # the edit's words, not the original's
    terms = {(r["kind"], r["term"]): r["n"] for r in lake.table(tables.TERMS, MONDAY)}
    # "que" and "dia" are Portuguese stop words (stopwords-iso); the language of a
    # 3-word message may be unknown: the fallback list (pt+en+es) has them too.
    assert terms == {("word", "horrível"): 1, ("emoji", "😡"): 1, ("hashtag", "#praia"): 1}
    assert {r["user_id"] for r in lake.table(tables.TERMS, MONDAY)} == {1}


def test_a_week_is_grouped_into_topics_labelled_by_words_several_people_share(
    lake: Lake,
) -> None:
    ids = two_subjects(lake)
    summary = run(lake.layers)
    rows = lake.table(tables.TOPICS, MONDAY)
    assert rows and all(r["chat_id"] == CHAT["id"] for r in rows)
    assert summary.weeks == {MONDAY: len(rows)} and summary.total(tables.TOPICS) == len(rows)
    topics = {r["topic"]: r for r in rows}
    assert sorted(topics) == [1, 2]
    by_message = {r["message_id"]: r["topic"] for r in rows}
    pizza_topic = by_message[ids["pizza"][0]]
    server_topic = by_message[ids["server"][0]]
    assert pizza_topic != server_topic
    assert all(by_message.get(m) == server_topic for m in ids["server"])
    assert all(by_message.get(m) == pizza_topic for m in ids["pizza"])
    assert "pizza" in topics[pizza_topic]["terms"] and "queijo" in topics[pizza_topic]["terms"]
    assert "servidor" in topics[server_topic]["terms"]
    # Only the loner writes "zebra": never a label, however often they write it.
    assert all("zebra" not in r["terms"] and "zebra" not in r["label"] for r in rows)
    for topic in topics.values():
        members = [r for r in rows if r["topic"] == topic["topic"]]
        assert topic["topic_messages"] == len(members)
        assert topic["topic_people"] == len({r["user_id"] for r in members})
        ranks = sorted(r["example_rank"] for r in members if r["example_rank"] is not None)
        assert ranks == [1, 2, 3]
        examples = [r for r in members if r["example_rank"] is not None]
        assert len({r["user_id"] for r in examples}) == 3  # different people first
    # Topic 1 is the biggest.
    assert topics[1]["topic_messages"] >= topics[2]["topic_messages"]
    assert pending_weeks(lake.enriched) == []


def test_a_changed_day_rebuilds_its_week_and_a_stopped_run_leaves_it_for_the_next(
    lake: Lake,
) -> None:
    two_subjects(lake)
    run(lake.layers)
    before = lake.table(tables.TOPICS, MONDAY)
    wednesday = WEEK[2]
    added = [lake.say(wednesday, u, "o servidor de banco voltou depois do backup") for u in SERVER]
    # A run whose time runs out after the date: the week stays marked, its topics as they were.
    left = iter([600.0])  # time for one date, then none
    run(lake.layers, time_left=lambda: next(left, 0.0), workers=1)
    assert pending_weeks(lake.enriched) == [MONDAY]
    assert lake.table(tables.TOPICS, MONDAY) == before
    run(lake.layers)  # nothing changed: only the week is built
    assert pending_weeks(lake.enriched) == []
    after = lake.table(tables.TOPICS, MONDAY)
    assert set(added) <= {r["message_id"] for r in after}
    server = next(r for r in after if r["message_id"] == added[0])
    assert server["topic_messages"] == len(SERVER) * 5 + len(added)


def test_the_same_raw_data_gives_the_same_bytes(tmp_path: Path) -> None:
    """Two weeks built twice: in one process, then on two (weeks built between dates)."""
    files = []
    for name, workers in (("one", 1), ("two", 2)):
        lake = Lake(tmp_path / name)
        two_subjects(lake)
        two_subjects(lake, [day + timedelta(days=7) for day in WEEK])
        run(lake.layers, Selection(everything=True), workers=workers)
        run(lake.layers, Selection(everything=True), workers=workers)
        root = tmp_path / name / "enriched"
        files.append(
            {
                str(p.relative_to(root)): p.read_bytes()
                for p in sorted(root.rglob("*.parquet"))
                if p.parts[-3] in (tables.TERMS, tables.TOPICS, tables.MESSAGES)
            }
        )
    assert files[0] == files[1]
    assert len([key for key in files[0] if tables.TOPICS in key]) == 2


def test_pseudonymised_lakes_keep_pseudonyms_and_forget_removes_terms_scores_and_examples(
    tmp_path: Path,
) -> None:
    pseudonyms = Pseudonymizer(b"k" * 32)
    lake = Lake(tmp_path, pseudonyms)
    two_subjects(lake)
    run(lake.layers)
    real = set(PIZZA + SERVER + [LONER])
    hidden = {pseudonyms.pseudonym(u) for u in real}
    for name in (tables.TERMS, tables.TOPICS):
        users = {r["user_id"] for r in lake.rows(name)}
        assert users and users <= hidden and not users & real, name
    gone = SERVER[0]
    theirs = {m for m, user in lake.authors.items() if user == gone}
    forget_user(lake.layers, gone)
    pseudonym = pseudonyms.pseudonym(gone)
    assert all(r["user_id"] != pseudonym for r in lake.rows(tables.TERMS))
    assert all(r["user_id"] != pseudonym for r in lake.rows(tables.TOPICS))
    assert all(r["user_id"] != pseudonym for r in lake.rows(tables.MESSAGES))
    remaining = {r["message_id"] for r in lake.rows(tables.MESSAGES)}
    assert {r["message_id"] for r in lake.rows(tables.TOPICS)} <= remaining
    assert not theirs & remaining  # their messages, and with them their scores, are gone


def test_a_lake_built_before_the_text_stage_gets_it_from_the_default_run(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_subjects(lake)
    with monkeypatch.context() as patch:
        patch.setenv("TELELAKE_TEXT", "0")  # as an older telelake wrote it: no text columns
        run(lake.layers)
    assert all(r["language"] is None for r in lake.rows(tables.MESSAGES))
    assert lake.rows(tables.TERMS) == [] and lake.table(tables.TOPICS, MONDAY) == []
    # As the telelake before the text stage recorded its builds: `telegram` at
    # version 1, no telegram_terms or telegram_topics in its contract.
    older = {name: table.version for name, table in tables.TABLES.items()}
    older[tables.MESSAGES] = 1
    del older[tables.TERMS], older[tables.TOPICS]
    for key in lake.enriched.list(BUILT_PREFIX):
        lake.enriched.delete(key)
    for day in WEEK[:5]:
        record = orjson.dumps({"tables": older}, option=orjson.OPT_SORT_KEYS)
        lake.enriched.create(record_key(day, contract_id(older)), record)
    assert plan(lake.raw, lake.enriched) == WEEK[:5]
    run(lake.layers)
    assert any(r["language"] == "pt" for r in lake.rows(tables.MESSAGES))
    assert lake.rows(tables.TERMS) and lake.table(tables.TOPICS, MONDAY)
    assert plan(lake.raw, lake.enriched) == []

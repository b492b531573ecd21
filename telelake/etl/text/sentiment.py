"""A message's sentiment in [-1, 1] from lexicons, VADER's way, for chat messages. Pure.

VADER (Hutto and Gilbert, 2014) scores a text by the valences of the words
it knows, raised by boosters ("muito", "very"), flipped by a negation in the
three words before ("não", "not"), shifted by "but" (words after it count
more), by ALL CAPS and by exclamation marks, and squashes the sum into
(-1, 1) with ``x / sqrt(x² + 15)``. This is the same rule set over
telelake's tokens, with what chat messages need on top: words looked up
without accents and with stretched letters shrunk ("ótimooo" is "otimo"),
laughter ("kkkk", "hahaha", "jajaja") as a positive word, and emoji as words
with a valence of their own (not flipped by a negation: "não 😂" still
laughs). A message with no word or emoji the lexicon knows has no score
(``None``), not a neutral one.
"""

from __future__ import annotations

import math
import re

from telelake.etl.text.resources import SENTIMENT_LANGUAGES, lexicons, plain

BOOST = 0.293  # VADER's B_INCR
CAPS = 0.733  # VADER's C_INCR
NEGATED = -0.74  # VADER's N_SCALAR
EXCLAMATION = 0.292
ALPHA = 15.0
LAUGH_VALENCE = 1.5

LAUGHTER = re.compile(
    r"(?:k{3,}|(?:ha|ah){2,}h?|(?:he|eh){2,}h?|(?:hi){3,}|(?:rs){2,}r?|(?:ja|aj){2,}j?|"
    r"(?:je){3,}|(?:hu){3,}|l+o+l+|lmf?a+o+|kk|ㅋ{2,}|ㅎ{2,})"
)
_STRETCH = re.compile(r"(.)\1{2,}")

NEGATIONS = {
    "pt": {"nao", "n", "ñ", "nem", "nunca", "jamais", "nada", "ninguem", "nenhum", "nenhuma",
           "sem", "tampouco"},
    "en": {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere",
           "without", "isnt", "isn't", "dont", "don't", "doesnt", "doesn't", "didnt", "didn't",
           "cant", "can't", "cannot", "wont", "won't", "wasnt", "wasn't", "arent", "aren't",
           "werent", "weren't", "shouldnt", "shouldn't", "wouldnt", "wouldn't", "couldnt",
           "couldn't", "havent", "haven't", "hasnt", "hasn't", "aint", "ain't", "nope"},
    "es": {"no", "nunca", "jamas", "nada", "nadie", "ningun", "ninguno", "ninguna", "sin",
           "tampoco", "ni"},
}  # fmt: skip
BOOSTERS = {
    "pt": {"muito": 1, "mto": 1, "mt": 1, "muita": 1, "super": 1, "mega": 1, "hiper": 1,
           "tao": 1, "bem": 1, "demais": 1, "bastante": 1, "extremamente": 1, "realmente": 1,
           "totalmente": 1, "completamente": 1, "absolutamente": 1, "mais": 1, "pouco": -1,
           "meio": -1, "quase": -1},
    "en": {"very": 1, "really": 1, "so": 1, "super": 1, "extremely": 1, "totally": 1,
           "absolutely": 1, "completely": 1, "incredibly": 1, "too": 1, "most": 1, "more": 1,
           "such": 1, "hella": 1, "kinda": -1, "barely": -1, "slightly": -1, "somewhat": -1,
           "little": -1},
    "es": {"muy": 1, "super": 1, "re": 1, "tan": 1, "demasiado": 1, "bastante": 1,
           "realmente": 1, "totalmente": 1, "mas": 1, "poco": -1, "casi": -1},
}  # fmt: skip
BUT = {"pt": {"mas", "porem", "contudo", "entretanto"}, "en": {"but"}, "es": {"pero", "sino"}}
# Unknown language (a short message): every list together.
for _table in (NEGATIONS, BUT):
    _table[""] = set().union(*_table.values())  # type: ignore[arg-type]
BOOSTERS[""] = {**BOOSTERS["en"], **BOOSTERS["es"], **BOOSTERS["pt"]}


# language -> key -> valence or None: chat words repeat, each is looked up once.
_VALENCES: dict[str, dict[str, float | None]] = {}
_CACHED = 500_000  # entries per cache at most
# A written word -> its lexicon key (lower case, no accents).
_KEYS: dict[str, str] = {}
_MISSING = object()


def _key(word: str) -> str:
    found = _KEYS.get(word)
    if found is None:
        found = plain(word.lower())
        if len(_KEYS) < _CACHED:
            _KEYS[word] = found
    return found


def _cached_valence(lang: str, key: str) -> float | None:
    """The valence of ``key`` in ``lang``'s lexicon, else in the others' (cached)."""
    cache = _VALENCES.get(lang)
    if cache is None:
        cache = _VALENCES[lang] = {}
    found = cache.get(key, _MISSING)
    if found is not _MISSING:
        return found  # type: ignore[return-value]
    words = lexicons().words
    valence = _valence(key, words[lang])
    if valence is None and lang:
        valence = _valence(key, words[""])
    if len(cache) < _CACHED:
        cache[key] = valence
    return valence


def _valence(word: str, lexicon: dict[str, float]) -> float | None:
    found = lexicon.get(word)
    if found is not None:
        return found
    if LAUGHTER.fullmatch(word):
        return LAUGH_VALENCE
    if _STRETCH.search(word):
        for shrunk in (_STRETCH.sub(r"\1", word), _STRETCH.sub(r"\1\1", word)):
            found = lexicon.get(shrunk)
            if found is not None:
                return found
            if LAUGHTER.fullmatch(shrunk):
                return LAUGH_VALENCE
    return None


def score(
    words: list[str],
    emoji: list[str],
    text: str,
    language: str | None,
    clauses: frozenset[int] = frozenset(),
) -> float | None:
    """The compound score of one message, or ``None`` when nothing in it carries sentiment.

    ``words`` in their written case and order; ``emoji`` as canonical terms;
    ``text`` the whole message (for exclamation marks); ``language`` its
    ISO 639-1 code (a language without a lexicon is scored by its emoji only);
    ``clauses`` the indices of words that start a clause: a negation or a
    booster reaches no further back than its clause (", absurdo" after "sem
    avisar" is not negated). A word the language's lexicon lacks is looked up
    in the others' (a short Portuguese message taken for Spanish still counts).
    """
    lang = language or ""
    known = lang in SENTIMENT_LANGUAGES or lang == ""
    tables = lexicons()
    total = 0.0
    found = False
    if known and words:
        negations, boosters, but = NEGATIONS[lang], BOOSTERS[lang], BUT[lang]
        written = _KEYS.get
        keys = [k if (k := written(w)) is not None else _key(w) for w in words]
        # Most words carry no valence: the words that do, found first, are all
        # the loop below visits (boosters and negations only modify others).
        cache = _VALENCES.get(lang) or {}
        hits: list[tuple[int, float]] = []
        for i, key in enumerate(keys):
            cached = cache.get(key, _MISSING)
            value = _cached_valence(lang, key) if cached is _MISSING else cached
            if value and key not in boosters and key not in negations:
                hits.append((i, value))  # type: ignore[arg-type]
        shouting, turn = False, -1
        if hits:
            # An all lower-case message (most of them) has no word in capitals.
            if not "".join(words).islower():
                shouting = any(w.isupper() for w in words) and not all(w.isupper() for w in words)
            if not but.isdisjoint(keys):
                turn = next(i for i, k in enumerate(keys) if k in but)
        for i, valence in hits:
            found = True
            sign = 1.0 if valence > 0 else -1.0
            if shouting and words[i].isupper() and len(words[i]) > 1:
                valence += sign * CAPS
            start = i
            while start > 0 and start not in clauses and i - start < 3:
                start -= 1
            for distance, decay in ((1, 1.0), (2, 0.95), (3, 0.9)):
                if i - distance < start:
                    break
                before = keys[i - distance]
                boost = boosters.get(before)
                if boost is not None:
                    valence += sign * boost * BOOST * decay
            if start < i and not negations.isdisjoint(keys[start:i]):
                valence *= NEGATED
            if turn >= 0:
                valence *= 0.5 if i < turn else 1.5 if i > turn else 1.0
            total += valence
    emoji_valences = tables.emoji
    for item in emoji:
        emoji_valence = emoji_valences.get(item)
        if emoji_valence:
            found = True
            total += emoji_valence
    if not found:
        return None
    if total:
        emphasis = min(text.count("!"), 4) * EXCLAMATION
        total += emphasis if total > 0 else -emphasis
    compound = total / math.sqrt(total * total + ALPHA)
    return round(max(-1.0, min(1.0, compound)), 4)

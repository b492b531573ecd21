"""The static embeddings: BERT's WordPiece cut, and sentence vectors as exact integer sums."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telelake.etl.text import embeddings
from telelake.etl.text.embeddings import SCALE, model, sentence_vectors, unit
from telelake.etl.text.wordpiece import basic_words


def test_wordpiece_cuts_as_bert_does() -> None:
    # The example of Google's BERT README (uncased): "John Johanson's house"
    # -> john johan ##son ' s house.
    pieces, _ = model()
    vocabulary = {index: token for token, index in pieces.ids.items()}
    assert basic_words("John Johanson's house") == ["john", "johanson", "'", "s", "house"]
    ids = pieces.text("John Johanson's house")
    assert [vocabulary[i] for i in ids] == ["john", "johan", "##son", "'", "s", "house"]
    # Accents go (NFD without marks), as BertTokenizer's do_lower_case does.
    assert basic_words("Ação Ótima") == ["acao", "otima"]


WORDS = st.lists(
    st.sampled_from(["pizza", "queijo", "servidor", "ação", "backup", "zzqx", "日本"]), max_size=5
)


@settings(max_examples=50, deadline=None)
@given(st.lists(WORDS, max_size=40), st.sampled_from([1, 3, 2048]))
def test_sentence_vectors_are_the_sums_of_their_token_vectors(
    messages: list[list[str]], block: int
) -> None:
    pieces, table = model()
    expected = []
    for words in messages:
        ids = [
            i
            for word in words
            for part in basic_words(word)
            for i in pieces.word(part)
            if i != pieces.unknown
        ]
        row = table[ids].astype(np.int64).sum(axis=0) if ids else np.zeros(table.shape[1], int)
        expected.append(row)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embeddings, "BLOCK", block)
        found = sentence_vectors(messages)
    assert found.shape == (len(messages), table.shape[1])
    if messages:
        assert np.array_equal(found, unit(np.stack(expected).astype(np.int64)))
    norms = np.sqrt((found.astype(np.float64) ** 2).sum(axis=1))
    assert all(n == 0 or abs(n - SCALE) < 8 for n in norms)


def test_related_words_are_closer_than_unrelated_ones() -> None:
    food, food2, it = sentence_vectors([["pizza", "cheese"], ["pasta", "cheese"], ["server"]])
    assert int(food @ food2) > int(food @ it)

"""One message's text -> language, sentiment, counts and terms, on cases worked out by hand."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from telelake.etl.text.analyze import analyze, domain_of
from telelake.etl.text.sentiment import score


def terms(text: str, **extra: list[str]) -> dict[tuple[str, str], int]:
    return {(kind, term): n for kind, term, n in analyze(text, **extra).terms}


def test_a_whole_emoji_counts_once_and_is_named_without_its_skin_tone() -> None:
    # 👍🏽 (thumbs up + medium skin tone), 👨‍👩‍👧 (three people joined by ZWJ),
    # 🇧🇷 (two regional indicators), 1️⃣ (keycap), 🏳️‍🌈 (flag + ZWJ + rainbow),
    # 👍 again: six emoji, five distinct; © and ™ alone are text, not emoji.
    text = "ok 👍🏽👨‍👩‍👧 🇧🇷 1️⃣ 🏳️‍🌈 👍 © ™"
    result = analyze(text)
    assert result.emoji_count == 6
    emoji = {term: n for (kind, term), n in terms(text).items() if kind == "emoji"}
    assert emoji == {"👍": 2, "👨\u200d👩\u200d👧": 1, "🇧🇷": 1, "1️⃣": 1, "🏳️\u200d🌈": 1}


def test_a_heart_with_or_without_its_selector_is_the_same_term() -> None:
    assert terms("❤") == terms("❤️") == {("emoji", "❤️"): 1}


def test_words_are_lower_case_without_stop_words_links_mentions_or_hashtags() -> None:
    text = "O Python é ótimo, o PYTHON! documentação https://docs.python.org/3/ #dados @ana_s"
    found = terms(
        text,
        hashtags=["#dados"],
        mentions=["@ana_s"],
        urls=["https://docs.python.org/3/"],
    )
    assert found == {
        ("word", "python"): 2,
        ("word", "ótimo"): 1,
        ("word", "documentação"): 1,
        ("hashtag", "#dados"): 1,
        ("mention", "@ana_s"): 1,
        ("domain", "docs.python.org"): 1,
    }
    # O, Python, é, ótimo, o, PYTHON, documentação: link, mention and hashtag are not words.
    found_all = analyze(
        text, hashtags=["#dados"], mentions=["@ana_s"], urls=["https://docs.python.org/3/"]
    )
    assert found_all.word_count == 7


def test_a_mention_the_text_does_not_show_is_not_a_term() -> None:
    # A text_mention names someone without a username in the text: Telegram adds one.
    assert ("mention", "@ghost") not in terms("oi Maria", mentions=["@ghost"])


def test_laughter_is_no_word_but_a_positive_signal() -> None:
    result = analyze("kkkkkkk")
    assert result.terms == [] and result.word_count == 1
    assert result.sentiment is not None and result.sentiment > 0


def test_domains_are_host_names() -> None:
    assert domain_of("https://www.YouTube.com/watch?v=1") == "youtube.com"
    assert domain_of("http://user@exemplo.com.br:8080/a") == "exemplo.com.br"
    assert domain_of("docs.python.org/3/library") == "docs.python.org"
    assert domain_of("https://t.me/dados#x") == "t.me"


def test_no_text_no_values() -> None:
    result = analyze(None)
    assert (result.language, result.sentiment, result.word_count, result.emoji_count) == (
        None, None, None, None,
    )  # fmt: skip


def test_a_short_text_has_no_language_and_a_text_without_signal_no_score() -> None:
    assert analyze("ok sim").language is None
    assert analyze("a reunião é às 15h na sala 2").sentiment is None


def test_vader_arithmetic_by_hand() -> None:
    # One English word of valence 3.1 ("great" in VADER's lexicon, as telelake
    # lists it): 3.1 / sqrt(3.1² + 15) = 0.6248.
    assert score(["great"], [], "great", "en") == round(3.1 / math.sqrt(3.1**2 + 15), 4)
    # Negated within its clause: 3.1 × -0.74 = -2.294 -> -0.5096.
    assert score(["not", "great"], [], "not great", "en") == round(
        -2.294 / math.sqrt(2.294**2 + 15), 4
    )
    # A clause break stops the negation: "no, great" is positive.
    assert score(["no", "great"], [], "no, great", "en", frozenset({1})) == round(
        3.1 / math.sqrt(3.1**2 + 15), 4
    )
    # One exclamation mark adds 0.292 in the direction of the sum.
    assert score(["great"], [], "great!", "en") == round(3.392 / math.sqrt(3.392**2 + 15), 4)


def test_portuguese_negation_and_emoji() -> None:
    assert (analyze("não gostei do filme").sentiment or 0) < 0
    assert (analyze("gostei muito do filme").sentiment or 0) > 0
    # An emoji is not negated: "não 😂" still laughs.
    assert (analyze("não 😂").sentiment or 0) > 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_values_in_range(text: str) -> None:
    result = analyze(text)
    assert result.sentiment is None or -1.0 <= result.sentiment <= 1.0
    assert result.word_count is not None and result.word_count >= 0
    assert result.emoji_count is not None and result.emoji_count >= 0
    assert result.language is None or (len(result.language) == 2 and result.language.islower())
    assert all(n >= 1 for _, _, n in result.terms)
    assert analyze(text) == result  # deterministic

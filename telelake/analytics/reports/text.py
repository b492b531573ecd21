"""What the group talks about and how it feels: terms, languages, sentiment, weekly topics.

Over ``telegram_terms``, the text columns of ``telegram`` and
``telegram_topics`` (telelake/etl/text/). Each report stays small enough for
the page: terms are each chat's most used ones, week by week; people are each
chat's 25 most active posters; messages behind a number are the few at
either end. Row order is total (ties broken by ids or terms) so Athena and
the local engine give the same rows; window functions rank over an
aggregate computed in a CTE first.
"""

from __future__ import annotations

import re

from telelake.analytics.reports.report import POSTERS_CTE, Report
from telelake.errors import UsageError

TOP_TERMS = 50  # per chat and kind, over the whole lake
TOP_POSTERS = 25
TERMS_PER_PERSON = 10
EXTREMES = 5  # most positive and most negative messages per chat and week
# Scores within this of zero count as neutral (VADER's own threshold).
NEUTRAL = 0.05

_TOP_TERMS = f"""\
WITH totals AS (
    SELECT chat_id, kind, term, sum(n) AS total
    FROM "telegram_terms"
    GROUP BY chat_id, kind, term),
ranked AS (
    SELECT chat_id, kind, term,
           row_number() OVER (PARTITION BY chat_id, kind ORDER BY total DESC, term) AS term_rank
    FROM totals)
SELECT date_trunc('week', t.context_date) AS week, t.chat_id, t.kind, t.term, r.term_rank,
       sum(t.n) AS uses, count(DISTINCT t.message_id) AS messages,
       count(DISTINCT t.user_id) AS people
FROM "telegram_terms" t
JOIN ranked r ON r.chat_id = t.chat_id AND r.kind = t.kind AND r.term = t.term
WHERE r.term_rank <= {TOP_TERMS}
GROUP BY date_trunc('week', t.context_date), t.chat_id, t.kind, t.term, r.term_rank
ORDER BY week, t.chat_id, t.kind, r.term_rank"""

_TOP_TERMS_PER_PERSON = f"""\
WITH {POSTERS_CTE},
uses AS (
    SELECT chat_id, user_id, kind, term, sum(n) AS uses, count(DISTINCT message_id) AS messages
    FROM "telegram_terms" WHERE user_id IS NOT NULL
    GROUP BY chat_id, user_id, kind, term),
ranked AS (
    SELECT chat_id, user_id, kind, term, uses, messages,
           row_number() OVER (PARTITION BY chat_id, user_id, kind ORDER BY uses DESC, term)
               AS term_rank
    FROM uses)
SELECT p.chat_id, p.poster_rank, p.user_id, p.name AS user_first_name, r.kind, r.term,
       r.term_rank, r.uses, r.messages
FROM posters p
JOIN ranked r ON r.chat_id = p.chat_id AND r.user_id = p.user_id
WHERE p.poster_rank <= {TOP_POSTERS} AND r.term_rank <= {TERMS_PER_PERSON}
ORDER BY p.chat_id, p.poster_rank, r.kind, r.term_rank"""

_LANGUAGES = """\
SELECT date_trunc('week', context_date) AS week, chat_id,
       coalesce(language, 'und') AS language, count(1) AS messages,
       count(DISTINCT user_id) AS people
FROM "telegram"
WHERE word_count IS NOT NULL
GROUP BY date_trunc('week', context_date), chat_id, coalesce(language, 'und')
ORDER BY week, chat_id, messages DESC, language"""

_SENTIMENT_PER_DAY = f"""\
SELECT context_date, chat_id, count(sentiment) AS scored,
       count_if(sentiment > {NEUTRAL}) AS positive,
       count_if(sentiment < -{NEUTRAL}) AS negative,
       count_if(sentiment BETWEEN -{NEUTRAL} AND {NEUTRAL}) AS neutral,
       round(avg(sentiment), 3) AS mean_sentiment
FROM "telegram"
WHERE sentiment IS NOT NULL
GROUP BY context_date, chat_id
ORDER BY context_date, chat_id"""

_SENTIMENT_PER_PERSON = f"""\
WITH {POSTERS_CTE},
scored AS (
    SELECT chat_id, user_id, message_id, sentiment, coalesce(text, caption) AS text,
           row_number() OVER (PARTITION BY chat_id, user_id
                              ORDER BY sentiment DESC, message_id) AS from_top,
           row_number() OVER (PARTITION BY chat_id, user_id
                              ORDER BY sentiment ASC, message_id) AS from_bottom
    FROM "telegram"
    WHERE sentiment IS NOT NULL AND user_id IS NOT NULL),
summary AS (
    SELECT chat_id, user_id, count(1) AS scored, round(avg(sentiment), 3) AS mean_sentiment,
           count_if(sentiment > {NEUTRAL}) AS positive,
           count_if(sentiment < -{NEUTRAL}) AS negative
    FROM scored
    GROUP BY chat_id, user_id)
SELECT p.chat_id, p.poster_rank, p.user_id, p.name AS user_first_name, s.scored,
       s.mean_sentiment, s.positive, s.negative,
       best.message_id AS most_positive_message_id, best.sentiment AS most_positive_sentiment,
       best.text AS most_positive_text,
       worst.message_id AS most_negative_message_id, worst.sentiment AS most_negative_sentiment,
       worst.text AS most_negative_text
FROM posters p
JOIN summary s ON s.chat_id = p.chat_id AND s.user_id = p.user_id
JOIN scored best ON best.chat_id = p.chat_id AND best.user_id = p.user_id AND best.from_top = 1
JOIN scored worst
  ON worst.chat_id = p.chat_id AND worst.user_id = p.user_id AND worst.from_bottom = 1
WHERE p.poster_rank <= {TOP_POSTERS}
ORDER BY p.chat_id, p.poster_rank"""

_SENTIMENT_EXTREMES = f"""\
WITH scored AS (
    SELECT date_trunc('week', context_date) AS week, chat_id, message_id, user_id,
           user_first_name, sentiment, coalesce(text, caption) AS text,
           row_number() OVER (PARTITION BY date_trunc('week', context_date), chat_id
                              ORDER BY sentiment DESC, message_id) AS from_top,
           row_number() OVER (PARTITION BY date_trunc('week', context_date), chat_id
                              ORDER BY sentiment ASC, message_id) AS from_bottom
    FROM "telegram"
    WHERE sentiment IS NOT NULL)
SELECT week, chat_id,
       CASE WHEN from_top <= {EXTREMES} AND sentiment > 0 THEN 'positive' ELSE 'negative' END
           AS side,
       CASE WHEN from_top <= {EXTREMES} AND sentiment > 0 THEN from_top ELSE from_bottom END
           AS side_rank,
       message_id, user_id, user_first_name, sentiment, text
FROM scored
WHERE (from_top <= {EXTREMES} AND sentiment > 0) OR (from_bottom <= {EXTREMES} AND sentiment < 0)
ORDER BY week, chat_id, side DESC, side_rank"""

_WEEKLY_TOPICS = """\
SELECT t.context_date AS week, t.chat_id, t.topic, t.label, t.topic_messages, t.topic_people,
       t.example_rank, t.message_id, m.user_first_name, coalesce(m.text, m.caption) AS text
FROM "telegram_topics" t
LEFT JOIN "telegram" m
  ON m.chat_id = t.chat_id AND m.message_id = t.message_id
 AND m.context_date BETWEEN t.context_date AND date_add('day', 6, t.context_date)
WHERE t.example_rank IS NOT NULL
ORDER BY week, t.chat_id, t.topic, t.example_rank"""

REPORTS: tuple[Report, ...] = (
    Report(
        "top_terms",
        "Top words, emoji, hashtags, mentions and domains",
        _TOP_TERMS,
        sort_keys=("week", "chat_id", "kind", "term_rank"),
        question=(
            f"Which words, emoji, hashtags, mentions and domains (each chat's {TOP_TERMS} most "
            "used of each kind) do people write, week by week?"
        ),
    ),
    Report(
        "top_terms_per_person",
        "Each person's words and emoji",
        _TOP_TERMS_PER_PERSON,
        sort_keys=("chat_id", "poster_rank", "kind", "term_rank"),
        question=(
            f"Which words, emoji, hashtags, mentions and domains does each of the "
            f"{TOP_POSTERS} most active posters use most ({TERMS_PER_PERSON} of each kind)?"
        ),
    ),
    Report(
        "languages",
        "Languages",
        _LANGUAGES,
        sort_keys=("week", "chat_id", "-messages", "language"),
        question="In which languages (ISO 639-1; 'und': too short to tell) do people write?",
    ),
    Report(
        "sentiment_per_day",
        "Sentiment per day",
        _SENTIMENT_PER_DAY,
        sort_keys=("context_date", "chat_id"),
        question=(
            "How does the group feel, day by day (positive, negative and neutral messages, "
            "mean score in [-1, 1])?"
        ),
    ),
    Report(
        "sentiment_per_person",
        "Sentiment per person",
        _SENTIMENT_PER_PERSON,
        sort_keys=("chat_id", "poster_rank"),
        question=(
            f"How does each of the {TOP_POSTERS} most active posters sound, and which of their "
            "messages are the most positive and the most negative?"
        ),
    ),
    Report(
        "sentiment_extremes",
        "The most positive and most negative messages",
        _SENTIMENT_EXTREMES,
        sort_keys=("week", "chat_id", "-side", "side_rank"),
        question=(
            f"Which messages are behind the mood: the {EXTREMES} most positive and "
            f"{EXTREMES} most negative of each chat's week?"
        ),
    ),
    Report(
        "weekly_topics",
        "What each week was about",
        _WEEKLY_TOPICS,
        sort_keys=("week", "chat_id", "topic", "example_rank"),
        question=(
            "What did each chat talk about each week (topics: messages grouped by meaning, "
            "labelled by words several people used, with examples)?"
        ),
    ),
)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _as_stored(term: str) -> str:
    """An emoji as ``telegram_terms`` stores it: "❤" and "👍🏽" are "❤️" and "👍".

    Where the text stage's packages are not installed (an install without
    them, or an image that leaves them out), skin tones are dropped and the
    term is otherwise kept as typed.
    """
    try:
        from telelake.lake.emoji_terms import canonical_emoji, emoji_table

        if emoji_table().pattern.fullmatch(term):
            return canonical_emoji(term)
    except ModuleNotFoundError:
        return re.sub("[\U0001f3fb-\U0001f3ff]", "", term) or term
    return term


def term_report(term: str) -> Report:
    """``term_over_time``: how often one term (any kind) was used, day by day, per chat.

    The term is matched as terms are stored: lower case, hashtags with their
    ``#``, mentions with their ``@``; it enters the SQL as a quoted literal.
    """
    wanted = term.strip().lower()
    if not wanted:
        raise UsageError("--term needs a word, an emoji, a #hashtag, an @mention or a domain")
    if not wanted.isascii():
        wanted = _as_stored(wanted)
    # A bare word also finds its hashtag: "python" counts "#python" too.
    forms = [wanted] if wanted[0] in "#@" or not wanted.isalnum() else [wanted, "#" + wanted]
    sql = f"""\
SELECT context_date, chat_id, kind, term, sum(n) AS uses,
       count(DISTINCT message_id) AS messages, count(DISTINCT user_id) AS people
FROM "telegram_terms"
WHERE term IN ({", ".join(_literal(form) for form in forms)})
GROUP BY context_date, chat_id, kind, term
ORDER BY context_date, chat_id, kind"""
    return Report(
        "term_over_time",
        f"Uses of {wanted!r} over time",
        sql,
        sort_keys=("context_date", "chat_id", "kind"),
        question="How often was this term used, day by day?",
    )

"""Charts of what the group talks about: words, emoji, hashtags, domains, a term over
time (with a search box), languages, sentiment and the week's topics.

The rows are the text reports' (analytics/reports/text.py): terms week by
week, so the page sums the weeks of the chosen range. The term search is a
Vega-Lite parameter bound to a text box in the chart itself: typing filters
the rows in the page (it searches each chat's most used terms, the rows the
page holds), and an image shows the most used words.
"""

from __future__ import annotations

from typing import Any

from telelake.report.charts import Chart
from telelake.report.specs.common import ROWS, day_axis, series, top_bars

Spec = dict[str, Any]


def _of_kind(kind: str, title: str, limit: int = 15) -> Spec:
    """The ``limit`` terms of one kind used most in the range."""
    spec = top_bars("term", "uses", title, limit=limit)
    spec["transform"].insert(0, {"filter": f"datum.kind == {kind!r}"})
    return spec


_TERM_OVER_TIME: Spec = {
    "data": ROWS,
    "width": "container",
    "height": 200,
    "params": [
        {
            "name": "search",
            "value": "",
            "bind": {"input": "text", "name": "Term ", "placeholder": "a word, emoji, #tag…"},
        }
    ],
    "transform": [
        # A pseudonymised lake's page holds no terms (report/dataset.py): no line.
        {"filter": "datum.term != null"},
        # Nothing typed: the five most used words; else every term containing it.
        {"joinaggregate": [{"op": "min", "field": "term_rank", "as": "best_rank"}],
         "groupby": ["term"]},
        {"filter": "search ? indexof(lower(datum.term), lower(search)) >= 0 : "
                   "datum.kind == 'word' && datum.best_rank <= 5"},
        {"aggregate": [{"op": "sum", "field": "uses", "as": "uses"}],
         "groupby": ["week", "term"]},
    ],
    "encoding": {
        "x": day_axis("week", "utcyearmonthdate"),
        "y": {"field": "uses", "type": "quantitative", "title": "uses per week"},
        # Each line is named at its last week rather than in a legend: a legend with
        # no entries (no rows left, as on a pseudonymised page) has empty bounds, and
        # Vega would size the whole chart from them (an SVG 1.8e308 pixels high).
        "color": {"field": "term", "type": "nominal", "title": None, "legend": None},
    },
    "layer": [
        {"mark": {"type": "line", "point": {"size": 22}, "tooltip": True}},
        {
            "transform": [
                {"window": [{"op": "row_number", "as": "latest"}], "groupby": ["term"],
                 "sort": [{"field": "week", "order": "descending"}]},
                {"filter": "datum.latest == 1"},
            ],
            "mark": {"type": "text", "align": "left", "dx": 6, "fontSize": 10, "limit": 90},
            "encoding": {"text": {"field": "term"}},
        },
    ],
}  # fmt: skip

_SENTIMENT_MEAN: Spec = {
    "data": ROWS,
    "width": "container",
    "height": 160,
    "transform": [
        {"calculate": "datum.mean_sentiment * datum.scored", "as": "weighted"},
        {"aggregate": [{"op": "sum", "field": "weighted", "as": "weighted"},
                       {"op": "sum", "field": "scored", "as": "scored"}],
         "groupby": ["context_date"]},
        {"calculate": "datum.scored ? datum.weighted / datum.scored : null", "as": "mean"},
    ],
    "mark": {"type": "line", "point": {"size": 18}, "tooltip": True},
    "encoding": {
        "x": day_axis(),
        "y": {"field": "mean", "type": "quantitative", "title": "mean sentiment (-1..1)",
              "scale": {"domain": [-1, 1]}},
    },
}  # fmt: skip

CHARTS: tuple[Chart, ...] = (
    Chart("top_words", "top_terms", _of_kind("word", "uses"), heading="Words", person=()),
    Chart("top_emoji", "top_terms", _of_kind("emoji", "uses"), heading="Emoji", person=()),
    Chart("top_hashtags", "top_terms", _of_kind("hashtag", "uses", 10), heading="Hashtags",
          person=()),
    Chart("top_domains", "top_terms", _of_kind("domain", "links", 10), heading="Links to",
          person=()),
    Chart("term_over_time", "top_terms", _TERM_OVER_TIME, heading="A term over time",
          person=()),
    Chart("person_words", "top_terms_per_person", _of_kind("word", "uses"),
          heading="Their words (each person's top 10, summed)"),
    Chart("languages", "languages", top_bars("language", "messages", "messages", limit=12),
          person=()),
    Chart("sentiment_per_day", "sentiment_per_day",
          series({"positive": "positive", "negative": "negative", "neutral": "neutral"}),
          heading="Scored messages", person=(), zoom=True),
    Chart("sentiment_mean", "sentiment_per_day", _SENTIMENT_MEAN, heading="Mean sentiment",
          person=()),
    Chart("sentiment_per_person", "sentiment_per_person",
          top_bars("user_name", "mean_sentiment", "mean sentiment", limit=25, op="mean"),
          heading="Mean sentiment of the most active posters"),
    Chart("weekly_topics", "weekly_topics",
          top_bars("label", "topic_messages", "messages", limit=12, op="max"),
          heading="The biggest topics of the range", person=()),
)  # fmt: skip

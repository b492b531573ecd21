"""Charts of reactions, edits, the period comparison and a person's week-by-week activity."""

from __future__ import annotations

from typing import Any

from telelake.report.charts import Chart
from telelake.report.specs.common import ROWS, daily_bars, top_bars

_WEEKLY: dict[str, Any] = {
    "data": ROWS,
    "width": "container",
    "height": 160,
    "mark": {"type": "bar", "tooltip": True},
    "encoding": {
        "x": {"field": "week", "type": "temporal", "timeUnit": "utcyearmonthdate",
              "title": "week of"},
        "y": {"aggregate": "sum", "field": "messages", "type": "quantitative",
              "title": "messages"},
    },
}  # fmt: skip

# Each measure's two periods side by side, each bar a share of the larger of
# the two (messages and new members differ a hundredfold), labelled with its
# number; the change in % is in the tooltip and, for this period, the label.
_CHANGE: dict[str, Any] = {
    "data": ROWS,
    "width": "container",
    "height": {"step": 34},
    "transform": [
        {
            "aggregate": [
                {"op": "sum", "field": "this_period", "as": "this_period"},
                {"op": "sum", "field": "previous_period", "as": "previous_period"},
            ],
            "groupby": ["measure"],
        },
        {"calculate": "datum.previous_period > 0 ? (datum.this_period - datum.previous_period)"
                      " / datum.previous_period : null", "as": "change"},
        {"calculate": "max(datum.this_period, datum.previous_period, 1)", "as": "larger"},
        {"fold": ["this_period", "previous_period"], "as": ["period", "value"]},
        {"calculate": "datum.period == 'this_period' ? 'this period' : 'the one before'",
         "as": "period"},
        {"calculate": "datum.value / datum.larger", "as": "share"},
        {"calculate": "format(datum.value, ',') + (datum.period == 'this period'"
                      " && datum.change != null ? ' (' + format(datum.change, '+.0%') + ')' : '')",
         "as": "label"},
    ],
    "encoding": {
        "y": {"field": "measure", "type": "nominal", "title": None,
              "sort": ["messages", "posters", "new_members", "replies", "reactions"]},
        "yOffset": {"field": "period", "sort": ["this period", "the one before"]},
        "x": {"field": "share", "type": "quantitative", "axis": None,
              "scale": {"domain": [0, 1.35]}},
        "color": {"field": "period", "type": "nominal", "title": None,
                  "sort": ["this period", "the one before"],
                  "scale": {"range": ["#2f6fdb", "#9bb7e8"]}},
        "tooltip": [
            {"field": "measure"}, {"field": "period"}, {"field": "value", "format": ","},
            {"field": "change", "title": "change", "format": "+.1%"},
        ],
    },
    "layer": [
        {"mark": {"type": "bar"}},
        {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 10},
         "encoding": {"text": {"field": "label"}, "color": {"value": "#555"}}},
    ],
}  # fmt: skip

CHARTS: tuple[Chart, ...] = (
    Chart("period_comparison", "period_comparison", _CHANGE, person=()),
    Chart(
        "top_reacted_authors",
        "top_reacted_authors",
        top_bars("user_name", "reactions_received", "reactions received"),
    ),
    Chart(
        "edits",
        "edits",
        daily_bars("edited", "edited messages", height=140),
        heading="Edited messages per day",
        person=(),
        zoom=True,
    ),
    Chart("person_activity", "person_activity", _WEEKLY, heading="Messages per week"),
    Chart(
        "people",
        "people",
        top_bars("user_name", "replies_received", "replies received"),
        heading="Most answered people",
    ),
)

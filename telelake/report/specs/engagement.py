"""Charts of engagement, retention and membership: who stays, who joins, how many there are."""

from __future__ import annotations

from typing import Any

from telelake.report.charts import Chart
from telelake.report.specs.common import BRUSH, ROWS, day_axis, series, top_bars

# Stickiness of the chosen chats: DAU / MAU of the sums, not the mean of ratios.
_STICKINESS: dict[str, Any] = {
    "data": ROWS,
    "width": "container",
    "height": 140,
    "transform": [
        {
            "aggregate": [
                {"op": "sum", "field": "dau", "as": "dau"},
                {"op": "sum", "field": "mau", "as": "mau"},
            ],
            "groupby": ["context_date"],
        },
        {"filter": "datum.mau > 0"},
        {"calculate": "datum.dau / datum.mau", "as": "stickiness"},
    ],
    "mark": {"type": "area", "line": True, "opacity": 0.3, "tooltip": True},
    "encoding": {
        "x": day_axis(),
        "y": {"field": "stickiness", "type": "quantitative", "title": "DAU / MAU",
              "axis": {"format": ".0%"}},
    },
}  # fmt: skip

_MEMBERS: dict[str, Any] = {
    "data": ROWS,
    "width": "container",
    "height": 180,
    "params": [BRUSH],
    "mark": {"type": "line", "point": {"size": 18}, "tooltip": True},
    "encoding": {
        "x": day_axis(),
        "y": {"field": "member_count", "type": "quantitative", "title": "members",
              "scale": {"zero": False}},
        "color": {"field": "chat_name", "type": "nominal", "title": None},
    },
}  # fmt: skip

# Weeks after the first post (columns) by cohort (rows), the share still posting.
_COHORTS: dict[str, Any] = {
    "data": ROWS,
    "width": "container",
    "height": {"step": 18},
    "transform": [
        {
            "aggregate": [
                {"op": "sum", "field": "active", "as": "active"},
                {"op": "sum", "field": "cohort_size", "as": "cohort_size"},
            ],
            "groupby": ["cohort_week", "weeks_after"],
        },
        {"calculate": "datum.active / datum.cohort_size", "as": "share"},
    ],
    "encoding": {
        "x": {"field": "weeks_after", "type": "ordinal", "title": "weeks after the first post",
              "axis": {"labelAngle": 0}},
        "y": {"field": "cohort_week", "type": "ordinal", "title": "first posted in the week of",
              "timeUnit": "utcyearmonthdate"},
    },
    "layer": [
        {
            "mark": {"type": "rect", "tooltip": True},
            "encoding": {
                "color": {"field": "share", "type": "quantitative", "title": "still posting",
                          "scale": {"domain": [0, 1], "scheme": "blues"}, "legend": None},
                "tooltip": [
                    {"field": "cohort_week", "title": "cohort", "timeUnit": "utcyearmonthdate"},
                    {"field": "weeks_after"},
                    {"field": "cohort_size", "title": "people"},
                    {"field": "active", "title": "posting"},
                    {"field": "share", "format": ".0%"},
                ],
            },
        },
        {
            "mark": {"type": "text", "fontSize": 9},
            "encoding": {
                "text": {"field": "share", "format": ".0%"},
                "color": {"condition": {"test": "datum.share > 0.5", "value": "white"},
                          "value": "#333"},
            },
        },
    ],
}  # fmt: skip

_INACTIVE = top_bars("user_name", "days_silent", "days without a message", limit=15, op="max")

_JOINS: dict[str, Any] = {
    "data": ROWS,
    "width": "container",
    "height": {"step": 22},
    "transform": [
        {"aggregate": [{"op": "sum", "field": "joins", "as": "joins"}], "groupby": ["source"]},
    ],
    "mark": {"type": "bar", "tooltip": True},
    "encoding": {
        "y": {"field": "source", "type": "nominal", "sort": "-x", "title": None,
              "axis": {"labelLimit": 220}},
        "x": {"field": "joins", "type": "quantitative", "title": "joins"},
    },
}  # fmt: skip

_ADMIN: dict[str, Any] = {
    "data": ROWS,
    "width": "container",
    "height": {"step": 22},
    "mark": {"type": "bar", "tooltip": True},
    "encoding": {
        "y": {"field": "actor_user_name", "type": "nominal", "sort": "-x", "title": None},
        "x": {"aggregate": "count", "type": "quantitative", "title": "actions"},
        "color": {"field": "action", "type": "nominal", "title": None},
    },
}

CHARTS: tuple[Chart, ...] = (
    Chart(
        "engagement",
        "engagement",
        series({"dau": "posted that day", "wau": "in the last 7 days", "mau": "in 30 days"}),
        heading="Distinct posters",
        person=(),
        zoom=True,
    ),
    Chart(
        "engagement:stickiness",
        "engagement",
        _STICKINESS,
        heading="Stickiness: daily posters / posters of the last 30 days",
        person=(),
    ),
    Chart(
        "posters_vs_members",
        "posters_vs_members",
        series({"member_count": "members", "posters_30d": "posted in the last 30 days"}),
        person=(),
        zoom=True,
    ),
    Chart(
        "retention_cohorts",
        "retention_cohorts",
        _COHORTS,
        person=(),
        notes=("share of each weekly cohort still posting",),
    ),
    Chart("inactive_members", "inactive_members", _INACTIVE, heading="Silent longest"),
    Chart("member_count", "member_count", _MEMBERS, person=(), zoom=True),
    Chart("joins_by_source", "joins_by_source", _JOINS, person=()),
    Chart(
        "top_inviters",
        "top_inviters",
        top_bars("user_name", "invited", "people brought in"),
    ),
    Chart(
        "admin_actions",
        "admin_actions",
        _ADMIN,
        heading="Actions by admin",
        person=("actor_user_id", "user_id"),
    ),
)

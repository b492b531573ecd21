"""Charts of who talks with whom: the reply network, pairs, response times, conversations.

The network is a Vega spec (Vega-Lite has no graph layout): people are
nodes sized by the replies they send and get, an arrow-less line joins two
people who answered each other, thicker with more replies; a static force
layout places them, so the picture is the same in the page and in a PNG.
Only the :data:`NETWORK_PEOPLE` busiest people are drawn.
"""

from __future__ import annotations

from typing import Any

from telelake.report.charts import VEGA_SCHEMA, Chart
from telelake.report.specs.common import ROWS, day_axis, top_bars

NETWORK_PEOPLE = 40

_NETWORK: dict[str, Any] = {
    "$schema": VEGA_SCHEMA,
    "width": 640,
    "height": 440,
    "padding": 8,
    "autosize": "none",
    "signals": [
        {"name": "cx", "update": "width / 2"},
        {"name": "cy", "update": "height / 2"},
    ],
    "data": [
        {"name": "rows"},
        {
            "name": "ends",
            "source": "rows",
            "transform": [
                {"type": "fold", "fields": ["user_id", "replied_to_user_id"], "as": ["end", "id"]},
                {"type": "formula", "as": "name",
                 "expr": "datum.end == 'user_id' ? datum.user_name : datum.replied_to_user_name"},
            ],
        },
        {
            "name": "nodes",
            "source": "ends",
            "transform": [
                {"type": "aggregate", "groupby": ["id", "name"], "fields": ["replies"],
                 "ops": ["sum"], "as": ["replies"]},
                {"type": "window", "ops": ["row_number"], "as": ["rank"],
                 "sort": {"field": ["replies", "id"], "order": ["descending", "ascending"]}},
                {"type": "filter", "expr": f"datum.rank <= {NETWORK_PEOPLE}"},
            ],
        },
        {
            "name": "links",
            "source": "rows",
            "transform": [
                {"type": "aggregate", "groupby": ["user_id", "replied_to_user_id"],
                 "fields": ["replies"], "ops": ["sum"], "as": ["replies"]},
                {"type": "lookup", "from": "nodes", "key": "id",
                 "fields": ["user_id", "replied_to_user_id"], "as": ["from", "to"]},
                {"type": "filter", "expr": "datum.from && datum.to"},
                # The force layout swaps these ids for the people's marks (their x, y).
                {"type": "formula", "as": "source", "expr": "datum.user_id"},
                {"type": "formula", "as": "target", "expr": "datum.replied_to_user_id"},
            ],
        },
    ],
    "scales": [
        {"name": "size", "type": "sqrt", "domain": {"data": "nodes", "field": "replies"},
         "zero": True, "range": [30, 700]},
        {"name": "weight", "type": "linear", "domain": {"data": "links", "field": "replies"},
         "zero": True, "range": [0.6, 6]},
    ],
    "marks": [
        {
            "name": "people",
            "type": "symbol",
            "zindex": 1,
            "from": {"data": "nodes"},
            "encode": {
                "enter": {"fill": {"value": "#2f6fdb"}, "stroke": {"value": "white"},
                          "strokeWidth": {"value": 1}},
                "update": {
                    "size": {"scale": "size", "field": "replies"},
                    "tooltip": {"signal": "datum.name + ': ' + datum.replies + ' replies'"},
                },
            },
            "transform": [
                {
                    "type": "force",
                    "iterations": 300,
                    "static": True,
                    "signal": "force",
                    "forces": [
                        {"force": "center", "x": {"signal": "cx"}, "y": {"signal": "cy"}},
                        {"force": "collide", "radius": 16},
                        {"force": "nbody", "strength": -140},
                        {"force": "link", "links": "links", "id": "datum.id", "distance": 80},
                    ],
                }
            ],
        },
        {
            "type": "path",
            "from": {"data": "links"},
            "interactive": False,
            "encode": {
                "update": {"stroke": {"value": "#8889"},
                           "strokeWidth": {"scale": "weight", "field": "replies"}},
            },
            "transform": [
                {"type": "linkpath", "require": {"signal": "force"}, "shape": "line",
                 "sourceX": "datum.source.x", "sourceY": "datum.source.y",
                 "targetX": "datum.target.x", "targetY": "datum.target.y"},
            ],
        },
        {
            "type": "text",
            "from": {"data": "people"},
            "interactive": False,
            "zindex": 2,
            "encode": {
                "update": {
                    "x": {"field": "x"},
                    "y": {"field": "y", "offset": -10},
                    "text": {"field": "datum.name"},
                    "align": {"value": "center"},
                    "fontSize": {"value": 10},
                    "fill": {"value": "#555"},
                    "limit": {"value": 110},
                },
            },
        },
    ],
}  # fmt: skip

# A resolved mention shows the person's name (a pseudonym in a pseudonymised
# lake, whose page carries no @handles); an unresolved one its @handle.
_MENTIONED = top_bars("mentioned", "mentions", "mentions")
_MENTIONED["transform"].insert(
    0,
    {
        "calculate": "datum.mentioned_user_id != null ? datum.mentioned_user_name"
        " : (datum.mentioned_username ? '@' + datum.mentioned_username : null)",
        "as": "mentioned",
    },
)

_RESPONSE = top_bars("user_name", "median_seconds", "median seconds to answer", op="max")
_RESPONSE["transform"].insert(0, {"filter": "datum.replies >= 1"})

_CONVERSATIONS: dict[str, Any] = {
    "data": ROWS,
    "width": "container",
    "height": 180,
    "params": [{"name": "brush", "select": {"type": "interval", "encodings": ["x"]}}],
    "mark": {"type": "bar", "tooltip": True},
    "encoding": {
        "x": day_axis(),
        "y": {"aggregate": "count", "type": "quantitative", "title": "conversations"},
    },
}

_STARTERS = top_bars("started_by_user_name", "one", "conversations started")
_STARTERS["transform"].insert(0, {"calculate": "1", "as": "one"})

_SILENCES: dict[str, Any] = {
    "data": ROWS,
    "width": "container",
    "height": {"step": 20},
    "transform": [
        {"calculate": "datum.silence_seconds / 3600", "as": "hours"},
        {"calculate": "datum.chat_name + ' #' + datum.silence_rank", "as": "silence"},
    ],
    "mark": {"type": "bar", "tooltip": True},
    "encoding": {
        "y": {"field": "silence", "type": "nominal", "sort": "-x", "title": None},
        "x": {"field": "hours", "type": "quantitative", "title": "hours of silence"},
        "tooltip": [
            {"field": "silent_from", "title": "from"},
            {"field": "silent_until", "title": "until"},
            {"field": "hours", "format": ".1f"},
            {"field": "broken_by_user_name", "title": "broken by"},
        ],
    },
}

CHARTS: tuple[Chart, ...] = (
    Chart(
        "reply_pairs:network",
        "reply_pairs",
        _NETWORK,
        heading="Reply network (the 40 busiest people)",
        grammar="vega",
        person=("user_id", "replied_to_user_id"),
    ),
    Chart(
        "reply_pairs:answers",
        "reply_pairs",
        top_bars("replied_to_user_name", "replies", "replies"),
        heading="Who gets answered (on a person's page: whom they answer)",
        person=("user_id",),
    ),
    Chart(
        "reply_pairs:answered_by",
        "reply_pairs",
        top_bars("user_name", "replies", "replies"),
        heading="Who answers (on a person's page: who answers them)",
        person=("replied_to_user_id",),
    ),
    Chart(
        "mention_pairs",
        "mention_pairs",
        _MENTIONED,
        heading="Most mentioned",
        person=("user_id", "mentioned_user_id"),
    ),
    Chart("response_times", "response_times", _RESPONSE, heading="Slowest medians first"),
    Chart(
        "conversations",
        "conversations",
        _CONVERSATIONS,
        heading="Conversations per day",
        person=(),
        zoom=True,
    ),
    Chart(
        "conversations:starters",
        "conversations",
        _STARTERS,
        heading="Who starts them",
        person=("started_by_user_id",),
    ),
    Chart(
        "longest_silences",
        "longest_silences",
        _SILENCES,
        person=(),
    ),
)

"""Building blocks of the chart specs: plain Vega-Lite dicts, composed by small functions.

Each returns a whole spec reading the named dataset ``rows`` (see
``report/charts.py``); the specs aggregate the rows themselves, so the page
can hand them whatever the chosen chat, dates and person leave. Days are
UTC calendar dates (``context_date`` is a date, not an instant), so no
viewer's time zone shifts them.
"""

from __future__ import annotations

from typing import Any

ROWS = {"name": "rows"}
# A drag across a time chart selects days; the page zooms its date range to them.
BRUSH = {"name": "brush", "select": {"type": "interval", "encodings": ["x"]}}
WEEKDAY_LABELS = "['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][datum.value]"
TOP = 10

Spec = dict[str, Any]


def day_axis(field: str = "context_date", unit: str = "utcyearmonthdate") -> Spec:
    return {"field": field, "type": "temporal", "timeUnit": unit, "title": None}


def daily_bars(field: str, title: str, height: int = 180) -> Spec:
    """One bar per day: the sum of ``field`` over the rows of the day."""
    return {
        "data": ROWS,
        "width": "container",
        "height": height,
        "params": [BRUSH],
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": day_axis(),
            "y": {"aggregate": "sum", "field": field, "type": "quantitative", "title": title},
        },
    }


def series(fields: dict[str, str], height: int = 200, *, zoom: bool = True) -> Spec:
    """One line per field (``{column: label}``), each the day's sum of that column."""
    labels = list(fields.values())
    spec: Spec = {
        "data": ROWS,
        "width": "container",
        "height": height,
        "transform": [
            *({"calculate": f"datum[{column!r}]", "as": label} for column, label in fields.items()),
            {"fold": labels, "as": ["series", "value"]},
            {
                "aggregate": [{"op": "sum", "field": "value", "as": "value"}],
                "groupby": ["context_date", "series"],
            },
        ],
        "mark": {"type": "line", "point": {"size": 18}, "tooltip": True},
        "encoding": {
            "x": day_axis(),
            "y": {"field": "value", "type": "quantitative", "title": None},
            "color": {"field": "series", "type": "nominal", "title": None, "sort": labels},
        },
    }
    if zoom:
        spec["params"] = [BRUSH]
    return spec


def top_bars(category: str, value: str, title: str, *, limit: int = TOP, op: str = "sum") -> Spec:
    """The ``limit`` largest ``category`` by the ``op`` of ``value``, as horizontal bars."""
    return {
        "data": ROWS,
        "width": "container",
        "height": {"step": 22},
        "transform": [
            {"filter": f"datum[{category!r}] != null"},
            {"aggregate": [{"op": op, "field": value, "as": "total"}], "groupby": [category]},
            {
                "window": [{"op": "row_number", "as": "rank"}],
                "sort": [{"field": "total", "order": "descending"}, {"field": category}],
            },
            {"filter": f"datum.rank <= {limit}"},
        ],
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": category, "type": "nominal", "sort": "-x", "title": None,
                  "axis": {"labelLimit": 180}},
            "x": {"field": "total", "type": "quantitative", "title": title},
        },
    }  # fmt: skip


def weekday_hour(weekday: str, hour: str, value: str, title: str) -> Spec:
    """Weekday (1 = Monday) by hour of the day, the colour the sum of ``value``."""
    return {
        "data": ROWS,
        "width": "container",
        "height": 170,
        "mark": {"type": "rect", "tooltip": True},
        "encoding": {
            "x": {"field": hour, "type": "ordinal", "title": "hour",
                  "scale": {"domain": list(range(24))}},
            "y": {"field": weekday, "type": "ordinal", "title": None,
                  "scale": {"domain": list(range(1, 8))}, "axis": {"labelExpr": WEEKDAY_LABELS}},
            "color": {"aggregate": "sum", "field": value, "type": "quantitative", "title": title,
                      "legend": None},
        },
    }  # fmt: skip

"""The chart image of an answer: a Vega-Lite spec, drawn to PNG without a browser.

Drawn by the report's chart framework (:func:`telelake.report.png.render_png`:
the page's look, ``vl-convert`` in-process, offline, no Chromium), so a chart
in the chat looks like the same chart on the page. This module only says what
the bot draws (:func:`bars`) and is the one place it asks for an image
(:func:`chart_png`): when drawing fails, or ``vl-convert`` is missing, the
answer goes out as text, never not at all.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("telelake.responder")

WIDTH, HEIGHT = 560, 260


def bars(
    values: list[tuple[str, int]], title: str, x_title: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A bar chart of ``(label, messages)`` in the given order: the spec and its rows."""
    spec = {
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"name": "rows"},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {
                "field": "label",
                "type": "ordinal",
                "sort": None,
                "title": x_title,
                "axis": {"labelAngle": -45 if len(values) > 12 else 0},
            },
            "y": {"field": "messages", "type": "quantitative", "title": "messages"},
        },
    }
    return spec, [{"label": label, "messages": n} for label, n in values]


def chart_png(chart: tuple[dict[str, Any], list[dict[str, Any]]]) -> bytes | None:
    """The PNG of a chart from :func:`bars`, or ``None`` when it cannot be drawn."""
    spec, rows = chart
    try:
        from telelake.report.png import render_png

        return render_png(spec, rows)
    except Exception as exc:  # the image is a bonus: its failure must not cost the answer
        log.warning("chart not drawn (%s: %s); answering with text only", type(exc).__name__, exc)
        return None

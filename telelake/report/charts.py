"""Charts: one declarative spec per chart, drawn in the page, as PNG/SVG, and in a notebook.

Every chart is a Vega-Lite spec (or, for what Vega-Lite cannot draw, such as
the force-directed network of who answers whom, a Vega spec) whose data is
the rows of one report: a named dataset ``rows``, one object per row, keys
the report's columns, plus readable names added beside the ids (below). The
spec does its own aggregation (``transform``), so the same spec and the same
rows give the same picture everywhere:

- in the page, the report's rows filtered by the chosen chat, dates and
  person are handed to the Vega runtime inlined in the page (offline, under
  the page's Content-Security-Policy: Vega's CSP-safe expression interpreter,
  no code built from strings);
- as PNG or SVG without a browser, through ``vl-convert`` (Vega and
  Vega-Lite compiled into a Rust binary): :func:`telelake.report.png.render_png`;
- in a notebook: :func:`notebook_chart` (JupyterLab and VS Code draw the
  Vega-Lite MIME bundle; ``altair.Chart.from_dict`` takes it too).

Names beside ids: for every column ``<x>user_id`` the rows get ``<x>user_name``
(the person's latest name, their pseudonym in a pseudonymised lake, else
``user <id>``), and ``chat_id`` gets ``chat_name``; specs encode those.

How to add a chart (a report of your own, e.g. ``terms``):

1. write its spec in a module of ``telelake/report/specs/`` (copy one of
   ``specs/activity.py``): ``{"data": {"name": "rows"}, "mark": ...,
   "encoding": ...}``, aggregating with ``transform`` what the page should sum
   over the chosen range;
2. list ``Chart(key="terms", report="terms", spec=...)`` in that module's
   ``CHARTS`` and the module in ``specs/__init__.py``. That is all: the page
   draws it under its report, ``report --png`` writes it, and
   ``render_png("terms", rows)`` renders it.

``Chart.person`` names the columns that tie a row to a person: on a person's
page the chart shows that person's rows only; a chart with none is hidden
there. ``Chart.zoom``: a time chart whose ``brush`` interval selection on x
zooms the page's date range.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from telelake.errors import UsageError

DATASET = "rows"
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
VEGA_SCHEMA = "https://vega.github.io/schema/vega/v6.json"
IMAGE_WIDTH = 640
Grammar = Literal["vega-lite", "vega"]
Target = Literal["page", "image"]

# The look shared by every chart: system fonts, a palette readable on light
# and dark backgrounds (the page's CSS recolours text and grid lines for dark
# mode; images are drawn on white).
PALETTE = ["#2f6fdb", "#e8743b", "#19a979", "#945ecf", "#c33f5b", "#13a4b4", "#bf8b12"]
_CONFIG: dict[str, Any] = {
    "font": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal",
             "gridColor": "#8884", "domainColor": "#8888", "tickColor": "#8888"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom"},
    "range": {"category": PALETTE, "ramp": {"scheme": "blues"}},
    "mark": {"color": PALETTE[0]},
    "bar": {"color": PALETTE[0]},
    "line": {"color": PALETTE[0]},
}  # fmt: skip
_BACKGROUND: dict[Target, str] = {"page": "transparent", "image": "white"}


@dataclass(frozen=True)
class Chart:
    """One chart: a spec fed by the rows of ``report``, shown under that report's card."""

    key: str
    report: str
    spec: Mapping[str, Any]
    heading: str = ""
    grammar: Grammar = "vega-lite"
    person: tuple[str, ...] = ("user_id",)
    zoom: bool = False
    notes: tuple[str, ...] = field(default=())


_REGISTRY: dict[str, Chart] = {}


def register(*charts: Chart) -> None:
    """Add charts; a key used twice is a mistake (:class:`ValueError`)."""
    for chart in charts:
        if chart.key in _REGISTRY and _REGISTRY[chart.key] != chart:
            raise ValueError(f"two charts are called {chart.key!r}")
        _REGISTRY[chart.key] = chart


def _loaded() -> dict[str, Chart]:
    # The specs register themselves when their package is imported.
    import telelake.report.specs  # noqa: F401

    return _REGISTRY


def all_charts() -> list[Chart]:
    """Every registered chart, in registration order."""
    return list(_loaded().values())


def charts_of(report: str) -> list[Chart]:
    """The charts drawn from ``report``'s rows, in order."""
    return [chart for chart in _loaded().values() if chart.report == report]


def get_chart(name: str) -> Chart:
    """The chart called ``name``, else the first chart of the report called ``name``."""
    charts = _loaded()
    if name in charts:
        return charts[name]
    for chart in charts.values():
        if chart.report == name:
            return chart
    raise UsageError(f"no chart called {name!r} and no report with a chart of that name")


def _sized(spec: Mapping[str, Any], grammar: Grammar, target: Target) -> dict[str, Any]:
    out = copy.deepcopy(dict(spec))
    if grammar == "vega-lite":
        out.setdefault("$schema", VEGA_LITE_SCHEMA)
        if target == "image" and out.get("width") == "container":
            out["width"] = IMAGE_WIDTH
    else:
        out.setdefault("$schema", VEGA_SCHEMA)
        out["background"] = _BACKGROUND[target]
    return out


@cache
def _compiled(text: str, grammar: Grammar, target: Target) -> str:
    spec = json.loads(text)
    if grammar == "vega":
        return text
    import vl_convert

    config = {**_CONFIG, "background": _BACKGROUND[target]}
    return json.dumps(vl_convert.vegalite_to_vega(spec, config=config), sort_keys=True)


def vega_spec(chart: Chart | Mapping[str, Any], target: Target = "page") -> dict[str, Any]:
    """The Vega spec the runtime draws (Vega-Lite compiled once, then cached), no data yet."""
    if isinstance(chart, Chart):
        spec, grammar = chart.spec, chart.grammar
    else:
        spec, grammar = chart, grammar_of(chart)
    text = json.dumps(_sized(spec, grammar, target), sort_keys=True)
    result: dict[str, Any] = json.loads(_compiled(text, grammar, target))
    return result


def grammar_of(spec: Mapping[str, Any]) -> Grammar:
    """A bare spec's grammar: Vega when its ``$schema`` says so, else Vega-Lite."""
    schema = str(spec.get("$schema", ""))
    return "vega" if "/schema/vega/" in schema else "vega-lite"


def with_rows(vega: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``vega`` with ``rows`` as the values of its ``rows`` dataset."""
    out = dict(vega)
    data = []
    for entry in vega.get("data", []):
        if entry.get("name") == DATASET:
            entry = {**entry, "values": list(rows)}
        data.append(entry)
    out["data"] = data
    return out


def name_of(user_id: Any, names: Mapping[Any, str]) -> str | None:
    if user_id is None:
        return None
    return names.get(user_id) or names.get(str(user_id)) or f"user {user_id}"


def with_names(
    rows: Iterable[Mapping[str, Any]],
    names: Mapping[Any, str] | None = None,
    chats: Mapping[Any, str] | None = None,
) -> list[dict[str, Any]]:
    """Rows with ``<x>user_name`` beside every ``<x>user_id`` and ``chat_name`` beside
    ``chat_id`` (the page does the same in its script)."""
    people, titles = names or {}, chats or {}
    out = []
    for row in rows:
        named = dict(row)
        for column, value in row.items():
            if column.endswith("user_id"):
                named[column[: -len("id")] + "name"] = name_of(value, people)
        if "chat_id" in row:
            chat = row["chat_id"]
            named["chat_name"] = titles.get(chat) or titles.get(str(chat)) or f"chat {chat}"
        out.append(named)
    return out


def as_records(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Result rows (tuples) as objects, values made JSON-ready (dates as ISO text)."""
    from telelake.report.dataset import plain

    return [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def inline_spec(
    chart: Chart | str,
    rows: Sequence[Mapping[str, Any]],
    names: Mapping[Any, str] | None = None,
    chats: Mapping[Any, str] | None = None,
) -> dict[str, Any]:
    """The chart's own spec (Vega-Lite or Vega) with ``rows`` inlined as its data."""
    found = get_chart(chart) if isinstance(chart, str) else chart
    spec = _sized(found.spec, found.grammar, "image")
    values = with_names(rows, names, chats)
    if found.grammar == "vega-lite":
        spec["data"] = {"values": values}
        spec.setdefault("config", {**_CONFIG, "background": "white"})
        return spec
    return with_rows(spec, values)


class NotebookChart:
    """A chart for Jupyter: displays itself from its Vega-Lite (or Vega) MIME bundle."""

    def __init__(self, spec: dict[str, Any], grammar: Grammar) -> None:
        self.spec = spec
        self.grammar = grammar

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        kind = "vegalite.v6" if self.grammar == "vega-lite" else "vega.v6"
        return {f"application/vnd.{kind}+json": self.spec, "text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"<telelake chart ({self.grammar})>"


def notebook_chart(
    chart: Chart | str,
    rows: Sequence[Mapping[str, Any]],
    names: Mapping[Any, str] | None = None,
) -> NotebookChart:
    """The chart with its rows, to show in a notebook cell."""
    found = get_chart(chart) if isinstance(chart, str) else chart
    return NotebookChart(inline_spec(found, rows, names), found.grammar)

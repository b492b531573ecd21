"""Charts as PNG or SVG images without a browser: the page's own specs, drawn by vl-convert.

``vl-convert-python`` carries Vega and Vega-Lite compiled into one native
library (no Chromium, no Node.js, no network), so a bot, a Lambda or
``telelake report --png`` draws exactly the chart the page draws, from the
same spec (``report/charts.py``) and the same rows. Specs may not load
anything: data URLs are refused (``allowed_base_urls=[]``).

For others: :func:`render_png` ``(chart_or_report, rows) -> bytes`` is the one
call; ``rows`` are a query :class:`~telelake.analytics.engine.Result` or a
list of ``{column: value}`` objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from telelake.analytics.engine import Result
from telelake.errors import StorageError, UsageError
from telelake.report.charts import (
    Chart,
    as_records,
    charts_of,
    get_chart,
    grammar_of,
    vega_spec,
    with_names,
    with_rows,
)
from telelake.report.dataset import TEXT_COLUMNS

SCALE = 2.0

Rows = Result | Sequence[Mapping[str, Any]]


def _records(rows: Rows) -> list[dict[str, Any]]:
    if isinstance(rows, Result):
        return as_records(rows.columns, rows.rows)
    return [dict(row) for row in rows]


def _drawable(
    chart: Chart | Mapping[str, Any] | str,
    rows: Rows,
    names: Mapping[Any, str] | None,
    chats: Mapping[Any, str] | None,
) -> dict[str, Any]:
    """The compiled Vega spec of ``chart`` with ``rows`` (named) as its data."""
    found: Chart | Mapping[str, Any] = get_chart(chart) if isinstance(chart, str) else chart
    if not isinstance(found, Chart) and grammar_of(found) == "vega-lite":
        found = {**found, "data": {"name": "rows"}}
    return with_rows(vega_spec(found, "image"), with_names(_records(rows), names, chats))


def render_png(
    chart: Chart | Mapping[str, Any] | str,
    rows: Rows,
    *,
    names: Mapping[Any, str] | None = None,
    chats: Mapping[Any, str] | None = None,
    scale: float = SCALE,
) -> bytes:
    """One chart as PNG bytes.

    ``chart``: a registered chart's key, or a report's name (its first chart),
    or a :class:`Chart`, or a bare Vega-Lite/Vega spec whose data is named
    ``rows``. ``names`` maps user ids to names and ``chats`` chat ids to
    titles (else ``user <id>``, ``chat <id>``); ``scale`` 2 is sharp on slides.
    """
    import vl_convert

    try:
        drawable = _drawable(chart, rows, names, chats)
        png: bytes = vl_convert.vega_to_png(drawable, scale=scale, allowed_base_urls=[])
    except ValueError as exc:
        raise UsageError(f"cannot draw {_label(chart)}: {_reason(exc)}") from None
    return png


def render_svg(
    chart: Chart | Mapping[str, Any] | str,
    rows: Rows,
    *,
    names: Mapping[Any, str] | None = None,
    chats: Mapping[Any, str] | None = None,
) -> str:
    """One chart as an SVG document (same arguments as :func:`render_png`)."""
    import vl_convert

    try:
        drawable = _drawable(chart, rows, names, chats)
        svg: str = vl_convert.vega_to_svg(drawable, allowed_base_urls=[])
    except ValueError as exc:
        raise UsageError(f"cannot draw {_label(chart)}: {_reason(exc)}") from None
    return svg


def _label(chart: Chart | Mapping[str, Any] | str) -> str:
    if isinstance(chart, Chart):
        return f"chart {chart.key}"
    return f"chart {chart}" if isinstance(chart, str) else "the chart"


def _reason(exc: Exception) -> str:
    """vl-convert's first line that says something (its first is "... conversion failed:")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if not line.endswith("failed:") and not line.startswith("at ")]
    return (useful or lines or [type(exc).__name__])[0]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def write_pngs(
    sections: Sequence[tuple[Any, Result]],
    folder: str | Path,
    *,
    names: Mapping[Any, str] | None = None,
    chats: Mapping[Any, str] | None = None,
    scale: float = SCALE,
    pseudonymised: bool = False,
) -> list[Path]:
    """Every chart of ``sections`` (reports and their rows) as ``NN-<chart>.png`` in
    ``folder``, in page order; reports without rows are skipped. The files written.
    ``pseudonymised``: leave people's text and @handles out, as the page does."""
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {target}: {exc.strerror or exc}") from exc
    written: list[Path] = []
    index = 0
    for report, result in sections:
        if not result.rows:
            continue
        for chart in charts_of(report.name):
            index += 1
            path = target / f"{index:02d}-{_slug(chart.key)}.png"
            rows = _records(result)
            if pseudonymised:
                rows = [{k: None if k in TEXT_COLUMNS else v for k, v in r.items()} for r in rows]
            data = render_png(chart, rows, names=names, chats=chats, scale=scale)
            try:
                path.write_bytes(data)
            except OSError as exc:
                raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
            written.append(path)
    return written

"""The built-in reports as one self-contained HTML page, readable on a phone.

The page must open anywhere, offline, and leak nothing: no script, no
external style, font or image, and a Content-Security-Policy that forbids
loading any. Charts are SVG drawn here in Python and styled by the inline
CSS, so they follow the page's light or dark colours and scale with the
screen. Every piece of text from the lake (names can hold markup, quotes,
any script) goes through :func:`_esc`.
"""

from __future__ import annotations

import html
import os
import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from telelake.analytics.engine import Result
from telelake.analytics.output import format_value
from telelake.analytics.reports import Report
from telelake.errors import StorageError, UsageError

MAX_ROWS = 50
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # ISO 1..7, as Athena's dow
TOP_USERS = 10
_MAX_DAY_SPAN = 3660  # beyond ten years of bars, draw only the days that have messages
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_CSS = """
:root { color-scheme: light dark; --fg: #1f2933; --muted: #637381; --bg: #ffffff;
  --line: #d9dee3; --accent: #2f6fde; --empty: #eef1f4; }
@media (prefers-color-scheme: dark) { :root { --fg: #e4e7eb; --muted: #9aa5b1;
  --bg: #16191d; --line: #333a42; --accent: #6c9ef8; --empty: #23282e; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 0; }
h2 { font-size: 1.25rem; margin: 0 0 0.5rem; }
.subtitle, .meta, footer { color: var(--muted); }
nav ul { padding-left: 1.2rem; }
section { border-top: 1px solid var(--line); padding: 1rem 0; }
svg { display: block; width: 100%; height: auto; margin: 0.5rem 0; }
svg text { fill: currentColor; font-size: 11px; }
.bar, .cell { fill: var(--accent); }
.cell.zero { fill: var(--empty); }
.axis { stroke: var(--line); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9rem; min-width: 100%; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.null { color: var(--muted); font-style: italic; }
caption { caption-side: bottom; text-align: left; color: var(--muted); padding-top: 0.3rem; }
details { margin-top: 0.5rem; }
pre { overflow-x: auto; padding: 0.6rem; border: 1px solid var(--line); font-size: 0.85rem; }
"""


def _esc(value: object) -> str:
    """Text safe inside HTML and SVG elements and attributes."""
    return html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)


def _values(result: Result, column: str) -> list[Any] | None:
    if column not in result.columns:
        return None
    index = result.columns.index(column)
    return [row[index] for row in result.rows]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


# --- charts ----------------------------------------------------------------


def _daily_bars(result: Result) -> str | None:
    """Messages per day as vertical bars, days without messages included as gaps."""
    days, amounts = _values(result, "context_date"), _values(result, "message_amount")
    if days is None or amounts is None:
        return None
    counts: dict[date, int] = {}
    for day, amount in zip(days, amounts, strict=True):
        if isinstance(day, date) and _is_int(amount):
            counts[day] = counts.get(day, 0) + amount
    if not counts:
        return None
    first, last = min(counts), max(counts)
    span = (last - first).days + 1
    axis = sorted(counts) if span > _MAX_DAY_SPAN else [first + timedelta(i) for i in range(span)]
    top = max(max(counts.values()), 1)
    width, height, left, right, top_pad, bottom = 720, 240, 48, 8, 12, 28
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    slot = plot_w / len(axis)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Bar chart of messages per day">',
        f'<line class="axis" x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}" '
        f'y2="{top_pad + plot_h}"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top:,}</text>',
        f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end">0</text>',
    ]
    for index, day in enumerate(axis):
        value = counts.get(day, 0)
        bar_h = plot_h * value / top
        x = left + index * slot + slot * 0.1
        y = top_pad + plot_h - bar_h
        parts.append(
            f'<rect class="bar" x="{x:.2f}" y="{y:.2f}" width="{max(slot * 0.8, 0.5):.2f}" '
            f'height="{bar_h:.2f}"><title>{_esc(day.isoformat())}: '
            f"{_esc(_plural(value, 'message'))}</title></rect>"
        )
    label_y = height - 8
    parts.append(f'<text x="{left}" y="{label_y}">{_esc(axis[0].isoformat())}</text>')
    if len(axis) > 1:
        parts.append(
            f'<text x="{width - right}" y="{label_y}" text-anchor="end">'
            f"{_esc(axis[-1].isoformat())}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _top_users(result: Result) -> str | None:
    """The users who wrote the most messages over the whole period, as horizontal bars."""
    ids, names = _values(result, "user_id"), _values(result, "user_first_name")
    amounts = _values(result, "message_amount")
    if ids is None or names is None or amounts is None:
        return None
    totals: dict[Any, int] = {}
    labels: dict[Any, str] = {}
    for user_id, name, amount in zip(ids, names, amounts, strict=True):
        if not _is_int(amount):
            continue
        totals[user_id] = totals.get(user_id, 0) + amount
        if user_id not in labels or (not labels[user_id] and name):
            labels[user_id] = str(name) if name else ""
    if not totals:
        return None
    ranked = sorted(totals.items(), key=lambda item: (-item[1], str(item[0])))[:TOP_USERS]
    top = max(ranked[0][1], 1)
    width, row_h, label_w, right = 720, 24, 190, 56
    height = row_h * len(ranked) + 4
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Bar chart of the users with the most messages">'
    ]
    for index, (user_id, total) in enumerate(ranked):
        label = labels.get(user_id) or ("no sender" if user_id is None else f"user {user_id}")
        short = label if len(label) <= 24 else label[:23] + "…"
        y = index * row_h + 2
        bar_w = (width - label_w - right) * total / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{_esc(short)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{bar_w:.2f}" '
            f'height="{row_h - 6}"><title>{_esc(label)}: {_esc(_plural(total, "message"))}'
            f"</title></rect>"
            f'<text x="{label_w + bar_w + 6:.2f}" y="{y + 16}">{total:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _heatmap(result: Result) -> str | None:
    """Messages by weekday (rows, Mon..Sun) and hour of day in UTC (columns), all weeks summed."""
    hours = _values(result, "parsed_date_hour")
    weekdays = _values(result, "parsed_date_weekday")
    amounts = _values(result, "message_amount")
    if hours is None or weekdays is None or amounts is None:
        return None
    grid: dict[tuple[int, int], int] = {}
    for hour, weekday, amount in zip(hours, weekdays, amounts, strict=True):
        valid = _is_int(hour) and _is_int(weekday) and _is_int(amount)
        if valid and 0 <= hour <= 23 and 1 <= weekday <= 7:
            grid[(weekday, hour)] = grid.get((weekday, hour), 0) + amount
    if not grid:
        return None
    top = max(max(grid.values()), 1)
    cell_w, cell_h, left, top_pad = 26, 22, 40, 18
    width, height = left + 24 * cell_w + 4, top_pad + 7 * cell_h + 4
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Heatmap of messages by weekday and hour (UTC)">'
    ]
    for hour in range(0, 24, 3):
        x = left + hour * cell_w + cell_w / 2
        parts.append(f'<text x="{x:.1f}" y="12" text-anchor="middle">{hour:02d}h</text>')
    for weekday in range(1, 8):
        y = top_pad + (weekday - 1) * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{WEEKDAYS[weekday - 1]}</text>'
        )
        for hour in range(24):
            value = grid.get((weekday, hour), 0)
            style = "cell zero" if value == 0 else "cell"
            opacity = "" if value == 0 else f' fill-opacity="{0.15 + 0.85 * value / top:.3f}"'
            parts.append(
                f'<rect class="{style}" x="{left + hour * cell_w + 1}" y="{y + 1}" '
                f'width="{cell_w - 2}" height="{cell_h - 2}"{opacity}><title>'
                f"{WEEKDAYS[weekday - 1]} {hour:02d}:00-{hour:02d}:59 UTC: "
                f"{_esc(_plural(value, 'message'))}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


_CHARTS: dict[str, Callable[[Result], str | None]] = {
    "messages_per_day": _daily_bars,
    "messages_per_user_per_day": _top_users,
    "messages_per_hour_weekday_week": _heatmap,
}


# --- page ------------------------------------------------------------------


def _table(result: Result, max_rows: int) -> str:
    rows = result.rows[:max_rows]
    numeric = []
    for index in range(len(result.columns)):
        values = [row[index] for row in rows if row[index] is not None]
        numeric.append(bool(values) and all(_is_int(v) or isinstance(v, float) for v in values))
    css = [' class="num"' if flag else "" for flag in numeric]
    head = "".join(f"<th{css[i]}>{_esc(column)}</th>" for i, column in enumerate(result.columns))
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if value is None:
                cells.append('<td class="null">NULL</td>')
            else:
                cells.append(f"<td{css[i]}>{_esc(format_value(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    total = len(result.rows)
    shown = f"first {len(rows):,} of {total:,} rows" if len(rows) < total else _plural(total, "row")
    return (
        f'<div class="scroll"><table><caption>{shown}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _section(report: Report, result: Result, max_rows: int) -> str:
    chart = _CHARTS.get(report.name)
    svg = chart(result) if chart is not None else None
    parts = [f'<section id="{_esc(report.name)}"><h2>{_esc(report.title)}</h2>']
    if not result.rows:
        parts.append('<p class="meta">No rows yet.</p>')
    else:
        if svg is not None:
            parts.append(svg)
        parts.append(_table(result, max_rows))
    parts.append(
        f"<details><summary>SQL ({_esc(report.dialect)})</summary>"
        f"<pre><code>{_esc(report.sql)}</code></pre></details></section>"
    )
    return "".join(parts)


def render_html(
    sections: list[tuple[Report, Result]],
    *,
    title: str,
    subtitle: str = "",
    max_rows: int = MAX_ROWS,
) -> str:
    """The whole page: a chart and the first ``max_rows`` rows of each report, and its SQL."""
    nav = "".join(
        f'<li><a href="#{_esc(report.name)}">{_esc(report.title)}</a></li>'
        for report, _ in sections
    )
    subtitle_html = f'<p class="subtitle">{_esc(subtitle)}</p>' if subtitle else ""
    body = "\n".join(_section(report, result, max_rows) for report, result in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{_esc(title)}</h1>{subtitle_html}</header>\n"
        f"<nav><ul>{nav}</ul></nav>\n{body}\n"
        "<footer><p>Made by telelake. Hours are UTC.</p></footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def write_html(path: str | Path, html: str) -> None:
    """Write the page atomically: readers see the old file or the new one, never half."""
    target = Path(path)
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {target}: folder {target.parent} does not exist")
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(html)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {target}: {exc.strerror or exc}") from exc

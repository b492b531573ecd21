"""The built-in reports as one self-contained HTML page, readable on a phone.

The page must open anywhere, offline, and leak nothing: its style and script
are inlined (package files in ``assets/``: the Vega runtime and the page's
own script), the reports' rows and the charts' Vega specs sit in a JSON
``<script>`` element, and a Content-Security-Policy allows exactly those two
inline blocks (by hash) and nothing else: no request can leave the page, and
no code can be built from strings (Vega runs with its CSP-safe expression
interpreter). The script draws the charts and tables in the browser, so the
chat selector, the date range and the person picker filter them without a
server. Text from the lake reaches the page only through escaped HTML here,
``textContent`` in the script, or Vega's text marks (drawn as SVG text).
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import uuid
from functools import cache
from importlib import resources
from pathlib import Path

from telelake.analytics.engine import Result
from telelake.analytics.reports import Report
from telelake.errors import StorageError, UsageError
from telelake.report.charts import charts_of
from telelake.report.dataset import build_payload, script_json

MAX_ROWS = 100
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The Vega runtime (BSD-3-Clause, see VEGA-LICENSE.txt), its CSP-safe expression
# interpreter, then the page's own script.
_SCRIPTS = ("vega.min.js", "vega-interpreter.min.js", "report.js")

# Notes beside a report's title.
BADGES: dict[str, tuple[str, ...]] = {
    "messages_per_day": ("all chats",),
    "messages_per_user_per_day": ("all chats",),
    "average_length_per_user_per_day": ("all chats",),
    "messages_per_hour_weekday_week": ("all chats", "whole period", "UTC"),
    "top_posters": ("25 most active per chat",),
    "reply_pairs": ("whole period",),
    "mention_pairs": ("whole period",),
    "response_times": ("whole period",),
    "longest_silences": ("whole period",),
    "top_inviters": ("whole period",),
    "top_reacted_messages": ("whole period",),
    "top_reacted_authors": ("whole period",),
    "people": ("whole period",),
    "inactive_members": ("as of the lake's last day",),
    "period_comparison": ("last 30 days",),
}

_LOGO = (
    '<svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><circle class="s0" cx="16" '
    'cy="16" r="15"/><path d="M6 14c3-3 6-3 10 0s7 3 10 0M6 20c3-3 6-3 10 0s7 3 10 0" '
    'fill="none" stroke="#fff" stroke-width="2.2" stroke-linecap="round"/></svg>'
)


def _esc(value: object) -> str:
    """Text safe inside HTML elements and attributes."""
    return html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)


@cache
def asset(name: str) -> str:
    """One of the page's style or script files, shipped inside the package."""
    return resources.files("telelake.report").joinpath("assets", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(style: str, script: str) -> str:
    """Only this page's own inline style and script run; nothing may be fetched."""
    return (
        f"default-src 'none'; style-src {_sha256(style)}; script-src {_sha256(script)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _section(report: Report, result: Result) -> str:
    badges = "".join(f'<span class="badge">{_esc(b)}</span>' for b in BADGES.get(report.name, ()))
    charts = charts_of(report.name)
    parts = [
        f'<section class="card" id="r-{_esc(report.name)}" data-report="{_esc(report.name)}">',
        f"<h2>{_esc(report.title)}{badges}</h2>",
    ]
    if report.question:
        parts.append(f'<p class="question">{_esc(report.question)}</p>')
    if not result.rows:
        parts.append('<p class="meta">No rows yet.</p>')
    for chart in charts if result.rows else ():
        title = f"<h3>{_esc(chart.heading)}</h3>" if chart.heading else ""
        parts.append(f'<div class="chart" data-chart="{_esc(chart.key)}">{title}</div>')
    # A report without a chart shows the start of its table instead.
    opened, limit = (" open", ' data-limit="12"') if not charts and result.rows else ("", "")
    parts.append(
        f"<details{opened}><summary>Data ({len(result.rows):,} rows)</summary>"
        f'<div class="table" data-report="{_esc(report.name)}"{limit}></div></details>'
        f"<details><summary>SQL ({_esc(report.dialect)})</summary>"
        f"<pre><code>{_esc(report.sql)}</code></pre></details></section>"
    )
    return "".join(parts)


def _controls(chats: list[list[object]], first: str | None, last: str | None) -> str:
    options = ['<option value="all">All chats</option>']
    for chat_id, title, _type, _messages in chats:
        label = title or f"chat {chat_id}"
        options.append(f'<option value="{_esc(chat_id)}">{_esc(label)}</option>')
    bounds = f' min="{_esc(first)}" max="{_esc(last)}"' if first and last else ""
    return (
        '<form class="controls" id="controls" aria-label="Filters">'
        f'<label>Chat<select id="chat">{"".join(options)}</select></label>'
        f'<label>From<input type="date" id="from" value="{_esc(first or "")}"{bounds}></label>'
        f'<label>To<input type="date" id="to" value="{_esc(last or "")}"{bounds}></label>'
        '<button type="button" id="reset">All dates</button>'
        '<label class="person">Person<input type="search" id="person" list="people" '
        'placeholder="search by name" autocomplete="off"></label>'
        '<datalist id="people"></datalist>'
        '<button type="button" id="everyone" hidden>Everyone</button></form>'
    )


def render_html(
    sections: list[tuple[Report, Result]],
    *,
    title: str,
    subtitle: str = "",
    timezone: str | None = None,
    max_rows: int = MAX_ROWS,
    pseudonymised: bool = False,
) -> str:
    """The whole page: KPIs, a chart or table per report and its SQL, with filters."""
    payload = build_payload(
        sections, timezone=timezone, table_rows=max_rows, pseudonymised=pseudonymised
    )
    style = asset("report.css")
    script = "\n".join(asset(name) for name in _SCRIPTS)
    nav = "".join(
        f'<a href="#r-{_esc(report.name)}">{_esc(report.title)}</a>' for report, _ in sections
    )
    cards = "\n".join(_section(report, result) for report, result in sections)
    subtitle_html = f'<p class="subtitle">{_esc(subtitle)}</p>' if subtitle else ""
    zone = f"Local hours are in {_esc(timezone)}. " if timezone else ""
    empty = "" if payload["first_day"] else '<p class="meta">The lake has no messages yet.</p>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" '
        f'content="{content_security_policy(style, script)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_esc(title)}</title>\n<style>{style}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{_LOGO}{_esc(title)}</h1>{subtitle_html}</header>\n"
        f"{_controls(payload['chats'], payload['first_day'], payload['last_day'])}\n"
        f'{empty}<div id="kpis" class="kpis"></div>\n'
        '<section class="card person-card" id="person-card" hidden></section>\n'
        f"<nav>{nav}</nav>\n"
        f'<div class="grid">\n{cards}\n</div>\n'
        "<noscript><p>The charts and tables of this page are drawn by its script; "
        "enable JavaScript to see them.</p></noscript>\n"
        f"<footer><p>Made by telelake. {zone}Drag across a time chart to zoom in; "
        "double-click it or press <em>All dates</em> to zoom out. Pick a person to see "
        "every chart of theirs. Charts drawn with Vega (BSD-3-Clause).</p></footer>\n"
        '<div id="tip" role="tooltip"></div>\n</main>\n'
        f'<script type="application/json" id="telelake-data">{script_json(payload)}</script>\n'
        f"<script>{script}</script>\n</body>\n</html>\n"
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

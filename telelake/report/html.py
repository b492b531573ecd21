"""The built-in reports as one self-contained HTML page, readable on a phone.

The page must open anywhere, offline, and leak nothing: its style and script
are inlined (package files in ``assets/``), the reports' rows sit in a JSON
``<script>`` element, and a Content-Security-Policy allows exactly those two
inline blocks (by hash) and nothing else: no request can leave the page. The
script draws the charts and tables in the browser, so the chat selector and
the date range filter them without a server. Text from the lake reaches the
page only through escaped HTML here or ``textContent`` in the script.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from telelake.analytics.engine import Result
from telelake.analytics.reports import Report
from telelake.errors import StorageError, UsageError
from telelake.report.dataset import build_payload, script_json

MAX_ROWS = 100
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASSETS = ("report.css", "charts.js", "report.js")


@dataclass(frozen=True)
class Layout:
    """How a report shows on the page: its charts (key, heading) and notes beside its title."""

    charts: tuple[tuple[str, str], ...] = ()
    badges: tuple[str, ...] = ()


LAYOUTS: dict[str, Layout] = {
    "messages_per_day": Layout((("messages_per_day", ""),), ("all chats",)),
    "messages_per_user_per_day": Layout(
        (("messages_per_user_per_day", "Most messages in the range"),), ("all chats",)
    ),
    "average_length_per_user_per_day": Layout((), ("all chats",)),
    "messages_per_hour_weekday_week": Layout(
        (("messages_per_hour_weekday_week", "All weeks summed"),),
        ("all chats", "whole period", "UTC"),
    ),
    "chats": Layout(()),
    "daily_active_users": Layout((("daily_active_users", ""),)),
    "messages_by_content_type": Layout((("messages_by_content_type", ""),)),
    "top_posters": Layout((("top_posters", ""),), ("25 most active per chat",)),
    "activity_heatmap": Layout((("activity_heatmap", ""),)),
    "members_joined_left": Layout((("members_joined_left", ""),)),
    "replies_and_threads": Layout(
        (
            ("replies_and_threads", "Per day"),
            ("replies_and_threads:wait", "Median minutes to a reply, per chat"),
        )
    ),
    "reactions": Layout((("reactions", ""),)),
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


def _section(report: Report, result: Result, layout: Layout) -> str:
    badges = "".join(f'<span class="badge">{_esc(b)}</span>' for b in layout.badges)
    parts = [
        f'<section class="card" id="r-{_esc(report.name)}" data-report="{_esc(report.name)}">',
        f"<h2>{_esc(report.title)}{badges}</h2>",
    ]
    if report.question:
        parts.append(f'<p class="question">{_esc(report.question)}</p>')
    if not result.rows:
        parts.append('<p class="meta">No rows yet.</p>')
    for key, heading in layout.charts if result.rows else ():
        title = f"<h3>{_esc(heading)}</h3>" if heading else ""
        parts.append(f'<div class="chart" data-chart="{_esc(key)}">{title}</div>')
    # A report without a chart shows the start of its table instead.
    opened, limit = (" open", ' data-limit="12"') if not layout.charts and result.rows else ("", "")
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
        '<button type="button" id="reset">All dates</button></form>'
    )


def render_html(
    sections: list[tuple[Report, Result]],
    *,
    title: str,
    subtitle: str = "",
    timezone: str | None = None,
    max_rows: int = MAX_ROWS,
) -> str:
    """The whole page: KPIs, a chart or table per report and its SQL, with filters."""
    payload = build_payload(sections, timezone=timezone, table_rows=max_rows)
    style = asset("report.css")
    script = asset("charts.js") + "\n" + asset("report.js")
    nav = "".join(
        f'<a href="#r-{_esc(report.name)}">{_esc(report.title)}</a>' for report, _ in sections
    )
    cards = "\n".join(
        _section(report, result, LAYOUTS.get(report.name, Layout())) for report, result in sections
    )
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
        f'{empty}<div id="kpis" class="kpis"></div>\n<nav>{nav}</nav>\n'
        f'<div class="grid">\n{cards}\n</div>\n'
        "<noscript><p>The charts and tables of this page are drawn by its script; "
        "enable JavaScript to see them.</p></noscript>\n"
        f"<footer><p>Made by telelake. {zone}Drag across a time chart to zoom in; "
        "double-click it or press <em>All dates</em> to zoom out.</p></footer>\n"
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

"""``telelake report``: the built-in reports in the terminal and as an HTML page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from telelake.cli.app import ConfigFile, Enriched, Lake, app, resolve_settings, stderr
from telelake.config import Settings


@app.command()
def report(
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML page here.")
    ] = None,
    name: Annotated[
        list[str] | None, typer.Option("--name", help="Run only this report (repeatable).")
    ] = None,
    list_reports: Annotated[
        bool, typer.Option("--list", help="List the built-in reports and exit.")
    ] = False,
    max_rows: Annotated[int, typer.Option(help="Rows shown per report in the terminal.")] = 20,
    lake: Lake = None,
    enriched: Enriched = None,
    config: ConfigFile = None,
) -> None:
    """Run the built-in reports: messages per day, per user per day, average
    length per user per day, and messages per hour x weekday x week.

    Example: telelake report --html lake/report.html
    """
    from telelake.analytics.reports import REPORTS, get_report

    if list_reports:
        for item in REPORTS:
            typer.echo(f"{item.name}\t{item.title}")
        return
    settings = resolve_settings(config, lake=lake, enriched=enriched)
    chosen = [get_report(n) for n in name] if name else list(REPORTS)
    print_reports(settings, chosen, html, max_rows)


def print_reports(settings: Settings, chosen: list[Any], html: Path | None, max_rows: int) -> None:
    from telelake.analytics.engine import Engine
    from telelake.analytics.output import write_result
    from telelake.analytics.reports import run_report
    from telelake.report.html import render_html, write_html

    sections = []
    with Engine(settings.enriched_url) as engine:
        for item in chosen:
            result = run_report(engine, item)
            sections.append((item, result))
            typer.echo(f"\n== {item.title} ==")
            write_result(result, "table", sys.stdout, max_rows=max_rows)
    if html is not None:
        page = render_html(
            sections, title="telelake report", subtitle=f"lake: {settings.enriched_url}"
        )
        write_html(html, page)
        stderr.print(f"HTML report written to {html}")

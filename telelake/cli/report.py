"""``telelake report``: the built-in reports in the terminal, as an HTML page and as PNGs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from telelake.cli.app import ConfigFile, Enriched, Lake, Raw, app, resolve_settings, stderr
from telelake.config import Settings


@app.command(rich_help_panel="Query and report")
def report(
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the self-contained HTML dashboard here."),
    ] = None,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Also write each chart as a PNG into this folder (Chromium)."),
    ] = None,
    name: Annotated[
        list[str] | None, typer.Option("--name", help="Print only this report (repeatable).")
    ] = None,
    list_reports: Annotated[
        bool,
        typer.Option("--list", help="List the built-in reports and the question each answers."),
    ] = False,
    max_rows: Annotated[int, typer.Option(help="Rows shown per report in the terminal.")] = 20,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print no tables (with --html or --png).")
    ] = False,
    lake: Lake = None,
    raw: Raw = None,
    enriched: Enriched = None,
    config: ConfigFile = None,
) -> None:
    """Run the built-in reports (the original four first); --html writes a dashboard.

    The original four: messages per day, per user per day, average length, hour
    x weekday x week; then daily active posters, content types, top posters, a
    local-time heatmap, members joining and leaving, replies and response time,
    reactions. `--list` names them all.

    The HTML page and the PNGs always hold every report; --name picks what is
    printed.

    Example: telelake report --html lake/report.html --png slides/
    """
    from telelake.analytics.reports import REPORTS, get_report

    if list_reports:
        for item in REPORTS:
            typer.echo(f"{item.name}\t{item.title}\t{item.question}")
        return
    settings = resolve_settings(config, lake=lake, raw=raw, enriched=enriched)
    chosen = [get_report(n) for n in name] if name else list(REPORTS)
    if png is not None:
        from telelake.report.png import check_browser

        check_browser(settings.chromium)  # one line before any work when Chromium is missing
    print_reports(settings, chosen, html, max_rows, png=png, quiet=quiet)


def print_reports(
    settings: Settings,
    chosen: list[Any],
    html: Path | None,
    max_rows: int,
    *,
    png: Path | None = None,
    quiet: bool = False,
) -> None:
    """Print ``chosen`` reports; write the page (every report) to ``html`` and charts to ``png``."""
    from telelake.analytics.engine import Engine
    from telelake.analytics.output import write_result
    from telelake.report.build import lake_zone, page_sections, render_page, run_reports
    from telelake.report.html import write_html

    with Engine(settings.enriched_url) as engine:
        printed = run_reports(engine, chosen)
        sections = page_sections(engine, printed) if html or png else []
        zone = lake_zone(engine, settings)
    if not quiet:
        for item, result in printed:
            typer.echo(f"\n== {item.title} ==")
            write_result(result, "table", sys.stdout, max_rows=max_rows)
    if not sections:
        return
    page = render_page(sections, settings, zone)
    if html is not None:
        write_html(html, page)
        stderr.print(f"HTML report written to {html}")
    if png is not None:
        from telelake.report.png import write_pngs

        written = write_pngs(page, png, chromium=settings.chromium)
        stderr.print(f"{len(written)} chart images written to {png}")

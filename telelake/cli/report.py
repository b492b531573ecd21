"""``telelake report``: the built-in reports in the terminal or as CSV/JSON, a page, PNGs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from telelake.cli.app import (
    ConfigFile,
    Enriched,
    Lake,
    Raw,
    app,
    require_layer,
    resolve_settings,
    stderr,
)
from telelake.config import Settings
from telelake.errors import UsageError


@app.command(rich_help_panel="Query and report")
def report(
    name: Annotated[
        list[str] | None, typer.Option("--name", help="Print only this report (repeatable).")
    ] = None,
    term: Annotated[
        list[str] | None,
        typer.Option(
            "--term",
            help="Print one term's use day by day: a word, emoji, #hashtag, @mention or "
            "domain (repeatable; e.g. --term python --term 🔥).",
        ),
    ] = None,
    output: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="Output: table, csv or json (one object per line; one --name)."
        ),
    ] = "table",
    since: Annotated[
        str | None, typer.Option(help="First day (YYYY-MM-DD) of the messages and events used.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last day (YYYY-MM-DD) of the messages and events used.")
    ] = None,
    chat: Annotated[int | None, typer.Option("--chat", help="Only this chat id.")] = None,
    days: Annotated[
        int | None,
        typer.Option(help="inactive_members: silent for at least this many days (default 30)."),
    ] = None,
    gap: Annotated[
        int | None,
        typer.Option(help="conversations: minutes of silence that end one (default 30)."),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the self-contained HTML dashboard here."),
    ] = None,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Also write each chart as a PNG into this folder."),
    ] = None,
    show_sql: Annotated[
        bool, typer.Option("--sql", help="Print the Athena SQL that runs, instead of its rows.")
    ] = False,
    list_reports: Annotated[
        bool,
        typer.Option("--list", help="List the built-in reports and the question each answers."),
    ] = False,
    max_rows: Annotated[
        int | None, typer.Option(help="Rows shown per report (table format; default 20).")
    ] = None,
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
    x weekday x week; then activity (posters, content, heatmap, joins, replies,
    reactions), interaction (who answers whom, mentions, response times,
    conversations, silences), engagement (DAU/WAU/MAU, members, this period vs
    the previous), retention (cohorts, inactive members), membership (member
    count, joins by source, inviters, admin actions), reactions and edits, and
    people. `--list` names them all.

    --since/--until/--chat restrict the messages and events the reports read
    (reports that need history, such as new posters or DAU/MAU, read the days
    before too and keep their rows from --since on). The HTML page and the PNGs
    hold every report in that scope; --name picks what is printed.

    Example: telelake report --name reply_pairs --format csv --since 2026-01-01 --chat -100123
    """
    from telelake.analytics.output import FORMATS
    from telelake.analytics.reports import REPORTS, get_report
    from telelake.analytics.reports.scope import Scope, scoped
    from telelake.lake.layout import parse_date

    if list_reports:
        for item in REPORTS:
            typer.echo(f"{item.name}\t{item.title}\t{item.question}")
        return
    if output not in FORMATS:
        raise UsageError(f"unknown output format {output!r}; choose one of: {', '.join(FORMATS)}")
    from telelake.analytics.reports.text import term_report

    chosen = [get_report(n) for n in name] if name else [] if term else list(REPORTS)
    chosen += [term_report(t) for t in term or ()]
    if output != "table" and len(chosen) != 1:
        raise UsageError(f"--format {output} prints one report: name it with --name")
    scope = Scope(
        since=parse_date(since) if since else None,
        until=parse_date(until) if until else None,
        chat=chat,
        days=days,
        gap_minutes=gap,
    )
    if show_sql:
        for item in chosen:
            typer.echo(f"-- {item.name}\n{scoped(item, scope).sql};\n")
        return
    settings = resolve_settings(config, lake=lake, raw=raw, enriched=enriched)
    require_layer(settings.enriched_url, "enriched")
    print_reports(
        settings,
        chosen,
        html,
        max_rows,
        png=png,
        quiet=quiet,
        output=output,
        scope=scope,
    )


def print_reports(
    settings: Settings,
    chosen: list[Any],
    html: Path | None,
    max_rows: int | None,
    *,
    png: Path | None = None,
    quiet: bool = False,
    output: str = "table",
    scope: Any = None,
) -> None:
    """Print ``chosen`` reports; write the page (every report) to ``html`` and charts to ``png``."""
    from telelake.analytics.engine import Engine
    from telelake.analytics.output import write_result
    from telelake.report.build import (
        is_pseudonymised,
        lake_zone,
        lookups,
        page_sections,
        render_page,
        run_reports,
    )
    from telelake.report.html import write_html

    with Engine(settings.enriched_url) as engine:
        printed = run_reports(engine, chosen, scope)
        sections = page_sections(engine, printed, scope) if html or png else []
        zone = lake_zone(engine, settings)
        pseudonymised = is_pseudonymised(engine)
    if not quiet:
        for item, result in printed:
            if output == "table":
                typer.echo(f"\n== {item.title} ==")
                shown = 20 if max_rows is None else max_rows
                write_result(result, "table", sys.stdout, max_rows=shown)
            else:
                write_result(result, output, sys.stdout, max_rows=max_rows)
    if not sections:
        return
    if html is not None:
        write_html(html, render_page(sections, settings, zone, pseudonymised=pseudonymised))
        stderr.print(f"HTML report written to {html}")
    if png is not None:
        from telelake.report.png import write_pngs

        names, chats = lookups(sections)
        written = write_pngs(sections, png, names=names, chats=chats, pseudonymised=pseudonymised)
        stderr.print(f"{len(written)} chart images written to {png}")

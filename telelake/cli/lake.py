"""Commands over the local pipeline: ``serve`` (webhook), ``etl``, ``query`` and ``demo``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from telelake.cli.app import (
    ChatIds,
    ConfigFile,
    Enriched,
    Lake,
    Port,
    Raw,
    Secret,
    Timezone,
    app,
    require_layer,
    resolve_settings,
    stderr,
)
from telelake.errors import UsageError

log = logging.getLogger("telelake")


@app.command(rich_help_panel="Collect")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Port = 8080,
    path: Annotated[str, typer.Option(help="URL path Telegram posts to.")] = "/webhook",
    lake: Lake = None,
    raw: Raw = None,
    timezone: Timezone = None,
    chat_id: ChatIds = None,
    secret: Secret = None,
    config: ConfigFile = None,
) -> None:
    """Receive Telegram's webhook POSTs and store each update durably in the raw layer.

    Answers 2xx only once the update is on disk; GET /healthz answers when up.

    Example: TELELAKE_WEBHOOK_SECRET=s3cr3t telelake serve --port 8080 --lake ./lake
    """
    from telelake.report.serve import report_routes
    from telelake.service import serve_webhook

    settings = resolve_settings(
        config, lake=lake, raw=raw, timezone=timezone, chat_ids=chat_id, secret=secret
    )
    if not path.startswith("/"):
        raise UsageError(f"--path must start with '/', got {path!r}")
    if settings.secret is None:
        log.warning(
            "no webhook secret: anyone who finds this URL can write to the lake; "
            "set TELELAKE_WEBHOOK_SECRET or --secret"
        )
    serve_webhook(
        settings, None, host=host, port=port, path=path, etl=False,
        extra_routes=report_routes(settings),
    )  # fmt: skip


@app.command(rich_help_panel="Query and report")
def etl(
    day: Annotated[str | None, typer.Option("--date", help="Build this date (YYYY-MM-DD).")] = None,
    since: Annotated[str | None, typer.Option(help="First date of a range to build.")] = None,
    until: Annotated[str | None, typer.Option(help="Last date of a range to build.")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Rebuild every partition of the lake.")
    ] = False,
    status: Annotated[
        bool,
        typer.Option(
            "--status",
            help="Build nothing: say how many partitions are changed or outdated, per table, "
            "and which dates a default run builds.",
        ),
    ] = False,
    pseudonymize: Annotated[
        bool | None,
        typer.Option(
            "--pseudonymize/--no-pseudonymize",
            help="Write keyed pseudonyms instead of user ids and names "
            "(key: TELELAKE_PSEUDONYM_KEY or TELELAKE_PSEUDONYM_KEY_FILE).",
        ),
    ] = None,
    lake: Lake = None,
    raw: Raw = None,
    enriched: Enriched = None,
    timezone: Timezone = None,
    config: ConfigFile = None,
) -> None:
    """Compact raw updates into typed, date-partitioned Parquet tables.

    By default builds every date whose raw data changed since its last build, and
    every date an older telelake built (outdated table versions), oldest first.
    Idempotent: run it as often as you like. --status only reports.

    Example: telelake etl --lake ./lake --since 2026-11-01 --until 2026-11-07

    Example: telelake etl --status --lake ./lake
    """
    from telelake.console import build_with_progress, print_etl_status, print_etl_summary
    from telelake.etl.layers import Layers
    from telelake.etl.plan import Selection
    from telelake.lake.layout import parse_date

    settings = resolve_settings(
        config,
        lake=lake,
        raw=raw,
        enriched=enriched,
        timezone=timezone,
        pseudonymize=pseudonymize,
    )
    selection = Selection(
        day=parse_date(day) if day else None,
        since=parse_date(since) if since else None,
        until=parse_date(until) if until else None,
        everything=everything,
    )
    if status:
        if selection != Selection():
            raise UsageError(
                "--status reports on the whole lake: drop --date, --since/--until, --all"
            )
        require_layer(settings.raw_url, "raw")
        from telelake.etl.status import etl_status
        from telelake.lake.storage import open_store

        raw_store, enriched_store = open_store(settings.raw_url), open_store(settings.enriched_url)
        print_etl_status(etl_status(raw_store, enriched_store), settings.enriched_url)
        return
    require_layer(settings.raw_url, "raw")
    summary = build_with_progress(Layers.open(settings), selection)
    if not summary.partitions and not summary.left:
        stderr.print(
            "nothing to build: no partition changed or outdated since its last build "
            "(use --all to rebuild everything)"
        )
        return
    print_etl_summary(summary, settings.enriched_url)


@app.command(rich_help_panel="Query and report")
def query(
    sql: Annotated[str, typer.Argument(help="The SQL to run; '-' reads it from stdin.")],
    dialect: Annotated[
        str, typer.Option(help="SQL dialect of the query: duckdb or athena.")
    ] = "duckdb",
    output: Annotated[
        str,
        typer.Option("--format", "-f", help="Output: table, csv or json (one object per line)."),
    ] = "table",
    max_rows: Annotated[
        int | None, typer.Option(help="Show at most this many rows (table format only).")
    ] = None,
    lake: Lake = None,
    enriched: Enriched = None,
    config: ConfigFile = None,
) -> None:
    """Run SQL over the enriched layer (tables: telegram, alias chatbot and messages, ...).

    Example: telelake query "SELECT context_date, count(*) FROM telegram GROUP BY 1" --format csv
    """
    from telelake.analytics.engine import Engine
    from telelake.analytics.output import write_result

    settings = resolve_settings(config, lake=lake, enriched=enriched)
    require_layer(settings.enriched_url, "enriched")
    text = sys.stdin.read() if sql == "-" else sql
    if not text.strip():
        raise UsageError("empty SQL")
    with Engine(settings.enriched_url) as engine:
        result = engine.query(text, dialect=dialect)
    write_result(result, output, sys.stdout, max_rows=max_rows if output == "table" else None)


@app.command(rich_help_panel="Start here")
def demo(
    lake: Annotated[
        str, typer.Option(help="Where the demo lake goes (emptied first if it is a demo lake).")
    ] = "./lake",
    days: Annotated[int, typer.Option(help="Days of simulated traffic.")] = 8,
    users: Annotated[int, typer.Option(help="Members of the simulated group.")] = 300,
    per_day: Annotated[int, typer.Option(help="Messages per day.")] = 400,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 7,
    timezone: Annotated[str, typer.Option(help="The group's time zone.")] = "America/Sao_Paulo",
) -> None:
    """The whole pipeline on this machine: no token, no network.

    Simulates a group, delivers its updates over HTTP to a real `telelake serve`
    on loopback, runs the ETL, prints the four reports and writes
    <lake>/report.html.

    Example: telelake demo --lake ./lake --days 8
    """
    from telelake.demo.pipeline import run_demo

    settings = resolve_settings(None, lake=lake, timezone=timezone)
    run_demo(settings, days=days, users=users, per_day=per_day, seed=seed)
    from telelake.analytics.reports import REPORTS
    from telelake.cli.report import print_reports

    # The terminal gets the original four; the page holds every report.
    print_reports(settings, list(REPORTS[:4]), Path(lake) / "report.html", max_rows=12)
    stderr.print(
        f"{len(REPORTS) - 4} more reports in {Path(lake) / 'report.html'} "
        "(list them: telelake report --list)"
    )

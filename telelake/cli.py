"""The ``telelake`` command: parse arguments, call the core, translate errors.

Nothing here knows how updates are stored or tables built; each command
resolves :class:`Settings` (flag > environment > telelake.toml > default) and
calls one core function. Errors become one line on stderr and an exit code
(0 ok, 1 failure, 2 usage); a traceback only with ``telelake --debug``.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from telelake import __version__
from telelake.config import Settings, load_settings
from telelake.errors import StorageError, TelelakeError, UsageError
from telelake.redaction import install_log_redaction, redact

app = typer.Typer(
    name="telelake",
    help=(
        "Telegram groups into a data lake you can query with SQL.\n\n"
        "Example: telelake demo   (the whole pipeline, offline, no token)"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Options every command shares (DESIGN §7). ``None`` means "not given", so
# the environment and telelake.toml can still decide.
Lake = Annotated[
    str | None, typer.Option("--lake", help="Lake root; raw=<lake>/raw, enriched=<lake>/enriched.")
]
Raw = Annotated[str | None, typer.Option("--raw", help="Raw layer URL (default <lake>/raw).")]
Enriched = Annotated[
    str | None, typer.Option("--enriched", help="Enriched layer URL (default <lake>/enriched).")
]
Timezone = Annotated[
    str | None, typer.Option("--timezone", help="IANA zone defining context_date (default UTC).")
]
ChatIds = Annotated[
    list[int] | None,
    typer.Option("--chat-id", help="Keep only this chat (repeatable). Default: all chats."),
]
Secret = Annotated[
    str | None,
    typer.Option("--secret", help="Webhook secret token (X-Telegram-Bot-Api-Secret-Token)."),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="Settings file (default ./telelake.toml if present)."),
]

log = logging.getLogger("telelake")
stderr = Console(stderr=True)


def _settings(config: Path | None = None, **given: Any) -> Settings:
    return load_settings(overrides=given, config_file=config)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"telelake {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Debug logging and full tracebacks on errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Telegram groups into a data lake you can query with SQL."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not debug:
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    install_log_redaction()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
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
    import uvicorn

    from telelake.ingest.core import Ingestor
    from telelake.ingest.webhook import create_app
    from telelake.lake.manifest import ensure_zone
    from telelake.lake.storage import open_store

    settings = _settings(
        config, lake=lake, raw=raw, timezone=timezone, chat_ids=chat_id, secret=secret
    )
    if not path.startswith("/"):
        raise UsageError(f"--path must start with '/', got {path!r}")
    if settings.secret is None:
        log.warning(
            "no webhook secret: anyone who finds this URL can write to the lake; "
            "set TELELAKE_WEBHOOK_SECRET or --secret"
        )
    store = open_store(settings.raw_url)
    try:
        ensure_zone(store, settings.timezone)
    except StorageError as exc:
        # Start anyway: requests get 503 (Telegram retries) until storage is back.
        log.error("raw layer not writable yet, answering 503 until it is: %s", exc)
    webhook = create_app(Ingestor(settings, store), path=path)
    log.info("raw layer %s; listening on http://%s:%s%s", settings.raw_url, host, port, path)
    uvicorn.run(
        webhook,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        # Uvicorn's own logging config would add handlers that bypass the
        # token redaction; None makes its loggers go through ours.
        log_config=None,
        server_header=False,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``telelake`` script."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args

    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="telelake", standalone_mode=False)
    except TelelakeError as exc:
        if debug:
            sys.stderr.write(redact(traceback.format_exc()))
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2 if isinstance(exc, UsageError) else 1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            # Click's usage errors (unknown option, missing argument, ...).
            hint = "telelake --help"
            context = getattr(exc, "ctx", None)
            if context is not None:
                hint = f"{context.command_path} --help"
            message = exc.format_message()
            if message:
                sys.stderr.write(f"error: {redact(message)} (see '{hint}')\n")
            sys.exit(int(exc.exit_code))
        if debug:
            sys.stderr.write(redact(traceback.format_exc()))
        first = redact(str(exc)).splitlines()[0] if str(exc) else ""
        sys.stderr.write(
            f"error: unexpected {type(exc).__name__}: {first} (run 'telelake --debug ...' "
            "for the traceback)\n"
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


@app.command()
def etl(
    day: Annotated[str | None, typer.Option("--date", help="Build this date (YYYY-MM-DD).")] = None,
    since: Annotated[str | None, typer.Option(help="First date of a range to build.")] = None,
    until: Annotated[str | None, typer.Option(help="Last date of a range to build.")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Rebuild every partition of the lake.")
    ] = False,
    lake: Lake = None,
    raw: Raw = None,
    enriched: Enriched = None,
    timezone: Timezone = None,
    config: ConfigFile = None,
) -> None:
    """Compact raw updates into typed, date-partitioned Parquet tables.

    By default builds every date whose raw data changed since its last build.
    Idempotent: run it as often as you like.

    Example: telelake etl --lake ./lake --since 2026-11-01 --until 2026-11-07
    """
    from telelake.console import etl_with_progress, print_etl_summary
    from telelake.etl.runner import plan
    from telelake.lake.layout import parse_date
    from telelake.lake.manifest import check_zone
    from telelake.lake.storage import open_store

    settings = _settings(config, lake=lake, raw=raw, enriched=enriched, timezone=timezone)
    raw_store, enriched_store = open_store(settings.raw_url), open_store(settings.enriched_url)
    check_zone(raw_store, settings.timezone)
    days = plan(
        raw_store,
        enriched_store,
        day=parse_date(day) if day else None,
        since=parse_date(since) if since else None,
        until=parse_date(until) if until else None,
        everything=everything,
    )
    if not days:
        stderr.print(
            "nothing to build: no partition changed since its last build "
            "(use --all to rebuild everything)"
        )
        return
    summary = etl_with_progress(raw_store, enriched_store, days, settings.zone)
    print_etl_summary(summary, settings.enriched_url)


@app.command()
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

    settings = _settings(config, lake=lake, enriched=enriched)
    text = sys.stdin.read() if sql == "-" else sql
    if not text.strip():
        raise UsageError("empty SQL")
    with Engine(settings.enriched_url) as engine:
        result = engine.query(text, dialect=dialect)
    write_result(result, output, sys.stdout, max_rows=max_rows if output == "table" else None)


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
    settings = _settings(config, lake=lake, enriched=enriched)
    chosen = [get_report(n) for n in name] if name else list(REPORTS)
    _print_reports(settings, chosen, html, max_rows)


def _print_reports(settings: Settings, chosen: list[Any], html: Path | None, max_rows: int) -> None:
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


@app.command()
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
    from telelake.demo import run_demo

    settings = _settings(None, lake=lake, timezone=timezone)
    run_demo(settings, days=days, users=users, per_day=per_day, seed=seed)
    _print_reports(settings, list(_all_reports()), Path(lake) / "report.html", max_rows=12)


def _all_reports() -> tuple[Any, ...]:
    from telelake.analytics.reports import REPORTS

    return tuple(REPORTS)

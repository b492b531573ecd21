"""``telelake athena-ddl``: the Glue/Athena DDL of an S3 lake, printed for the user to run."""

from __future__ import annotations

from typing import Annotated

import typer

from telelake.cli.app import ConfigFile, Enriched, Lake, Raw, app, resolve_settings
from telelake.errors import UsageError


@app.command("athena-ddl", rich_help_panel="Query and report")
def athena_ddl(
    database: Annotated[str, typer.Option(help="Glue database the tables go in.")] = "telelake",
    since: Annotated[
        str, typer.Option(help="First date partition projection looks at (YYYY-MM-DD).")
    ] = "2013-08-14",
    location: Annotated[
        str | None,
        typer.Option(
            help="Enriched layer's S3 URL as Athena sees it (default: the --enriched URL)."
        ),
    ] = None,
    raw_table: Annotated[
        bool,
        typer.Option(
            "--raw-table",
            help="Print instead the table telegram_raw over the raw layer (JSON SerDe): "
            "one row per stored update, for querying raw JSON.",
        ),
    ] = False,
    raw_location: Annotated[
        str | None,
        typer.Option(
            "--raw-location",
            help="Raw layer's S3 URL as Athena sees it (default: the --raw layer URL).",
        ),
    ] = None,
    lake: Lake = None,
    raw: Raw = None,
    enriched: Enriched = None,
    config: ConfigFile = None,
) -> None:
    """Print CREATE DATABASE / CREATE EXTERNAL TABLE statements for Athena, and the reports.

    Every enriched table gets partition projection on context_date, so new days
    are queryable at once with no MSCK REPAIR. The reports follow as commented
    named queries. With --raw-table, the DDL of a table over the raw layer instead
    (segments and objects, JSON SerDe). Nothing is sent to AWS: run the
    statements in Athena.

    Example: telelake athena-ddl --enriched s3://my-bucket/enriched --since 2024-01-01

    Example: telelake athena-ddl --raw-table --raw s3://my-raw-bucket/raw
    """
    from telelake.analytics.ddl import athena_script, raw_script

    if raw_table:
        url = raw_location or resolve_settings(config, lake=lake, raw=raw).raw_url
        _require_s3(url, "raw", "--raw s3://bucket/prefix (or --raw-location)")
        typer.echo(raw_script(url, database=database, since=since), nl=False)
        return
    url = location or resolve_settings(config, lake=lake, enriched=enriched).enriched_url
    _require_s3(url, "enriched", "--enriched s3://bucket/prefix (or --location)")
    typer.echo(athena_script(url, database=database, since=since), nl=False)


def _require_s3(url: str, layer: str, hint: str) -> None:
    if not url.startswith("s3://") or len(url) <= len("s3://"):
        raise UsageError(
            f"athena-ddl needs the {layer} layer's s3:// URL, got {url!r}; pass {hint}"
        )

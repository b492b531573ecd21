"""``telelake athena-ddl``: the Glue/Athena DDL of an S3 lake, printed for the user to run."""

from __future__ import annotations

from typing import Annotated

import typer

from telelake.cli.app import ConfigFile, Enriched, Lake, app, resolve_settings
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
    lake: Lake = None,
    enriched: Enriched = None,
    config: ConfigFile = None,
) -> None:
    """Print CREATE DATABASE / CREATE EXTERNAL TABLE statements for Athena, and the reports.

    Every enriched table gets partition projection on context_date, so new days
    are queryable at once with no MSCK REPAIR. The reports follow as commented
    named queries. Nothing is sent to AWS: run the statements in Athena.

    Example: telelake athena-ddl --enriched s3://my-bucket/enriched --since 2024-01-01
    """
    from telelake.analytics.ddl import athena_script

    url = location
    if url is None:
        url = resolve_settings(config, lake=lake, enriched=enriched).enriched_url
    if not url.startswith("s3://") or len(url) <= len("s3://"):
        raise UsageError(
            f"athena-ddl needs the enriched layer's s3:// URL, got {url!r}; "
            "pass --enriched s3://bucket/prefix (or --location)"
        )
    typer.echo(athena_script(url, database=database, since=since), nl=False)

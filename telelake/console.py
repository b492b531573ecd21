"""What the commands show people: progress bars and run summaries, on stderr.

Shared by the CLI commands and the demo so both look the same. Output for
machines (query results) goes to stdout elsewhere; everything here is for
eyes and goes to stderr, so ``telelake etl | ...`` stays clean.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from telelake.etl import schema
from telelake.etl.runner import EtlSummary, PartitionResult, run
from telelake.lake.storage import Store

stderr = Console(stderr=True)


def progress_bar(description: str) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=False,
    )


def etl_with_progress(raw: Store, enriched: Store, days: list[date], zone: ZoneInfo) -> EtlSummary:
    """Run the ETL over ``days`` with a progress bar of partitions."""
    with progress_bar("etl") as bar:
        task = bar.add_task("building partitions", total=len(days))

        def advance(result: PartitionResult) -> None:
            bar.update(task, advance=1, description=f"built {result.day.isoformat()}")

        return run(raw, enriched, days, zone, progress=advance)


def print_etl_summary(summary: EtlSummary, enriched_url: str) -> None:
    table = Table(title=f"ETL: {len(summary.partitions)} partition(s) -> {enriched_url}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name in schema.TABLES:
        if name != schema.REJECTS:
            table.add_row(name, f"{summary.total(name):,}")
    stderr.print(table)
    stderr.print(
        f"raw objects read: {summary.raw_objects:,}; duplicates removed: "
        f"{summary.duplicates:,}; set aside: {summary.rejected:,}"
    )
    if summary.rejected:
        stderr.print(
            "[yellow]objects set aside (kept in raw; see table telegram_rejects):[/yellow]"
        )
        reasons = [reason for p in summary.partitions for reason in p.reject_reasons]
        for reason in reasons[:10]:
            stderr.print(f"  {reason}", markup=False, highlight=False)
        if len(reasons) > 10:
            stderr.print(f"  ... and {len(reasons) - 10} more")

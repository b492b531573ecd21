"""What the commands show people: progress bars and run summaries, on stderr.

Shared by the CLI commands and the demo so both look the same. Output for
machines (query results) goes to stdout elsewhere; everything here is for
eyes and goes to stderr, so ``telelake etl | ...`` stays clean.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from telelake.etl.layers import Layers
from telelake.etl.partition import PartitionResult
from telelake.etl.plan import CHANGED, Selection
from telelake.etl.runner import EtlSummary, run
from telelake.etl.status import EtlStatus
from telelake.lake.tables import REJECTS, TABLES

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


class _EtlBar:
    """The ETL driver's progress, as a bar of partitions (shown only when there is work)."""

    def __init__(self) -> None:
        self.bar = progress_bar("etl")
        self.task = self.bar.add_task("building partitions", total=None)

    def planned(self, days: Sequence[date]) -> None:
        if days:
            self.bar.update(self.task, total=len(days))
            self.bar.start()

    def built(self, result: PartitionResult) -> None:
        self.bar.update(self.task, advance=1, description=f"built {result.day.isoformat()}")


def build_with_progress(layers: Layers, selection: Selection = CHANGED) -> EtlSummary:
    """Run the ETL driver over ``selection`` with a progress bar of partitions."""
    shown = _EtlBar()
    try:
        return run(layers, selection, progress=shown)
    finally:
        shown.bar.stop()


def print_etl_summary(summary: EtlSummary, enriched_url: str) -> None:
    table = Table(title=f"ETL: {len(summary.partitions)} partition(s) -> {enriched_url}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name in TABLES:
        if name != REJECTS:
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


def _dates(days: Sequence[date]) -> str:
    if not days:
        return "0 dates"
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]} .. {days[-1]}"
    return f"{len(days):,} date(s), {span}"


def print_etl_status(status: EtlStatus, enriched_url: str) -> None:
    """``telelake etl --status``: per table, then what a default run would build."""
    table = Table(title=f"table versions in {enriched_url}")
    table.add_column("table")
    table.add_column("version", justify="right")
    table.add_column("partitions", justify="right")
    table.add_column("outdated", justify="right")
    for row in status.tables:
        table.add_row(row.name, str(row.version), f"{row.partitions:,}", f"{len(row.outdated):,}")
    stderr.print(table)
    lines = [
        f"changed since their last build: {_dates(status.changed)}",
        f"outdated (built with older table versions): {_dates(status.outdated)}",
        f"a default `telelake etl` builds {_dates(status.planned)}, oldest first"
        if status.planned
        else "a default `telelake etl` has nothing to build",
    ]
    if status.left_alone:
        lines.append(
            f"[yellow]left alone by a default run, though another version wrote them:[/yellow] "
            f"{_dates(status.left_alone)}; `telelake etl --since D --until D` rebuilds them "
            "(a date without raw data loses its partition)"
        )
    for line in lines:
        stderr.print(line, soft_wrap=True, highlight=False)


# --- history and privacy (telelake import / forget) ---------------------------------------

if TYPE_CHECKING:
    from telelake.ingest.importer import ImportSummary
    from telelake.privacy import Erasure


def import_progress() -> tuple[Progress, Callable[[int, int], None]]:
    """A progress bar of exported messages and the callback that advances it."""
    bar = progress_bar("import")
    task = bar.add_task("messages", total=None)

    def advance(done: int, total: int) -> None:
        # Started on the first batch: an export refused before any message
        # (wrong file, chat not chosen) prints only its error line.
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    return bar, advance


def print_import_summary(summary: ImportSummary, raw_url: str, *, built: bool = False) -> None:
    chat = summary.chat
    stderr.print(
        f"imported chat {chat.name!r} ({chat.type}, id {chat.id}) into {raw_url}",
        markup=False,
        highlight=False,
    )
    stderr.print(
        f"messages converted: {summary.converted:,}; new objects: {summary.stored:,}; "
        f"already there: {summary.already:,}; changed since an earlier import (kept beside "
        f"it): {summary.updated:,}; skipped: {sum(summary.skipped.values()):,}"
    )
    if summary.erased:
        stderr.print(f"not imported (people erased from this lake before): {summary.erased:,}")
    for reason, count in summary.skipped.most_common(5):
        stderr.print(f"  skipped {count:,}: {reason}", markup=False, highlight=False)
    if summary.dates:
        first, last = summary.dates[0], summary.dates[-1]
        then = "building them" if built else "run `telelake etl` to build them"
        stderr.print(f"{len(summary.dates):,} date(s) changed, {first} .. {last}: {then}")
    else:
        stderr.print("nothing new: no date to rebuild")


def print_erasure(erasure: Erasure, dry_run: bool) -> None:
    verb = "would be" if dry_run else "were"
    if not erasure.dates:
        stderr.print("nothing found: the lake holds no update of or about this user")
        return
    table = Table(title=f"raw objects that {verb} removed or rewritten")
    table.add_column("date")
    table.add_column("deleted", justify="right")
    table.add_column("rewritten", justify="right")
    for day in erasure.dates:
        table.add_row(day.isoformat(), f"{erasure.deleted[day]:,}", f"{erasure.rewritten[day]:,}")
    stderr.print(table)
    stderr.print(
        f"objects deleted: {sum(erasure.deleted.values()):,}; rewritten: "
        f"{sum(erasure.rewritten.values()):,}; names they go by: {erasure.names}"
    )
    if erasure.rebuilt is not None:
        stderr.print(f"enriched partitions rebuilt: {len(erasure.rebuilt.partitions):,}")
    if erasure.audit_key:
        stderr.print(f"erasure recorded (no content) in {erasure.audit_key}")


# --- raw compaction (telelake compact) ------------------------------------------------------

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from telelake.lake.compaction import CompactionSummary, DayCompaction
    from telelake.lake.storage import Store


class _CompactionBar:
    """Compaction's progress, as a bar of days (shown only when there is work)."""

    def __init__(self) -> None:
        self.bar = progress_bar("compact")
        self.task = self.bar.add_task("closed days", total=None)

    def planned(self, days: Sequence[date]) -> None:
        if days:
            self.bar.update(self.task, total=len(days))
            self.bar.start()

    def compacted(self, result: DayCompaction) -> None:
        self.bar.update(self.task, advance=1, description=f"compacted {result.day.isoformat()}")


def compact_with_progress(
    raw: Store,
    zone: ZoneInfo,
    compact_after: int,
    *,
    day: date | None = None,
    everything: bool = False,
) -> CompactionSummary:
    """Compact the raw layer (lake/compaction.py) with a progress bar of days."""
    from telelake.lake.compaction import compact_lake

    shown = _CompactionBar()
    try:
        return compact_lake(
            raw, zone, compact_after, day=day, everything=everything, progress=shown
        )
    finally:
        shown.bar.stop()


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def print_compaction_summary(summary: CompactionSummary, raw_url: str, compact_after: int) -> None:
    visited = len(summary.days)
    if not visited and not summary.left:
        stderr.print(
            f"nothing to compact: no day closed {compact_after} day(s) ago or earlier got "
            "objects since its last compaction (--all visits every closed day)"
        )
        return
    stderr.print(
        f"compacted {summary.compacted:,} of {visited:,} day(s) visited in {raw_url}",
        markup=False,
        highlight=False,
    )
    merged = sum(d.merged for d in summary.days)
    line = (
        f"objects packed: {summary.packed:,}; earlier segments merged: {merged:,}; "
        f"bytes before: {_size(summary.bytes_before)}, after: {_size(summary.bytes_after)}"
    )
    if summary.bytes_after:
        line += f" ({summary.bytes_before / summary.bytes_after:,.1f}x smaller)"
    stderr.print(line)
    if summary.objects_left:
        stderr.print(
            f"left as objects: {summary.objects_left:,} (not a JSON object with an integer "
            "update_id, holding a raw tab or carriage return, or named otherwise than "
            "telelake names updates); the ETL reads them as before"
        )
    if summary.left:
        stderr.print(
            f"[yellow]{len(summary.left):,} day(s) not started[/yellow]: the next "
            "`telelake compact` does them"
        )

"""``telelake compact``: pack closed days of the raw layer into one segment per day."""

from __future__ import annotations

from typing import Annotated

import typer

from telelake.cli.app import ConfigFile, Lake, Raw, Timezone, app, resolve_settings
from telelake.errors import UsageError


@app.command(rich_help_panel="Your data")
def compact(
    compact_after: Annotated[
        int | None,
        typer.Option(
            "--compact-after",
            min=0,
            help="A day is closed this many days after it ends, in the lake's zone "
            "(default 3: Telegram keeps an update 24 h). Also TELELAKE_COMPACT_AFTER.",
        ),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option("--date", help="Compact this one day (YYYY-MM-DD), closed or not."),
    ] = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Visit every closed day, found by listing every partition, not only the "
            "days that got objects since their last compaction.",
        ),
    ] = False,
    lake: Lake = None,
    raw: Raw = None,
    timezone: Timezone = None,
    config: ConfigFile = None,
) -> None:
    """Pack closed days of the raw layer into one segment per day (gzip'd JSON Lines).

    Each update keeps its exact bytes, one per line, and the key it had: the
    tables built afterwards are the same, byte for byte, and engines read
    segments as they are. A segment is written and read back before any
    object it replaces is deleted, so a stop at any moment loses nothing.
    Objects that arrive later are merged by the next compaction. `run`'s daily
    ETL and the ETL Lambda do this by themselves; the first compaction of a
    lake (and --all) lists every partition once.

    Example: telelake compact --lake ./lake --compact-after 7
    """
    from telelake.console import compact_with_progress, print_compaction_summary
    from telelake.lake.layout import parse_date
    from telelake.lake.manifest import check_zone
    from telelake.lake.storage import open_store

    if day is not None and everything:
        raise UsageError("choose one of --date, --all")
    settings = resolve_settings(
        config, lake=lake, raw=raw, timezone=timezone, compact_after=compact_after
    )
    store = open_store(settings.raw_url)
    check_zone(store, settings.timezone)
    summary = compact_with_progress(
        store,
        settings.zone,
        settings.compact_after,
        day=parse_date(day) if day else None,
        everything=everything,
    )
    print_compaction_summary(summary, settings.raw_url, settings.compact_after)

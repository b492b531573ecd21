"""Commands over the lake's history and the people in it: ``import`` and ``forget``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from telelake.cli.app import (
    ChatIds,
    ConfigFile,
    Enriched,
    Lake,
    Raw,
    Timezone,
    app,
    resolve_settings,
    stderr,
)
from telelake.errors import UsageError

Pseudonymize = Annotated[
    bool | None,
    typer.Option(
        "--pseudonymize/--no-pseudonymize",
        help="Enriched layer holds keyed pseudonyms, not user ids and names "
        "(key: TELELAKE_PSEUDONYM_KEY or TELELAKE_PSEUDONYM_KEY_FILE).",
    ),
]


@app.command("import", rich_help_panel="Collect")
def import_export(
    file: Annotated[
        Path, typer.Argument(help="result.json of a Telegram Desktop export (JSON format).")
    ],
    chat: Annotated[
        str | None,
        typer.Option("--chat", help="Chat to import from a full-account export: its name or id."),
    ] = None,
    no_etl: Annotated[
        bool,
        typer.Option("--no-etl", help="Only load the raw layer; build later with `telelake etl`."),
    ] = False,
    pseudonymize: Pseudonymize = None,
    lake: Lake = None,
    raw: Raw = None,
    enriched: Enriched = None,
    timezone: Timezone = None,
    chat_id: ChatIds = None,
    config: ConfigFile = None,
) -> None:
    """Load a Telegram Desktop chat export into the raw layer: history from before the bot.

    Each exported message becomes the update a bot would have received, with a
    negative update_id of its own, so the ETL and reports treat it like the
    rest; a message the bot also received is counted once (the bot's version).
    Importing the same file again adds nothing. Then builds the dates that
    changed (unless --no-etl), with the lake's --pseudonymize setting.

    Example: telelake import ~/Downloads/ChatExport_2026-11-29/result.json --lake ./lake
    """
    from telelake.console import (
        build_with_progress,
        import_progress,
        print_etl_summary,
        print_import_summary,
    )
    from telelake.etl.layers import Layers
    from telelake.etl.plan import Selection
    from telelake.ingest.importer import import_export as run_import
    from telelake.lake.storage import open_store

    settings = resolve_settings(
        config,
        lake=lake,
        raw=raw,
        enriched=enriched,
        timezone=timezone,
        chat_ids=chat_id,
        pseudonymize=pseudonymize,
    )
    if file.is_dir():
        inside = file / "result.json"
        hint = f": import {inside}" if inside.is_file() else " (give the result.json inside it)"
        raise UsageError(f"{file} is a folder, not an export file{hint}")
    # Opened first: a missing pseudonym key fails before anything is imported.
    layers = None if no_etl else Layers.open(settings)
    store = open_store(settings.raw_url)
    bar, advance = import_progress()
    try:
        summary = run_import(file, settings, store, chat=chat, progress=advance)
    finally:
        bar.stop()
    print_import_summary(summary, settings.raw_url, built=layers is not None)
    if layers is not None and summary.dates:
        built = build_with_progress(layers, Selection(dates=tuple(summary.dates)))
        print_etl_summary(built, settings.enriched_url)


@app.command(rich_help_panel="Your data")
def forget(
    user_id: Annotated[
        int, typer.Option("--user-id", help="Telegram user id of the person to erase.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    pseudonymize: Pseudonymize = None,
    lake: Lake = None,
    raw: Raw = None,
    enriched: Enriched = None,
    timezone: Timezone = None,
    config: ConfigFile = None,
) -> None:
    """Erase one person from both layers (right to erasure) and say what was removed.

    Their updates are deleted from the raw layer, updates that mention them are
    rewritten without them, every date that changed is rebuilt, and the erasure
    is recorded (without content) under _telelake/erasures/. Pass the same
    --pseudonymize setting the lake is built with.

    Example: telelake forget --user-id 123456789 --lake ./lake --dry-run
    """
    from telelake.console import print_erasure
    from telelake.etl.layers import Layers
    from telelake.privacy import forget_user

    settings = resolve_settings(
        config,
        lake=lake,
        raw=raw,
        enriched=enriched,
        timezone=timezone,
        pseudonymize=pseudonymize,
    )
    layers = Layers.open(settings)
    if not dry_run and not yes:
        if not sys.stdin.isatty():
            raise UsageError("forget deletes data: pass --yes to confirm (or --dry-run first)")
        typer.confirm(
            f"Erase user {user_id} from {settings.raw_url} and {settings.enriched_url}?",
            abort=True,
            err=True,
        )
    with stderr.status("searching the raw layer"):
        erasure = forget_user(layers, user_id, dry_run=dry_run)
    print_erasure(erasure, dry_run)

"""The ``telelake`` program: the Typer app, shared options, errors to exit codes.

Command modules beside this one (``lake``, ``report``, ``bot``, ``athena``,
``history``) register their commands on :data:`app`; ``telelake/cli/__init__.py``
imports them all. Nothing here knows how updates are stored or tables built;
each command resolves :class:`Settings` (flag > environment > telelake.toml >
default) and calls one core function. Errors become one line on stderr and an
exit code (0 ok, 1 failure, 2 usage; no other code, even when interrupted); a traceback
only with ``telelake --debug``.
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
from telelake.errors import ConfigError, TelelakeError, UsageError
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
    typer.Option(
        "--secret",
        help="Webhook secret token (X-Telegram-Bot-Api-Secret-Token): 1-256 characters of "
        "A-Z a-z 0-9 _ -. Prefer TELELAKE_WEBHOOK_SECRET or `secret` in telelake.toml: "
        "a flag shows in the process list.",
    ),
]
Port = Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on (1-65535).")]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="Settings file (default ./telelake.toml if present)."),
]

log = logging.getLogger("telelake")
stderr = Console(stderr=True)


def resolve_settings(config: Path | None = None, **given: Any) -> Settings:
    settings = load_settings(overrides=given, config_file=config)
    if given.get("secret"):
        log.warning(
            "--secret is visible to every user of this machine in the process list; "
            "prefer TELELAKE_WEBHOOK_SECRET or `secret` in telelake.toml"
        )
    return settings


def require_layer(url: str, what: str) -> None:
    """A clear error when the folder layer ``url`` does not exist (a mistyped
    ``--lake`` must not read as an empty lake); ``s3://`` layers are not checked."""
    if url.startswith("s3://"):
        return
    folder = Path(url.removeprefix("file://")).expanduser()
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        hint = (
            "a lake starts with `telelake serve`, `poll`, `run`, `import` or `demo`"
            if what == "raw"
            else "`telelake etl` builds it from the raw layer"
        )
        raise ConfigError(
            f"no {what} layer at {folder}: the folder {state} (check --lake or "
            f"TELELAKE_LAKE; {hint})"
        )


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
        for noisy in ("httpx", "httpcore", "botocore", "boto3", "urllib3", "s3transfer"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    install_log_redaction()


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
        # Exit codes are 0, 1 and 2 only (DESIGN §7): an interrupted command failed.
        sys.stderr.write("error: interrupted\n")
        sys.exit(1)
    except SystemExit as exc:
        # A library that exits by itself (uvicorn does on a failed start) must
        # not invent exit codes either.
        if exc.code in (None, 0, 1, 2):
            raise
        sys.stderr.write(f"error: stopped with status {exc.code}\n")
        sys.exit(1)
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

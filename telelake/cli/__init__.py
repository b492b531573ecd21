"""The ``telelake`` command line. Importing this package registers every command on ``app``."""

import typer

# Each module registers its commands on ``app`` when imported.
from telelake.cli import athena, bot, compact, history, lake, report  # noqa: F401
from telelake.cli.app import app, main

# `telelake --help` lists commands in the order a new user meets them.
_ORDER = (
    "demo",
    "run",
    "serve",
    "poll",
    "import",
    "etl",
    "query",
    "report",
    "athena-ddl",
    "forget",
    "compact",
)


def _position(command: typer.models.CommandInfo) -> int:
    name = command.name or getattr(command.callback, "__name__", "").replace("_", "-")
    return _ORDER.index(name) if name in _ORDER else len(_ORDER)


app.registered_commands.sort(key=_position)

__all__ = ["app", "main"]

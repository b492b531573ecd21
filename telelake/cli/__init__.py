"""The ``telelake`` command line. Importing this package registers every command on ``app``."""

# Each module registers its commands on ``app`` when imported.
from telelake.cli import athena, bot, history, lake, report  # noqa: F401
from telelake.cli.app import app, main

__all__ = ["app", "main"]

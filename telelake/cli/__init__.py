"""The ``telelake`` command line. Importing this package registers every command on ``app``."""

from telelake.cli import lake, report  # noqa: F401  (modules register their commands)
from telelake.cli.app import app, main

__all__ = ["app", "main"]

"""What a built-in report is: a named Athena query and how to order its rows.

Kept apart from the registry (``reports/__init__.py``) so each family of
reports is a module of its own that only needs this class.
"""

from __future__ import annotations

from dataclasses import dataclass

from telelake.analytics.dialect import ATHENA


@dataclass(frozen=True)
class Report:
    """A named query; ``sort_keys`` refine the SQL's order (``-`` prefix: descending)."""

    name: str
    title: str
    sql: str
    dialect: str = ATHENA
    sort_keys: tuple[str, ...] = ()
    question: str = ""

"""What a built-in report is: a named Athena query and how to order its rows.

Kept apart from the registry (``reports/__init__.py``) so each family of
reports is a module of its own that only needs this class.
"""

from __future__ import annotations

from dataclasses import dataclass

from telelake.analytics.dialect import ATHENA

# Every poster of each chat over the whole lake, ranked by messages (ties by id),
# named by their latest message: the CTEs ``counts`` and ``posters`` that the
# per-person reports start from (``WITH {POSTERS_CTE}, ...``).
POSTERS_CTE = """\
counts AS (
    SELECT chat_id, user_id, count(1) AS messages, max_by(user_first_name, date) AS name
    FROM "telegram" WHERE user_id IS NOT NULL
    GROUP BY chat_id, user_id),
posters AS (
    SELECT chat_id, user_id, name,
           row_number() OVER (PARTITION BY chat_id ORDER BY messages DESC, user_id) AS poster_rank
    FROM counts)"""


@dataclass(frozen=True)
class Report:
    """A named query; ``sort_keys`` refine the SQL's order (``-`` prefix: descending)."""

    name: str
    title: str
    sql: str
    dialect: str = ATHENA
    sort_keys: tuple[str, ...] = ()
    question: str = ""

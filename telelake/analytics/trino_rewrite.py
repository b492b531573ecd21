"""What every Trino function fix is written with: operand types, ``Fix``, DuckDB templates.

A fix (:data:`Fix`) takes one sqlglot node and the inferred types of its
operands (:class:`OperandTypes`, filled in by :mod:`telelake.analytics.dialect`)
and returns the node to put in its place. Rewrites are written as small
DuckDB templates whose ``tl_*`` placeholders are replaced by the call's own
arguments (:func:`template`). The fixes themselves are in
:mod:`telelake.analytics.trino_functions`, ``trino_datetime`` and
``trino_strings``; this module is below all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sqlglot
from sqlglot import exp

from telelake.errors import QueryError


class OperandTypes:
    """Inferred types of the operands of each node, keyed by the node's tag."""

    TAG = "telelake_id"

    def __init__(self) -> None:
        self.operands: dict[int, list[exp.DataType | None]] = {}

    def of(self, node: exp.Expr, index: int) -> exp.DataType | None:
        tag = node.meta.get(self.TAG)
        found = self.operands.get(tag) if isinstance(tag, int) else None
        return found[index] if found and index < len(found) else None

    def is_type(self, node: exp.Expr, index: int, *dtypes: exp.DType) -> bool:
        found = self.of(node, index)
        return found is not None and found.this in dtypes


NAIVE_TIMESTAMPS = {exp.DType.TIMESTAMP, exp.DType.TIMESTAMPNTZ, exp.DType.DATETIME}

Fix = Callable[[exp.Expr, OperandTypes], exp.Expr]


@lru_cache(maxsize=64)
def _parsed(template: str) -> exp.Expr:
    return sqlglot.parse_one(template, read="duckdb")


def template(sql: str, **args: exp.Expr) -> exp.Expr:
    """DuckDB expression ``sql`` with each column ``tl_<name>`` replaced by ``args[name]``."""

    def substitute(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and node.name[3:] in args:
            return args[node.name[3:]].copy()
        return node

    return _parsed(sql).copy().transform(substitute)


def call(node: exp.Expr, name: str) -> list[exp.Expr] | None:
    """The arguments of a call sqlglot kept as an unknown function ``name``."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == name:
        return list(node.expressions)
    return None


def string_literal(node: exp.Expr | None, function: str) -> str:
    """The text of a string literal argument of ``function``; QueryError for anything else."""
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    raise QueryError(f"{function}: the pattern must be a string literal to run on DuckDB")

"""What every Trino function fix is written with: operand types, ``Fix``, DuckDB templates.

A fix (:data:`Fix`) takes one sqlglot node and the inferred types of its
operands (:class:`OperandTypes`, filled in by :mod:`telelake.analytics.dialect`)
and returns the node to put in its place. Rewrites are written as small
DuckDB templates whose ``tl_*`` placeholders are replaced by the call's own
arguments (:func:`template`). The fixes themselves are in
:mod:`telelake.analytics.trino_functions` and the ``trino_*`` modules it
lists; this module is below all of them. It also keeps what sqlglot's
parsing would hide from them: the index of ``a[i]`` as Athena wrote it
(:func:`mark_subscripts`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sqlglot
from sqlglot import exp

from telelake.analytics.trino_types import TType
from telelake.errors import QueryError


class OperandTypes:
    """Trino types of each node and of its operands, keyed by the node's tag.

    Fixes run from the leaves up, so when a node's fix runs its operands may
    already be rewritten (and untagged): operand types are therefore stored
    with the node itself, by argument name, when the query is checked.
    """

    TAG = "telelake_id"

    def __init__(self) -> None:
        self.own: dict[int, TType | None] = {}
        self.operands: dict[int, dict[str, TType | list[TType | None] | None]] = {}

    def type(self, node: exp.Expr) -> TType | None:
        """The Trino type of ``node`` itself (None if unknown or untagged)."""
        tag = node.meta.get(self.TAG)
        return self.own.get(tag) if isinstance(tag, int) else None

    def arg(self, node: exp.Expr, key: str, index: int = 0) -> TType | None:
        """The Trino type of ``node``'s argument ``key`` (the ``index``-th of a list)."""
        tag = node.meta.get(self.TAG)
        found = self.operands.get(tag, {}).get(key) if isinstance(tag, int) else None
        if isinstance(found, list):
            return found[index] if index < len(found) else None
        return found

    def of(self, node: exp.Expr, index: int) -> TType | None:
        """Operand ``index``: 0 is ``this``, 1 ``expression`` (an unnamed call's arguments)."""
        if isinstance(node, exp.Anonymous):
            return self.arg(node, "expressions", index)
        return self.arg(node, ("this", "expression")[index]) if index < 2 else None

    def is_type(self, node: exp.Expr, index: int, *names: str) -> bool:
        found = self.of(node, index)
        return found is not None and found.name in names


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


SUBSCRIPT = "telelake_subscript"
"""Meta key of a ``Bracket``: its index as Trino reads it (see :func:`mark_subscripts`)."""


def mark_subscripts(statement: exp.Expr) -> None:
    """Record the Athena index of every ``a[i]``, before sqlglot's offset hides it.

    sqlglot holds an integer literal subscript 0-based when it takes the base
    for an array (its type unknown or ARRAY at parse time) and adds 1 back
    when generating; a map's or row's subscript stays as written. The checker
    and the subscript fixes need the index Trino sees, whatever the base.
    """
    for node in statement.find_all(exp.Bracket):
        if node.args.get("offset") or len(node.expressions) != 1:
            continue
        index = node.expressions[0]
        literal = index.this if isinstance(index, exp.Neg) else index
        if not (isinstance(literal, exp.Literal) and literal.is_int):
            node.meta[SUBSCRIPT] = index
            continue
        value = -int(literal.this) if isinstance(index, exp.Neg) else int(literal.this)
        base = node.this.type
        shifted = base is None or base.this in (exp.DType.UNKNOWN, exp.DType.ARRAY)
        node.meta[SUBSCRIPT] = exp.Literal.number(value + 1 if shifted else value)


def subscript(node: exp.Bracket) -> exp.Expr:
    """The index of ``node`` as Athena wrote it (element_at's as it is)."""
    found = node.meta.get(SUBSCRIPT)
    return found.copy() if isinstance(found, exp.Expr) else node.expressions[0]

"""Athena (Trino) SQL run on DuckDB with Athena's answers, not just Athena's syntax.

sqlglot translates the syntax (``date_format`` patterns, ``from_unixtime``,
``day_of_week``, ...) but keeps the places where Trino and DuckDB compute
different values from the same SQL (DESIGN §6). Those are fixed here, after
parsing and before generating, by the transforms listed in :data:`FIXES`
(one function each; its docstring says what Trino does and what DuckDB would
do instead): the generic ones here, the function library's (``substr``,
``date_diff``, ``format_datetime``, regexps, arrays, ...) in
:mod:`telelake.analytics.trino_functions`. :func:`translate` is the same
pipeline for another target; :mod:`telelake.analytics.spark` uses it.
The settings both engines must share for a query's result to be the same
(time zone, NULL ordering) are in :data:`SESSION_SETTINGS`; the engine
applies them to every session.

Fixes that need a type (a ``CAST`` of a double, ``AT TIME ZONE`` on a
timestamp without zone) use sqlglot's type inference over the lake's
columns. When a type cannot be inferred the SQL is left as sqlglot wrote it:
a fix is applied only where it is known to be right.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlglot
from sqlglot import ErrorLevel, exp
from sqlglot.errors import ParseError, SqlglotError, TokenError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from telelake.analytics.trino_functions import FUNCTION_FIXES
from telelake.analytics.trino_rewrite import NAIVE_TIMESTAMPS, Fix, OperandTypes
from telelake.errors import QueryError, UsageError

DUCKDB = "duckdb"
ATHENA = "athena"
DIALECTS = (DUCKDB, ATHENA)

SESSION_SETTINGS: dict[str, str] = {
    # Athena runs every query in UTC: from_unixtime, current_timestamp and
    # EXTRACT on a timestamp with zone all read the session zone, and DuckDB
    # otherwise takes the machine's.
    "TimeZone": "UTC",
    # Trino sorts NULLs last whatever the direction; DuckDB's default is the
    # same today, pinned so a future default or a user's config cannot change it.
    "default_null_order": "nulls_last",
}

Schema = Mapping[str, Mapping[str, str]]
"""Table -> column -> DuckDB type name, as ``information_schema.columns`` gives it."""

_ID = OperandTypes.TAG
_Types = OperandTypes


# --- the fixes --------------------------------------------------------------

_EXTRACT_FIELDS = {
    "DOW": "ISODOW",
    "DAY_OF_WEEK": "ISODOW",
    "DOY": "DOY",
    "DAY_OF_YEAR": "DOY",
    "DAY_OF_MONTH": "DAY",
    "YOW": "ISOYEAR",
    "YEAR_OF_WEEK": "ISOYEAR",
}


def fix_extract_fields(node: exp.Expr, types: _Types) -> exp.Expr:
    """EXTRACT fields Trino names differently: day of week is ISO, 1 (Mon) .. 7 (Sun).

    Trino's ``EXTRACT(DOW ...)`` / ``EXTRACT(DAY_OF_WEEK ...)`` is ISO; DuckDB's
    ``DOW`` is 0 (Sun) .. 6 (Sat), so a Sunday counts as 0 instead of 7 and
    sorts first instead of last. DuckDB also has no ``DAY_OF_WEEK``,
    ``DAY_OF_YEAR``, ``DAY_OF_MONTH``, ``YEAR_OF_WEEK`` or ``YOW``: they
    become ``ISODOW``, ``DOY``, ``DAY`` and ``ISOYEAR``. (The functions
    ``day_of_week()``/``dow()`` are translated to ``ISODOW`` by sqlglot.)
    """
    if not isinstance(node, exp.Extract):
        return node
    field = node.this.name.upper() if isinstance(node.this, exp.Var) else ""
    target = _EXTRACT_FIELDS.get(field)
    if target is None:
        return node
    if target == "ISODOW":
        return exp.DayOfWeekIso(this=node.expression)
    node.set("this", exp.var(target))
    return node


def fix_cast_double_to_integer(node: exp.Expr, types: _Types) -> exp.Expr:
    """CAST of a double to an integer type rounds half away from zero, as in Trino.

    Trino rounds (``CAST(2.5e0 AS INTEGER)`` = 3, ``-2.5e0`` -> -3); DuckDB
    rounds half to even (2 and -2), so ``CAST(AVG(...) AS INT)`` differs
    whenever an average ends in .5. DuckDB's ``ROUND(double)`` rounds half
    away from zero, so the operand is wrapped in it. Decimals already cast
    the same way in both; strings and integers are left alone.
    """
    if not isinstance(node, exp.Cast) or not node.to.is_type(*exp.DataType.INTEGER_TYPES):
        return node
    if types.is_type(node, 0, *exp.DataType.FLOAT_TYPES):
        node.set("this", exp.Round(this=node.this))
    return node


def fix_integer_division(node: exp.Expr, types: _Types) -> exp.Expr:
    """``/`` between integers is integer division (truncating toward zero), as in Trino.

    Trino: ``7 / 2`` = 3 and ``-7 / 2`` = -3; DuckDB's ``/`` always returns a
    double (3.5). DuckDB's ``//`` is exactly Trino's ``/`` on numbers:
    truncating integer division for integers, ordinary division for doubles
    and decimals. So every numeric division becomes ``//``, decided by DuckDB
    with the real operand types; only a division of an interval or another
    temporal value keeps ``/``.
    """
    if not isinstance(node, exp.Div):
        return node
    temporal = (*exp.DataType.TEMPORAL_TYPES, exp.DType.INTERVAL)
    if isinstance(node.this, exp.Interval) or types.is_type(node, 0, *temporal):
        return node
    # A double on either side: Trino divides as IEEE does (1e0 / 0 is Infinity),
    # where DuckDB's // would raise on a zero divisor.
    floats = exp.DataType.FLOAT_TYPES
    if types.is_type(node, 0, *floats) or types.is_type(node, 1, *floats):
        return node
    return exp.IntDiv(this=node.this, expression=node.expression)


def fix_from_unixtime_zone(node: exp.Expr, types: _Types) -> exp.Expr:
    """``from_unixtime(t, zone)`` is the wall time in ``zone``; sqlglot drops the zone.

    Trino returns a timestamp with that zone, so ``hour()``, ``EXTRACT`` and
    ``date_format`` read local time; the translation becomes
    ``TO_TIMESTAMP(t) AT TIME ZONE zone``, DuckDB's local wall time. (Turned
    back into a Unix time it would be off by the zone's offset: use the
    one-argument form for that.) The ``(t, hours, minutes)`` form is refused
    rather than silently computed in UTC.
    """
    if not isinstance(node, exp.UnixToTime):
        return node
    if node.args.get("hours") is not None or node.args.get("minutes") is not None:
        raise QueryError(
            "from_unixtime(unixtime, hours, minutes) is not supported; "
            "use from_unixtime(unixtime, 'Zone/Name')"
        )
    zone = node.args.get("zone")
    if zone is None:
        return node
    node.set("zone", None)
    return exp.AtTimeZone(this=node, zone=zone)


def fix_at_time_zone_naive(node: exp.Expr, types: _Types) -> exp.Expr:
    """``ts AT TIME ZONE z`` on a timestamp without zone converts *from UTC*, as in Trino.

    Trino reads a zoneless timestamp in the session zone (UTC on Athena) and
    shows it in ``z``: ``sent_at AT TIME ZONE 'America/Sao_Paulo'`` is three
    hours earlier. DuckDB instead reads it as wall time *in* ``z``, shifting
    the wrong way. Applied only when the operand is known to be zoneless (a
    lake column such as ``sent_at``, or a ``CAST(... AS TIMESTAMP)``).
    """
    if not isinstance(node, exp.AtTimeZone):
        return node
    operand = node.this
    naive_cast = isinstance(operand, exp.Cast) and operand.to.this in NAIVE_TIMESTAMPS
    naive_column = isinstance(operand, exp.Column) and types.is_type(
        node, 0, exp.DType.TIMESTAMPNTZ
    )
    if not (naive_cast or naive_column):
        return node
    node.set("this", exp.AtTimeZone(this=operand, zone=exp.Literal.string("UTC")))
    return node


FIXES: tuple[Fix, ...] = (
    fix_extract_fields,
    fix_cast_double_to_integer,
    fix_integer_division,
    fix_from_unixtime_zone,
    fix_at_time_zone_naive,
    *FUNCTION_FIXES,
)
"""Every semantic fix (these, then the function library's), applied from the leaves up."""


# --- translation ------------------------------------------------------------


def check_dialect(dialect: str) -> str:
    """The canonical dialect name; :class:`UsageError` for an unknown one."""
    name = dialect.strip().lower()
    if name not in DIALECTS:
        raise UsageError(f"unknown SQL dialect {dialect!r}; choose one of: {', '.join(DIALECTS)}")
    return name


def to_duckdb(sql: str, dialect: str, schema: Schema | None = None) -> str:
    """DuckDB SQL computing what ``sql`` computes in ``dialect``.

    ``schema`` (table -> column -> DuckDB type) lets the type-dependent fixes
    see the lake's columns; without it they see only what the SQL says.
    """
    if check_dialect(dialect) == DUCKDB:
        return sql
    return translate(sql, DUCKDB, FIXES, schema)


def translate(sql: str, target: str, fixes: tuple[Fix, ...], schema: Schema | None = None) -> str:
    """Athena ``sql`` parsed, fixed by ``fixes`` (leaves first), generated for ``target``.

    The engine-neutral part of :func:`to_duckdb`, shared with the Spark
    translation (:mod:`telelake.analytics.spark`), which has fixes of its own.
    """
    try:
        statements = [s for s in sqlglot.parse(sql, read=ATHENA) if s is not None]
    except (ParseError, TokenError) as exc:
        raise QueryError(f"cannot parse the Athena SQL: {_sqlglot_message(exc)}") from exc
    if not statements:
        raise QueryError("no SQL statement given")
    out = []
    for statement in statements:
        fixed = _apply_fixes(statement, _infer_types(statement, schema), fixes)
        try:
            out.append(fixed.sql(dialect=target, unsupported_level=ErrorLevel.RAISE))
        except UnsupportedError as exc:
            raise QueryError(f"cannot run this Athena SQL on {target}: {_first_line(exc)}") from exc
    return ";\n".join(out)


def _infer_types(statement: exp.Expr, schema: Schema | None) -> _Types:
    """Tag every node and record the inferred types of its operands.

    Inference runs on a qualified *copy*: qualifying rewrites the SQL (stars
    expanded, columns prefixed) and the translation must stay the user's.
    Tags survive the copy, so types map back to the original nodes. It is
    best effort by design: any failure only means fewer fixes apply.
    """
    types = _Types()
    for index, node in enumerate(statement.walk()):
        node.meta[_ID] = index
    copy = statement.copy()
    try:
        mapping = MappingSchema(dict(schema or {}), dialect=DUCKDB)
        try:
            qualify(copy, schema=mapping, dialect=ATHENA, validate_qualify_columns=False)
        except Exception:  # unknown tables and the like: infer without columns
            copy = statement.copy()
        annotate_types(copy, schema=mapping, dialect=ATHENA)
    except Exception:  # inference is optional, see the docstring
        return types
    for node in copy.walk():
        tag = node.meta.get(_ID)
        if not isinstance(tag, int):
            continue
        if isinstance(node, exp.Anonymous):
            operands = list(node.expressions)
        else:
            operands = [node.this, node.args.get("expression")]
        types.operands[tag] = [o.type if isinstance(o, exp.Expr) else None for o in operands]
    return types


def _apply_fixes(statement: exp.Expr, types: _Types, fixes: tuple[Fix, ...]) -> exp.Expr:
    root = statement
    # Leaves first: a fix may replace a node, and its children must already be final.
    for node in reversed(list(statement.walk(bfs=False))):
        # Where the node hangs, taken first: a fix may adopt it into a new parent.
        parent, arg_key, index = node.parent, node.arg_key, node.index
        current = node
        for fix in fixes:
            current = fix(current, types)
        if current is node:
            continue
        if parent is None or arg_key is None:
            root = current
        else:
            parent.set(arg_key, current, index)
    return root


def _sqlglot_message(exc: SqlglotError) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        where = f" (line {first.get('line')}, column {first.get('col')})"
        return f"{_first_line(first.get('description') or exc)}{where}"
    return _first_line(exc)


def _first_line(message: object) -> str:
    lines = str(message).strip().splitlines()
    return lines[0].strip() if lines else type(message).__name__

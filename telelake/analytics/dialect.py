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

Before any fix, the query is type-checked as Trino's analyzer would
(:mod:`telelake.analytics.trino_check`, against the lake's columns): SQL
Athena rejects fails here with Athena's message, and every fix sees the
Trino type of what it rewrites (a ``decimal`` is not a ``double``, a
``timestamp with time zone`` knows its zone). When a type cannot be worked
out the SQL is left as sqlglot wrote it: a fix is applied only where it is
known to be right.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import ErrorLevel, exp
from sqlglot.errors import ParseError, SqlglotError, TokenError, UnsupportedError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_casts import MACROS as CAST_MACROS
from telelake.analytics.trino_check import check
from telelake.analytics.trino_functions import FUNCTION_FIXES
from telelake.analytics.trino_json import MACROS as JSON_MACROS
from telelake.analytics.trino_numbers import MACROS as NUMBER_MACROS
from telelake.analytics.trino_rewrite import Fix, OperandTypes, mark_subscripts
from telelake.analytics.trino_scalars import FORMAT_MACROS
from telelake.analytics.trino_zoned import MACROS as ZONED_MACROS
from telelake.errors import QueryError, UsageError

# sqlglot reports what it does (array index offsets, ...) at INFO level, which
# reaches stderr as soon as an application logs at INFO; only its errors matter.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

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

SESSION_MACROS: tuple[str, ...] = (
    *ZONED_MACROS,
    *CAST_MACROS,
    *NUMBER_MACROS,
    *JSON_MACROS,
    *FORMAT_MACROS,
)
"""DuckDB macros the translated SQL calls (Joda-Time's zone rules, ...); the engine creates them."""

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
    if not isinstance(node, (exp.Cast, exp.TryCast)):
        return node
    if not node.to.is_type(*exp.DataType.INTEGER_TYPES):
        return node
    if types.is_type(node, 0, tt.DOUBLE, tt.REAL):
        node.set("this", exp.Round(this=node.this))
    return node


def fix_integer_division(node: exp.Expr, types: _Types) -> exp.Expr:
    """``/`` between integers is integer division (truncating toward zero), as in Trino.

    Trino: ``7 / 2`` = 3 and ``-7 / 2`` = -3; DuckDB's ``/`` always returns a
    double (3.5). DuckDB's ``//`` is exactly Trino's ``/`` on integers:
    truncating integer division. It is used when both operands are known to
    be integers (or NULL); doubles divide as IEEE does in both (1e0 / 0 is
    Infinity), decimals are :mod:`telelake.analytics.trino_numbers`' job, and
    intervals keep ``/``.
    """
    if not isinstance(node, exp.Div):
        return node
    integral = (*tt.INTEGRAL, tt.UNKNOWN)
    for operand in (types.of(node, 0), types.of(node, 1)):
        # Unknown operands (no schema, as for Spark) are left to DuckDB's own types.
        if operand is not None and not operand.is_a(*integral):
            return node
    return exp.IntDiv(this=node.this, expression=node.expression)


FIXES: tuple[Fix, ...] = (
    fix_extract_fields,
    fix_cast_double_to_integer,
    fix_integer_division,
    *FUNCTION_FIXES,
)
"""Every semantic fix (these, then the function library's), applied from the leaves up."""


# --- translation ------------------------------------------------------------


@dataclass(frozen=True)
class Translation:
    """DuckDB SQL for an Athena query, and what its result columns need to read as Trino's.

    ``zones`` has, for each result column of the last statement, the zone of
    a ``timestamp with time zone`` column (DuckDB returns only the instant;
    the engine shows it in this zone), and None for every other column.
    """

    sql: str
    zones: tuple[str | None, ...] = ()


def check_dialect(dialect: str) -> str:
    """The canonical dialect name; :class:`UsageError` for an unknown one."""
    name = dialect.strip().lower()
    if name not in DIALECTS:
        raise UsageError(f"unknown SQL dialect {dialect!r}; choose one of: {', '.join(DIALECTS)}")
    return name


def to_duckdb(sql: str, dialect: str, schema: Schema | None = None) -> str:
    """DuckDB SQL computing what ``sql`` computes in ``dialect``.

    ``schema`` (table -> column -> DuckDB type) lets the checker and the
    type-dependent fixes see the lake's columns; without it they see only
    what the SQL says.
    """
    if check_dialect(dialect) == DUCKDB:
        return sql
    return translate(sql, DUCKDB, FIXES, schema).sql


def translate(
    sql: str, target: str, fixes: tuple[Fix, ...], schema: Schema | None = None
) -> Translation:
    """Athena ``sql`` parsed, type-checked as Trino would, fixed, generated for ``target``.

    The engine-neutral part of :func:`to_duckdb`, shared with the Spark
    translation (:mod:`telelake.analytics.spark`), which has fixes of its own.
    A translation depends on nothing else, so the last ones are kept: a
    report run again (the dashboard, a benchmark) is not translated again.
    """
    key = tuple(
        sorted((table, tuple(columns.items())) for table, columns in (schema or {}).items())
    )
    return _translate(sql, target, fixes, key)


_SchemaKey = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@lru_cache(maxsize=256)
def _translate(
    sql: str, target: str, fixes: tuple[Fix, ...], schema_key: _SchemaKey
) -> Translation:
    schema = {table: dict(columns) for table, columns in schema_key} if schema_key else None
    try:
        statements = [s for s in sqlglot.parse(sql, read=ATHENA) if s is not None]
    except (ParseError, TokenError) as exc:
        raise QueryError(f"cannot parse the Athena SQL: {_sqlglot_message(exc)}") from exc
    if not statements:
        raise QueryError("no SQL statement given")
    out = []
    zones: tuple[str | None, ...] = ()
    for statement in statements:
        _prepare(statement)
        types, zones = _infer_types(statement, schema)
        fixed = _apply_fixes(statement, types, fixes)
        try:
            out.append(fixed.sql(dialect=target, unsupported_level=ErrorLevel.RAISE))
        except UnsupportedError as exc:
            raise QueryError(
                f"{_first_line(exc).rstrip('.')}: not reproduced locally on {target}, where "
                "Athena would run it as Trino does"
            ) from exc
    return Translation(";\n".join(out), zones)


def _infer_types(
    statement: exp.Expr, schema: Schema | None
) -> tuple[_Types, tuple[str | None, ...]]:
    """Type-check ``statement`` as Trino would and record every node's Trino type.

    Checking runs on a qualified *copy*: qualifying rewrites the SQL (stars
    expanded, columns prefixed) and the translation must stay the user's.
    Tags survive the copy, so types map back to the original nodes. A query
    that cannot be qualified (an unknown table, say) is checked without
    column types; the checker's own refusals are Trino's and propagate.
    """
    types = _Types()
    for index, node in enumerate(statement.walk()):
        node.meta[_ID] = index
    copy = statement.copy()
    mapping = MappingSchema(dict(schema or {}), dialect=DUCKDB)
    try:
        qualify(copy, schema=mapping, dialect=ATHENA, validate_qualify_columns=False)
    except Exception:
        copy = statement.copy()
    found = check(copy, schema)
    for node in copy.walk():
        tag = node.meta.get(_ID)
        if not isinstance(tag, int):
            continue
        types.own[tag] = found.get(id(node))
        operands: dict[str, object] = {}
        for key, value in node.args.items():
            if isinstance(value, exp.Expr):
                operands[key] = found.get(id(value))
            elif isinstance(value, list):
                operands[key] = [
                    found.get(id(v)) if isinstance(v, exp.Expr) else None for v in value
                ]
        types.operands[tag] = operands  # type: ignore[assignment]
    zones: tuple[str | None, ...] = ()
    if isinstance(copy, exp.Query):
        outputs = [found.get(id(p)) for p in copy.selects]
        zones = tuple(
            t.zone if t is not None and t.name == tt.TIMESTAMP_TZ else None for t in outputs
        )
        for column, zone in zip(outputs, zones, strict=True):
            if column is not None and column.name == tt.TIMESTAMP_TZ and zone is None:
                raise QueryError(
                    "a timestamp with time zone whose zone is not a constant is not reproduced "
                    "locally: Athena would show each value in its own zone"
                )
            if column is not None and column.name != tt.TIMESTAMP_TZ and _holds_zoned(column):
                raise QueryError(
                    f"a result of type {column} is not reproduced locally: Athena would show "
                    "each timestamp with time zone inside it in its own zone"
                )
    return types, zones


def _holds_zoned(found: tt.TType) -> bool:
    """Whether an array, map or row type holds a timestamp with time zone (at any depth)."""
    inner = [p for p in found.params if isinstance(p, tt.TType)]
    inner += [t for _, t in found.fields] if found.name == tt.ROW else []
    return any(t.name == tt.TIMESTAMP_TZ or _holds_zoned(t) for t in inner)


def _prepare(statement: exp.Expr) -> None:
    """What the statement needs before it is checked: names, indexes, try, inner orders."""
    mark_subscripts(statement)
    name_columns(statement)
    for select in list(statement.find_all(exp.Select)):
        # A subquery's ORDER BY without LIMIT orders nothing in Trino (a relation has no
        # order): dropped, so DuckDB does not sort what the outer query sorts again.
        limited = any(select.args.get(key) for key in ("limit", "offset", "fetch"))
        if select is not statement and select.args.get("order") and not limited:
            select.set("order", None)
    for attempt in list(statement.find_all(exp.Try)):
        # try(CAST(...)) is try_cast: DuckDB's TRY cannot hold the checks a cast from
        # varchar becomes, and Trino's try() of a cast returns NULL exactly where try_cast does.
        cast = attempt.this
        if isinstance(cast, exp.Cast) and not isinstance(cast, exp.TryCast):
            attempt.replace(exp.TryCast(this=cast.this, to=cast.to))


def name_columns(statement: exp.Expr) -> None:
    """Result columns named as Athena names them: ``_col1`` for an expression, lower case.

    Trino names a selected expression without an alias ``_col`` + its
    position (``SELECT user_id, count(*)`` gives ``user_id, _col1``) and folds
    unquoted identifiers to lower case; DuckDB would name the column after
    the expression's text (after the translation's rewrites) and keep the
    case as written.
    """
    for alias in statement.find_all(exp.Alias):
        # Every unquoted alias, so that SELECT * of a CTE gives Trino's names too.
        name = alias.args.get("alias")
        if isinstance(name, exp.Identifier) and not name.quoted:
            name.set("this", name.name.lower())
    query = statement
    while isinstance(query, exp.SetOperation):
        query = query.this
    if not isinstance(query, exp.Select):
        return
    named = []
    for index, projection in enumerate(query.expressions):
        if isinstance(projection, exp.Column) and not isinstance(projection.this, exp.Star):
            column = projection.this
            folded = isinstance(column, exp.Identifier) and not column.quoted
            if folded and column.name != column.name.lower():
                projection = exp.alias_(projection, column.name.lower())
        elif not isinstance(projection, (exp.Alias, exp.Star)):
            projection = exp.alias_(projection, f"_col{index}")
        named.append(projection)
    query.set("expressions", named)


def _apply_fixes(statement: exp.Expr, types: _Types, fixes: tuple[Fix, ...]) -> exp.Expr:
    root = statement
    # Leaves first: a fix may replace a node, and its children must already be final.
    for node in reversed(list(statement.walk(bfs=False))):
        # Where the node hangs, taken first: a fix may adopt it into a new parent.
        parent, arg_key, index = node.parent, node.arg_key, node.index
        current = node
        for fix in fixes:
            current = fix(current, types)
            if current is not node and _ID not in current.meta and _ID in node.meta:
                # The replacement computes the same value: later fixes may ask its type.
                current.meta[_ID] = node.meta[_ID]
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

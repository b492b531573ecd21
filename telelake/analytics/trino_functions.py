"""Trino's function library on DuckDB: where the same call computes a different value.

:mod:`telelake.analytics.dialect` applies every fix of :data:`FUNCTION_FIXES`
after the generic ones (day of week, casts, division, time zones). Each fix
rewrites one kind of sqlglot node into DuckDB SQL that returns what Trino
returns; its docstring quotes the Trino rule it follows and what DuckDB
would do instead. This module holds the list and the fixes of single
functions (renamed functions, arrays); date and time functions are in
:mod:`telelake.analytics.trino_datetime`, strings and regular expressions in
:mod:`telelake.analytics.trino_strings`, and what every fix is written with
(operand types, DuckDB templates) in :mod:`telelake.analytics.trino_rewrite`.

Functions sqlglot already translates faithfully (``length``, ``strpos``,
``split``, ``concat`` and ``||``, ``coalesce``, ``try_cast``,
``cardinality``, ``element_at``, ``approx_distinct``, ...) need nothing
here; the README's coverage table lists both kinds and the test of each.
"""

from __future__ import annotations

from sqlglot import exp

from telelake.analytics.trino_datetime import (
    fix_date_arithmetic_type,
    fix_date_diff,
    fix_joda_formats,
    fix_mysql_formats,
)
from telelake.analytics.trino_rewrite import NAIVE_TIMESTAMPS, Fix, OperandTypes, template
from telelake.analytics.trino_strings import (
    fix_regexp_extract,
    fix_regexp_replace,
    fix_split_part,
    fix_substr,
)
from telelake.errors import QueryError

# --- renamed functions --------------------------------------------------------

# Trino name -> DuckDB template over the call's arguments tl_a, tl_b.
_RENAMED = {
    "yow": "EXTRACT(ISOYEAR FROM tl_a)",
    "codepoint": "UNICODE(tl_a)",
    "hamming_distance": "HAMMING(tl_a, tl_b)",
    # Trino's millisecond() is the milliseconds of the second (0..999);
    # DuckDB's counts the seconds too (5.123 s -> 5123).
    "millisecond": "MILLISECOND(tl_a) % 1000",
}


def fix_renamed_functions(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """Trino functions DuckDB lacks or names differently, with Trino's results.

    ``yow(x)`` = ISO week-year; ``codepoint('A')`` = 65; ``hamming_distance``;
    ``millisecond(TIMESTAMP '... 00:00:05.123')`` = 123 (DuckDB: 5123);
    ``at_timezone(ts, zone)`` = ``ts AT TIME ZONE zone``; ``current_timezone()``
    = the session zone, UTC as on Athena. Trino's ``with_timezone(ts, zone)``
    keeps the wall time: like every zoned timestamp here it is represented by
    its wall time, so ``hour()`` and ``date_format`` agree with Trino.
    """
    if isinstance(node, exp.CurrentTimezone):
        return exp.Literal.string("UTC")
    if not isinstance(node, exp.Anonymous):
        return node
    name = str(node.this).lower()
    args = list(node.expressions)
    if name == "with_timezone" and len(args) == 2:
        return exp.Cast(this=args[0], to=exp.DataType.build("TIMESTAMP"))
    if name == "at_timezone" and len(args) == 2:
        operand = args[0]
        # Known zoneless: a lake column (DuckDB TIMESTAMP) or a cast to one.
        # (sqlglot also types from_unixtime as TIMESTAMP; DuckDB's has a zone.)
        naive_column = isinstance(operand, exp.Column) and types.is_type(
            node, 0, exp.DType.TIMESTAMPNTZ
        )
        if naive_column or (isinstance(operand, exp.Cast) and operand.to.this in NAIVE_TIMESTAMPS):
            # A timestamp without zone is read in the session zone, UTC.
            operand = exp.AtTimeZone(this=operand, zone=exp.Literal.string("UTC"))
        return exp.AtTimeZone(this=operand, zone=args[1])
    sql = _RENAMED.get(name)
    if sql is None:
        return node
    expected = 2 if "tl_b" in sql else 1
    if len(args) != expected:
        raise QueryError(f"{name}() takes {expected} argument(s), got {len(args)}")
    return exp.Paren(this=template(sql, **dict(zip("ab", args, strict=False))))


# --- arrays ---------------------------------------------------------------------


def fix_arrays(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """Array functions whose DuckDB namesakes differ from Trino.

    ``array_distinct`` keeps first occurrences in order (DuckDB's does not
    keep order); ``slice(a, start, length)`` takes a *length* (sqlglot passes
    it as DuckDB's *end* index); ``array_position`` is 0 when absent (DuckDB:
    NULL).
    """
    if isinstance(node, exp.ArrayDistinct):
        return template(
            "LIST_FILTER(tl_a, LAMBDA tl_x, tl_i: LIST_POSITION(tl_a, tl_x) = tl_i)",
            a=node.this,
        )
    if isinstance(node, exp.ArraySlice) and node.args.get("end") is not None:
        first = "CASE WHEN tl_s < 0 THEN LEN(tl_a) + tl_s + 1 ELSE tl_s END"
        return template(
            f"LIST_SLICE(tl_a, {first}, {first} + tl_n - 1)",
            a=node.this,
            s=node.args["start"],
            n=node.args["end"],
        )
    if isinstance(node, exp.ArrayPosition):
        return template(
            "CASE WHEN tl_a IS NULL OR tl_x IS NULL THEN NULL "
            "ELSE COALESCE(LIST_POSITION(tl_a, tl_x), 0) END",
            a=node.this,
            x=node.expression,
        )
    return node


FUNCTION_FIXES: tuple[Fix, ...] = (
    fix_renamed_functions,
    fix_joda_formats,
    fix_mysql_formats,
    fix_date_arithmetic_type,
    fix_date_diff,
    fix_substr,
    fix_split_part,
    fix_regexp_extract,
    fix_regexp_replace,
    fix_arrays,
)
"""Function-level fixes, applied after :data:`telelake.analytics.dialect.FIXES`' generic ones."""

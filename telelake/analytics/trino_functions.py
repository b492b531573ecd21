"""Trino's function library on DuckDB: where the same call computes a different value.

:mod:`telelake.analytics.dialect` applies every fix of :data:`FUNCTION_FIXES`
after the generic ones (day of week, casts, division, time zones). Each fix
rewrites one kind of sqlglot node into DuckDB SQL that returns what Trino
returns; its docstring quotes the Trino rule it follows and what DuckDB
would do instead. This module holds the list and the fixes of single
functions (renamed functions, arrays, subscripts, ``sequence``, maps and
bytes); the others are by subject: zoned timestamps in
:mod:`telelake.analytics.trino_zoned` (first, so that the rest see wall
times), date and time functions in ``trino_datetime``, numbers in
``trino_numbers``, casts in ``trino_casts``, JSON in ``trino_json``, strings
and regular expressions in ``trino_strings``, URLs in ``trino_urls``, and
functions DuckDB has no form of (``strpos`` with an instance, ``width_bucket``,
``zip``, ``format_number``, ``ROW`` subscripts) in ``trino_scalars``,
``format`` in ``trino_format``; what
every fix is written with (operand types, DuckDB templates) is in
:mod:`telelake.analytics.trino_rewrite`.

Functions sqlglot already translates faithfully (``length``, ``strpos``,
``split``, ``concat`` and ``||``, ``coalesce``, ``try_cast``,
``cardinality``, ``element_at``, ``approx_distinct``, ...) need nothing
here. Which functions run at all is the signature table's decision
(:mod:`telelake.analytics.trino_signatures`); the README's coverage table
lists them and the test of each.
"""

from __future__ import annotations

from sqlglot import exp

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_casts import CAST_FIXES
from telelake.analytics.trino_datetime import (
    fix_date_arithmetic_type,
    fix_date_diff,
    fix_from_iso8601_timestamp,
    fix_joda_formats,
    fix_mysql_formats,
)
from telelake.analytics.trino_format import fix_format
from telelake.analytics.trino_json import fix_json_extract, fix_json_values
from telelake.analytics.trino_numbers import NUMBER_FIXES
from telelake.analytics.trino_rewrite import Fix, OperandTypes, subscript, template
from telelake.analytics.trino_scalars import (
    fix_format_number,
    fix_row_subscript,
    fix_strpos_instance,
    fix_width_bucket,
    fix_zip,
)
from telelake.analytics.trino_strings import (
    fix_regexp_extract,
    fix_regexp_replace,
    fix_split,
    fix_split_part,
    fix_substr,
    fix_unicode_case,
)
from telelake.analytics.trino_urls import fix_urls
from telelake.analytics.trino_zoned import ZONED_FIXES
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
    # every is bool_and under Trino's other name.
    "every": "BOOL_AND(tl_a)",
}


def fix_renamed_functions(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """Trino functions DuckDB lacks or names differently, with Trino's results.

    ``yow(x)`` = ISO week-year; ``codepoint('A')`` = 65; ``hamming_distance``;
    ``millisecond(TIMESTAMP '... 00:00:05.123')`` = 123 (DuckDB: 5123);
    ``current_timezone()`` = the session zone, UTC as on Athena.
    (``at_timezone`` and ``with_timezone`` are :mod:`trino_zoned`'s.)
    """
    if isinstance(node, exp.CurrentTimezone):
        return exp.Literal.string("UTC")
    if not isinstance(node, exp.Anonymous):
        return node
    name = str(node.this).lower()
    args = list(node.expressions)
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
    it as DuckDB's *end* index) and fails on start 0; ``array_position`` is 0
    when absent (DuckDB: NULL).
    """
    if isinstance(node, exp.ArrayDistinct):
        return template(
            "LIST_FILTER(tl_a, LAMBDA tl_x, tl_i: LIST_POSITION(tl_a, tl_x) = tl_i)",
            a=node.this,
        )
    if isinstance(node, exp.ArraySlice) and node.args.get("end") is not None:
        # ArraySliceFunction: "SQL array indices start at 1", "length must be greater than
        # or equal to 0".
        first = "CASE WHEN tl_s < 0 THEN LEN(tl_a) + tl_s + 1 ELSE tl_s END"
        return template(
            "CASE WHEN tl_s = 0 THEN ERROR('SQL array indices start at 1') "
            "WHEN tl_n < 0 THEN ERROR('length must be greater than or equal to 0') "
            f"ELSE LIST_SLICE(tl_a, {first}, {first} + tl_n - 1) END",
            a=node.this,
            s=node.args["start"],
            n=node.args["end"],
        )
    if isinstance(node, exp.ArrayToString):
        element = types.arg(node, "this")
        kind = element.element if element is not None and element.name == tt.ARRAY else None
        if kind is not None and kind.name in (tt.DOUBLE, tt.REAL, tt.TIMESTAMP, tt.TIMESTAMP_TZ):
            raise QueryError(
                f"array_join of an array({kind}) is not reproduced locally: Athena would write "
                "each element as CAST(element AS varchar) does"
            )
    if isinstance(node, exp.ArrayPosition):
        return template(
            "CASE WHEN tl_a IS NULL OR tl_x IS NULL THEN NULL "
            "ELSE COALESCE(LIST_POSITION(tl_a, tl_x), 0) END",
            a=node.this,
            x=node.expression,
        )
    return node


# --- subscripts, sequences, maps, bytes ---------------------------------------


def fix_subscripts(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``a[i]`` outside the array and ``m[k]`` for a missing key fail in Trino.

    Trino's ArraySubscriptOperator: "Array subscript must be less than or
    equal to array length: 4 > 3", "SQL array indices start at 1", "Array
    subscript is negative: -1"; MapSubscriptOperator: "Key not present in
    map: k". DuckDB returns NULL (and counts a negative index from the end).
    Only ``element_at`` returns NULL, in both; its index 0 fails in Trino.
    """
    if not isinstance(node, exp.Bracket) or not node.expressions:
        return node
    base = types.arg(node, "this")
    if base is None:
        return node
    index = subscript(node)
    if node.args.get("safe"):
        if base.name != tt.ARRAY:
            return node
        return template(
            "CASE WHEN tl_i = 0 THEN ERROR('SQL array indices start at 1') ELSE tl_plain END",
            i=index,
            plain=node,
        )
    if base.name == tt.ARRAY:
        return template(
            "CASE WHEN tl_a IS NULL OR tl_i IS NULL THEN NULL "
            "WHEN tl_i = 0 THEN ERROR('SQL array indices start at 1') "
            "WHEN tl_i < 0 THEN ERROR('Array subscript is negative: ' || tl_i) "
            "WHEN tl_i > LEN(tl_a) THEN ERROR('Array subscript must be less than or equal to "
            "array length: ' || tl_i || ' > ' || LEN(tl_a)) ELSE tl_plain END",
            a=node.this,
            i=index,
            plain=node,
        )
    if base.name == tt.MAP:
        return template(
            "CASE WHEN tl_m IS NULL OR tl_k IS NULL THEN NULL WHEN NOT MAP_CONTAINS(tl_m, tl_k) "
            "THEN ERROR('Key not present in map: ' || tl_k) ELSE tl_plain END",
            m=node.this,
            k=index,
            plain=node,
        )
    return node


_SEQUENCE_CHECKS = (
    "CASE WHEN tl_a IS NULL OR tl_b IS NULL OR tl_n IS NULL THEN NULL "
    "WHEN tl_n = 0 THEN ERROR('step must not be zero') "
    "WHEN (tl_n > 0 AND tl_b < tl_a) OR (tl_n < 0 AND tl_b > tl_a) THEN ERROR('sequence stop value "
    "should be greater than or equal to start value if step is greater than zero otherwise stop "
    "should be less than or equal to start') "
    "WHEN tl_count > 10000 THEN ERROR('result of sequence function must not have more than "
    "10000 entries') ELSE tl_series END"
)


def fix_sequence(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``sequence(start, stop[, step])``: inclusive, counting down when stop < start, dates too.

    Trino docs: "Generate a sequence of integers from start to stop,
    incrementing by 1 if start is less than or equal to stop, otherwise -1";
    for dates by a day (or the step, whole days or months). SequenceFunction:
    a step of 0 or one pointing away from stop fails, as does a result of
    more than 10,000 entries, and a month step adds ``i * step`` months to
    start (Jan 31 + 2 months is Mar 31). DuckDB's ``generate_series`` gives
    ``[]`` for a wrong direction and steps months cumulatively (Mar 28).
    """
    if not isinstance(node, exp.GenerateSeries):
        return node
    start, end, step = node.args["start"], node.args["end"], node.args.get("step")
    kind = types.arg(node, "start")
    if kind is None or kind.name != tt.DATE:
        n = step or template("CASE WHEN tl_b >= tl_a THEN 1 ELSE -1 END", a=start, b=end)
        series: exp.Expr = exp.Anonymous(this="GENERATE_SERIES", expressions=[start, end, n])
        count = template("(tl_b - tl_a) // tl_n + 1", a=start, b=end, n=n)
        return template(_SEQUENCE_CHECKS, a=start, b=end, n=n, count=count, series=series)
    unit, amount = "DAY", 1
    if step is not None:
        unit, amount = _literal_interval(step)
    if unit in ("MONTH", "YEAR"):
        months = exp.Literal.number(amount * (12 if unit == "YEAR" else 1))
        count = template("DATE_SUB('month', tl_a, tl_b) // tl_n + 1", a=start, b=end, n=months)
        series = template(
            "LIST_TRANSFORM(RANGE(0, tl_count), "
            "LAMBDA tl_i: CAST(tl_a + TO_MONTHS(tl_i * tl_n) AS DATE))",
            a=start,
            n=months,
            count=count,
        )
        return template(_SEQUENCE_CHECKS, a=start, b=end, n=months, count=count, series=series)
    if unit != "DAY":
        raise QueryError("sequence step must be a day interval if start and end values are dates")
    days: exp.Expr = exp.Literal.number(amount)
    if step is None:
        days = template("CASE WHEN tl_b >= tl_a THEN 1 ELSE -1 END", a=start, b=end)
    count = template("DATE_DIFF('day', tl_a, tl_b) // tl_n + 1", a=start, b=end, n=days)
    series = template(
        "LIST_TRANSFORM(RANGE(0, tl_count), "
        "LAMBDA tl_i: CAST(tl_a + TO_DAYS(tl_i * tl_n) AS DATE))",
        a=start,
        n=days,
        count=count,
    )
    return template(_SEQUENCE_CHECKS, a=start, b=end, n=days, count=count, series=series)


def _literal_interval(step: exp.Expr) -> tuple[str, int]:
    """(unit, amount) of a literal ``INTERVAL 'n' UNIT``; a step computed per row is refused."""
    negative = isinstance(step, exp.Neg)
    interval = step.this if negative else step
    if isinstance(interval, exp.Interval) and interval.unit is not None:
        text = str(interval.this.this if isinstance(interval.this, exp.Literal) else "")
        if text.lstrip("-").isdigit():
            amount = int(text)
            return interval.unit.name.upper(), -amount if negative else amount
    raise QueryError(
        "sequence(date, date, step) with a step that is not an interval literal is not "
        "reproduced locally: Athena would step by it"
    )


_MATCHES = {
    # Trino docs: any_match is true if one element matches, NULL if none does but the
    # predicate is NULL for some, false otherwise (an empty array too); all_match and
    # none_match mirror it.
    "any_match": "CASE WHEN tl_a IS NULL THEN NULL WHEN LIST_BOOL_OR(tl_m) THEN true "
    "WHEN LIST_CONTAINS(LIST_TRANSFORM(tl_m, LAMBDA tl_v: tl_v IS NULL), true) THEN NULL "
    "ELSE false END",
    "all_match": "CASE WHEN tl_a IS NULL THEN NULL "
    "WHEN LIST_CONTAINS(LIST_TRANSFORM(tl_m, LAMBDA tl_v: tl_v = false), true) THEN false "
    "WHEN LIST_CONTAINS(LIST_TRANSFORM(tl_m, LAMBDA tl_v: tl_v IS NULL), true) THEN NULL "
    "ELSE true END",
    "none_match": "CASE WHEN tl_a IS NULL THEN NULL WHEN LIST_BOOL_OR(tl_m) THEN false "
    "WHEN LIST_CONTAINS(LIST_TRANSFORM(tl_m, LAMBDA tl_v: tl_v IS NULL), true) THEN NULL "
    "ELSE true END",
}


def fix_array_matches(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``any_match``, ``all_match``, ``none_match`` with Trino's three-valued answers.

    Trino: "Returns whether any elements of an array match the given
    predicate. Returns true if one or more elements match the predicate;
    false if none of the elements matches (a special case is when the array
    is empty); NULL if the predicate function returns NULL for one or more
    elements and false for all other elements." DuckDB has none of them.
    """
    if not isinstance(node, exp.Anonymous) or str(node.this).lower() not in _MATCHES:
        return node
    array, predicate = node.expressions
    matches = exp.Anonymous(this="LIST_TRANSFORM", expressions=[array, predicate])
    return template(_MATCHES[str(node.this).lower()], a=array, m=matches)


def fix_maps_and_bytes(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``cardinality(map)`` and ``length(varbinary)``: Trino's counts of entries and bytes.

    sqlglot writes ``cardinality`` as DuckDB's ``ARRAY_LENGTH``, which has no
    map form, and ``length`` of ``to_utf8(x)`` as ``LENGTH(BLOB)``, which
    DuckDB refuses; DuckDB's ``CARDINALITY`` and ``OCTET_LENGTH`` are the same.
    """
    if isinstance(node, exp.ArraySize) and types.is_type(node, 0, tt.MAP):
        return exp.Anonymous(this="CARDINALITY", expressions=[node.this])
    if isinstance(node, exp.Length) and types.is_type(node, 0, tt.VARBINARY):
        return exp.Anonymous(this="OCTET_LENGTH", expressions=[node.this])
    if isinstance(node, exp.Normalize):
        # Trino's normalize(string) is NFC, DuckDB's nfc_normalize; other forms are refused.
        if node.args.get("form") not in (None, False) and str(node.args.get("form")) != "NFC":
            raise QueryError(
                "normalize(string, form) is not reproduced locally: Athena would use the form"
            )
        return exp.Anonymous(this="NFC_NORMALIZE", expressions=[node.this])
    return node


FUNCTION_FIXES: tuple[Fix, ...] = (
    *ZONED_FIXES,
    fix_renamed_functions,
    fix_joda_formats,
    fix_mysql_formats,
    fix_date_arithmetic_type,
    fix_date_diff,
    fix_substr,
    fix_split,
    fix_split_part,
    fix_regexp_extract,
    fix_regexp_replace,
    fix_arrays,
    fix_subscripts,
    fix_sequence,
    fix_maps_and_bytes,
    fix_array_matches,
    *NUMBER_FIXES,
    fix_json_values,
    *CAST_FIXES,
    fix_json_extract,
    fix_unicode_case,
    fix_urls,
    fix_strpos_instance,
    fix_width_bucket,
    fix_zip,
    fix_row_subscript,
    fix_format_number,
    fix_from_iso8601_timestamp,
    fix_format,
)
"""Function-level fixes, applied after :data:`telelake.analytics.dialect.FIXES`' generic ones."""

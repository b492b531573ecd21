"""Trino functions DuckDB has no form of: ``strpos`` with an instance, ``width_bucket``, ``zip``.

Each fix writes the function as DuckDB SQL that returns what Trino's
implementation returns, checks and errors included (the Trino class that
decides is named in the docstring), and NULL where any argument is NULL, as
for every Trino function that is not ``@SqlNullable``. A ``ROW`` subscript
(``r[2]``), which DuckDB refuses on a struct with named fields, is here too.
Every fix is listed in :data:`telelake.analytics.trino_functions.FUNCTION_FIXES`.
"""

from __future__ import annotations

from sqlglot import exp

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_rewrite import OperandTypes, call, subscript, template
from telelake.errors import QueryError


def fix_strpos_instance(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``strpos(string, substring, instance)``: the N-th match, from the end when N < 0.

    Trino (StringFunctions.stringPosition): instance 0 fails with "'instance'
    must be a positive or negative number."; an empty substring is at 1;
    matches may overlap (the search restarts one character after the last
    match: ``strpos('aaa', 'aa', 2)`` = 2); the position counts code points
    from 1, 0 when there is no N-th match. sqlglot cannot write DuckDB SQL for
    the third argument. Here every start whose substring equals the search
    string is listed, and the N-th (or N-th from the end) taken.
    """
    if not isinstance(node, exp.StrPosition) or node.args.get("occurrence") is None:
        return node
    return template(
        "CASE WHEN tl_s IS NULL OR tl_t IS NULL OR tl_n IS NULL THEN NULL "
        "WHEN tl_n = 0 THEN ERROR('''instance'' must be a positive or negative number.') "
        "WHEN tl_t = '' THEN CAST(1 AS BIGINT) "
        "ELSE COALESCE(LIST_EXTRACT(LIST_FILTER(RANGE(1, LENGTH(tl_s) + 1), LAMBDA tl_q: "
        "SUBSTR(tl_s, tl_q, LENGTH(tl_t)) = tl_t), tl_n), 0) END",
        s=node.this,
        t=node.args["substr"],
        n=node.args["occurrence"],
    )


def fix_width_bucket(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``width_bucket(x, bound1, bound2, n)``: Trino's bucket of ``x``, its checks and its order.

    Trino (MathFunctions.widthBucket): "bucketCount must be greater than 0",
    "operand must not be NaN", "first bound must be finite", "second bound
    must be finite", "bounds cannot equal each other"; below the lower bound
    0, at or above the upper ``n + 1``, else ``(long) (n * (x - lower) /
    (upper - lower) + 1)`` (truncated); with ``bound1 > bound2`` the buckets
    count down (``n - bucket + 1``). DuckDB has no width_bucket. The form with
    an array of bins is refused.
    """
    if not isinstance(node, exp.WidthBucket):
        return node
    if node.args.get("num_buckets") is None:
        raise QueryError(
            "width_bucket(x, bins) is not reproduced locally: Athena would binary-search the "
            "bins as Trino does, checking only the bins it visits"
        )
    plain = (
        "CAST(TRUNC(CAST(tl_n AS DOUBLE) * (tl_x - LEAST(tl_a, tl_b)) / "
        "(GREATEST(tl_a, tl_b) - LEAST(tl_a, tl_b)) + 1) AS BIGINT)"
    )
    return template(
        "CASE WHEN tl_x IS NULL OR tl_a IS NULL OR tl_b IS NULL OR tl_n IS NULL THEN NULL "
        "WHEN tl_n <= 0 THEN ERROR('bucketCount must be greater than 0') "
        "WHEN ISNAN(tl_x) THEN ERROR('operand must not be NaN') "
        "WHEN NOT ISFINITE(tl_a) THEN ERROR('first bound must be finite') "
        "WHEN NOT ISFINITE(tl_b) THEN ERROR('second bound must be finite') "
        "WHEN tl_a = tl_b THEN ERROR('bounds cannot equal each other') "
        "WHEN tl_x >= GREATEST(tl_a, tl_b) AND tl_n = 9223372036854775807 "
        "THEN ERROR('Bucket for value ' || tl_x || ' is out of range') "
        "WHEN tl_x < LEAST(tl_a, tl_b) THEN CASE WHEN tl_a > tl_b THEN tl_n + 1 ELSE 0 END "
        "WHEN tl_x >= GREATEST(tl_a, tl_b) THEN CASE WHEN tl_a > tl_b THEN 0 ELSE tl_n + 1 END "
        f"WHEN tl_a > tl_b THEN tl_n - {plain} + 1 ELSE {plain} END",
        x=exp.cast(node.this, exp.DType.DOUBLE),
        a=exp.cast(node.args["min_value"], exp.DType.DOUBLE),
        b=exp.cast(node.args["max_value"], exp.DType.DOUBLE),
        n=exp.cast(node.args["num_buckets"], exp.DType.BIGINT),
    )


def zip_type(args: list[tt.TType | None]) -> tt.TType | None:
    """``zip(array(T1), .., array(Tn))`` is ``array(row(T1, .., Tn))`` for 2 to 5 arrays."""
    shown = ", ".join(str(a) if a else "unknown" for a in args)
    if not 2 <= len(args) <= 5:
        raise QueryError(
            f"Unexpected parameters ({shown}) for function zip. Expected: zip(array(T1), "
            "array(T2)) .. zip(array(T1), array(T2), array(T3), array(T4), array(T5))"
        )
    fields: list[tuple[str | None, tt.TType | None]] = []
    for arg in args:
        if arg is not None and arg.name not in (tt.ARRAY, tt.UNKNOWN):
            raise QueryError(f"Unexpected parameters ({shown}) for function zip")
        fields.append((None, arg.element if arg is not None and arg.name == tt.ARRAY else None))
    if any(t is None for _, t in fields):
        return None
    return tt.array(tt.TType(tt.ROW, tuple(fields)))


def fix_zip(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``zip(a, b, ...)``: element-wise rows, the shorter arrays padded with NULL.

    Trino's documentation: "Merges the given arrays, element-wise, into a
    single array of rows ... If the arguments have an uneven length, missing
    values are filled with NULL": ``zip(ARRAY[1, 2], ARRAY['1b', null,
    '3b'])`` = ``[ROW(1, '1b'), ROW(2, null), ROW(null, '3b')]``. DuckDB's
    ``LIST_ZIP`` pads the same way but zips a NULL array as empty; Trino's
    result is then NULL.
    """
    args = call(node, "zip")
    if args is None:
        return node
    nulls = " OR ".join(f"tl_{i} IS NULL" for i in range(len(args)))
    zipped = exp.Anonymous(this="LIST_ZIP", expressions=[a.copy() for a in args])
    return template(
        f"CASE WHEN {nulls} THEN NULL ELSE tl_zipped END",
        zipped=zipped,
        **{str(i): a for i, a in enumerate(args)},
    )


def row_field_type(node: exp.Bracket, base: tt.TType) -> tt.TType | None:
    """The type of ``row[i]``: a constant integer from 1, as Trino's ExpressionAnalyzer demands."""
    index = subscript(node)
    literal = index.this if isinstance(index, exp.Neg) else index
    if not (isinstance(literal, exp.Literal) and literal.is_int):
        raise QueryError("Subscript expression on ROW requires a constant index")
    position = -int(literal.this) if isinstance(index, exp.Neg) else int(literal.this)
    if position > 2**31 - 1:
        raise QueryError("Subscript expression on ROW requires integer index, found bigint")
    if position <= 0:
        raise QueryError(f"Invalid subscript index: {position}. ROW indices start at 1")
    fields = base.fields
    if position > len(fields):
        raise QueryError(f"Subscript index out of bounds: {position}, max value is {len(fields)}")
    return fields[position - 1][1]


def fix_row_subscript(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``row[i]`` is the i-th field, named or not (DuckDB reads ``[i]`` only on unnamed structs).

    Trino: "Subscript on Row ... Its Type is resolved by hand", a constant
    index from 1 (checked by :func:`row_field_type`); DuckDB's
    ``STRUCT_EXTRACT_AT`` takes the field by position whatever its name.
    """
    if not isinstance(node, exp.Bracket) or node.args.get("safe") or not node.expressions:
        return node
    base = types.arg(node, "this")
    if base is None or base.name != tt.ROW:
        return node
    return exp.Anonymous(this="STRUCT_EXTRACT_AT", expressions=[node.this, subscript(node)])


def _divided(times: int) -> str:
    return "d" + " / 1000" * times


# format_number's DuckDB macros. trino_fn_scaled/unit divide by 1000 while |d| >= 1000, as
# Trino's loop does (the same IEEE divisions, one after another, at most five times).
# trino_fn_digits is |v| * p rounded HALF_UP on v's exact binary value, as Java's
# DecimalFormat rounds: for |v| >= 1 the fraction is m / 2^52 with m an exact integer.
FORMAT_MACROS: tuple[str, ...] = (
    "CREATE MACRO trino_fn_scaled(d) AS CASE "
    + " ".join(f"WHEN ABS({_divided(i)}) < 1000 THEN {_divided(i)}" for i in range(5))
    + f" ELSE {_divided(5)} END",
    "CREATE MACRO trino_fn_unit(d) AS CASE "
    + " ".join(
        f"WHEN ABS({_divided(i)}) < 1000 THEN '{unit}'"
        for i, unit in enumerate(("", "K", "M", "B", "T"))
    )
    + " ELSE 'Q' END",
    "CREATE MACRO trino_fn_places(s) AS CASE WHEN s < 10 THEN 100 WHEN s < 100 THEN 10 ELSE 1 END",
    "CREATE MACRO trino_fn_frac(v) AS CAST((ABS(v) - TRUNC(ABS(v))) * 4503599627370496 AS BIGINT)",
    "CREATE MACRO trino_fn_digits(v, p) AS CAST(TRUNC(ABS(v)) AS BIGINT) * p "
    "+ (trino_fn_frac(v) * p) // 4503599627370496 "
    "+ CASE WHEN 2 * ((trino_fn_frac(v) * p) % 4503599627370496) >= 4503599627370496 "
    "THEN 1 ELSE 0 END",
    "CREATE MACRO trino_fn_text(v, p, t) AS (CASE WHEN v < 0 THEN '-' ELSE '' END) "
    "|| CAST(t // p AS VARCHAR) || CASE WHEN p = 1 OR t % p = 0 THEN '' ELSE '.' "
    "|| RTRIM(LPAD(CAST(t % p AS VARCHAR), CASE WHEN p = 100 THEN 2 ELSE 1 END, '0'), '0') END",
    "CREATE MACRO trino_format_number(n) AS trino_fn_text(trino_fn_scaled(CAST(n AS DOUBLE)), "
    "trino_fn_places(trino_fn_scaled(CAST(n AS DOUBLE))), "
    "trino_fn_digits(trino_fn_scaled(CAST(n AS DOUBLE)), "
    "trino_fn_places(trino_fn_scaled(CAST(n AS DOUBLE))))) "
    "|| trino_fn_unit(CAST(n AS DOUBLE))",
)


def fix_format_number(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``format_number(x)``: Trino's ``K M B T Q`` units and its rounding.

    Trino (FormatNumberFunction): a double is first cast to a long (Java's
    ``(long)``: truncated, NaN is 0, saturated at the long range); the value
    is divided by 1000 while it is at least 1000 in magnitude, then written
    with ``#.##`` below 10 (every negative value included), ``#.#`` below 100,
    ``#`` above, rounded HALF_UP, and the unit appended: ``format_number(1234)``
    = ``1.23K``, ``format_number(-12345)`` = ``-12.35K``, ``999999`` gives
    ``1000K``. DuckDB has no such function (:data:`FORMAT_MACROS` is it).
    """
    args = call(node, "format_number")
    if args is None or len(args) != 1:
        return node
    value = args[0]
    if types.is_type(node, 0, tt.DOUBLE, tt.REAL, tt.DECIMAL):
        value = template(
            "CASE WHEN ISNAN(tl_x) THEN 0 WHEN tl_x >= 9.223372036854775807e18 "
            "THEN 9223372036854775807 WHEN tl_x <= -9.223372036854775808e18 "
            "THEN -9223372036854775808 ELSE CAST(TRUNC(tl_x) AS BIGINT) END",
            x=exp.cast(value, exp.DType.DOUBLE),
        )
    return exp.Anonymous(this="trino_format_number", expressions=[value])

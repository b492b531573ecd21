"""Trino's numbers on DuckDB: decimal division, bigint sums, ``typeof``, doubles as text.

Where the same arithmetic gives another value or another type:

- ``1.0 / 3`` is a decimal in Trino, rounded half up to the larger scale
  (``0.3``); DuckDB divides decimals as doubles (``0.333...``);
- ``sum`` of integers is a ``bigint`` that overflows with an error past
  2^63 - 1; DuckDB widens to a 128-bit integer and answers;
- ``typeof`` prints Trino's type names (``varchar(3)``, ``decimal(2,1)``);
- ``CAST(4.5E0 AS varchar)`` is ``4.5E0`` (Java's ``DecimalFormat
  "0.0###################E0"``), where DuckDB prints ``4.5``;
- ``infinity()``, ``nan()``, ``is_finite``, ``is_infinite`` do not exist in DuckDB.

Each fix is listed in :data:`telelake.analytics.trino_functions.FUNCTION_FIXES`;
the DuckDB macros they call are created by the engine (:data:`MACROS`).
"""

from __future__ import annotations

from sqlglot import exp

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_rewrite import OperandTypes, call, template
from telelake.errors import QueryError

MACROS: tuple[str, ...] = (
    # A sum of integers as Trino's bigint: its error past the range, not a HUGEINT.
    "CREATE MACRO trino_bigint_sum(s) AS CASE WHEN s > 9223372036854775807 "
    "OR s < -9223372036854775808 THEN error('bigint addition overflow: the sum is ' || s) "
    "ELSE CAST(s AS BIGINT) END",
    # Integer division of n by d rounded half away from zero (DecimalOperators.divide).
    "CREATE MACRO trino_div_round(n, d) AS "
    "n // d + CASE WHEN abs(n % d) * 2 >= abs(d) THEN sign(n) * sign(d) ELSE 0 END",
    # A double as Java's DecimalFormat("0.0###################E0") prints it, from
    # DuckDB's shortest round-trip text: digits, then the decimal exponent.
    "CREATE MACRO trino_sci4(digits, x, neg) AS (CASE WHEN neg THEN '-' ELSE '' END) "
    "|| left(rtrim(digits, '0'), 1) || '.' "
    "|| coalesce(nullif(substr(rtrim(digits, '0'), 2), ''), '0') || 'E' || CAST(x AS VARCHAR)",
    "CREATE MACRO trino_sci3(ip, fp, e, neg) AS trino_sci4(ltrim(ip || fp, '0'), "
    "length(ip) - 1 + e - (length(ip || fp) - length(ltrim(ip || fp, '0'))), neg)",
    "CREATE MACRO trino_sci2(m, e, neg) AS trino_sci3(split_part(m, '.', 1), "
    "split_part(m, '.', 2), e, neg)",
    "CREATE MACRO trino_double_text(d) AS CASE WHEN d IS NULL THEN NULL "
    "WHEN isnan(d) THEN 'NaN' "
    "WHEN isinf(d) THEN CASE WHEN d > 0 THEN 'Infinity' ELSE '-Infinity' END "
    "WHEN d = 0 THEN CASE WHEN CAST(d AS VARCHAR) LIKE '-%' THEN '-0E0' ELSE '0E0' END "
    "ELSE trino_sci2(regexp_extract(CAST(abs(d) AS VARCHAR), '^([0-9.]+)', 1), "
    "coalesce(TRY_CAST(regexp_extract(CAST(abs(d) AS VARCHAR), 'e([+-]?[0-9]+)$', 1) "
    "AS INTEGER), 0), d < 0) END",
)


def fix_typeof(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``typeof(x)`` is Trino's name of x's type: ``integer``, ``varchar(3)``, ``decimal(2,1)``.

    DuckDB prints its own names (``INTEGER``, ``VARCHAR``, ``DECIMAL(2,1)``).
    The checker knows the Trino type, so the answer is a constant.
    """
    if not isinstance(node, exp.Typeof):
        return node
    found = types.arg(node, "this")
    if found is None:
        raise QueryError(
            "typeof() of an expression whose Trino type telelake cannot work out is not "
            "reproduced locally: Athena would print its Trino type"
        )
    return exp.Literal.string(str(found))


def fix_integer_sum(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``sum`` of integers is a ``bigint`` in Trino, and an overflow is an error.

    Trino: "bigint addition overflow".

    DuckDB sums into a 128-bit ``HUGEINT``, so a total past 2^63 - 1 comes
    back as a number. Casting the sum to ``BIGINT`` fails there instead.
    """
    # An aggregate under OVER or FILTER is cast as a whole, from its wrapper.
    target = node.this if isinstance(node, (exp.Window, exp.Filter)) else node
    if not isinstance(target, exp.Sum) or isinstance(node.parent, (exp.Window, exp.Filter)):
        return node
    found = types.type(node)
    if found is None or found.name != tt.BIGINT:
        return node
    return exp.Anonymous(this="trino_bigint_sum", expressions=[node])


def _unscaled(node: exp.Expr, kind: tt.TType) -> exp.Expr:
    """The unscaled integer of a decimal (or an integer as it is), as HUGEINT."""
    if kind.name == tt.DECIMAL and kind.scale:
        node = exp.Mul(this=node, expression=exp.Literal.number(10**kind.scale))
    return exp.Cast(this=node, to=exp.DataType.build("HUGEINT"))


def _scaled(unscaled: exp.Expr, result: tt.TType) -> exp.Expr:
    """DECIMAL(p, s) whose unscaled value is the HUGEINT ``unscaled``, exactly."""
    whole: exp.Expr = exp.Cast(this=unscaled, to=exp.DataType.build("DECIMAL(38, 0)"))
    if result.scale:
        step = exp.Cast(
            this=exp.Literal.string(f"{10**-result.scale:.{result.scale}f}"),
            to=exp.DataType.build(f"DECIMAL({result.scale + 1}, {result.scale})"),
        )
        whole = exp.Mul(this=whole, expression=step)
    return exp.Cast(
        this=whole, to=exp.DataType.build(f"DECIMAL({result.precision}, {result.scale})")
    )


def fix_decimal_division(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """Decimal ``/`` is decimal in Trino: scale max(s1, s2), rounded half up (``1.0 / 3`` = 0.3).

    Trino's ``DecimalOperators``: result ``decimal(min(38, p1 + s2 + max(s2 -
    s1, 0)), max(s1, s2))``, the quotient rounded half away from zero. DuckDB
    returns a double. The rewrite divides the unscaled integers (HUGEINT)
    and rounds as Trino does; ``avg`` of a decimal is its exact sum divided
    by its count the same way (Trino's ``DecimalAverageAggregation``).
    """
    if isinstance(node, exp.Div):
        a, b, result = types.of(node, 0), types.of(node, 1), types.type(node)
        if a is None or b is None or result is None or result.name != tt.DECIMAL:
            return node
        da = tt._coerce_base(a, tt.DECIMAL) if a.name != tt.UNKNOWN else tt.decimal(1, 0)
        db = tt._coerce_base(b, tt.DECIMAL) if b.name != tt.UNKNOWN else tt.decimal(1, 0)
        assert da is not None and db is not None
        rescale = result.scale - da.scale + db.scale
        numerator = exp.Mul(
            this=_unscaled(node.this, da),
            expression=exp.Cast(
                this=exp.Literal.number(10**rescale), to=exp.DataType.build("HUGEINT")
            ),
        )
        quotient = exp.Anonymous(
            this="trino_div_round", expressions=[numerator, _unscaled(node.expression, db)]
        )
        return _scaled(quotient, result)
    if isinstance(node, exp.Avg):
        found, result = types.arg(node, "this"), types.type(node)
        if found is None or found.name != tt.DECIMAL or result is None:
            return node
        if isinstance(node.parent, (exp.Window, exp.Filter)) or node.args.get("distinct"):
            raise QueryError(
                "avg() of a decimal in a window, with FILTER or DISTINCT is not reproduced "
                "locally: Athena would return an exact decimal average"
            )
        total = _unscaled(exp.Sum(this=node.this.copy()), found)
        count = exp.Cast(this=exp.Count(this=node.this.copy()), to=exp.DataType.build("HUGEINT"))
        quotient = exp.Anonymous(this="trino_div_round", expressions=[total, count])
        return template(
            "CASE WHEN tl_n = 0 THEN NULL ELSE tl_q END", n=count, q=_scaled(quotient, result)
        )
    return node


def fix_decimal_round(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``round(decimal, n)`` keeps its type's scale in Trino: ``round(2.345, 2)`` is ``2.350``.

    (And ``sign(double)`` is a double, -1.0, where DuckDB answers an integer.)

    Trino docs: "round(x, d) → [same as input]". DuckDB's decimal round
    returns the value at scale n (``2.35``): equal as a number, different as
    text. The result is cast back to the Trino type.
    """
    if isinstance(node, exp.Sign) and types.is_type(node, 0, tt.DOUBLE):
        # Trino's sign(double) is a double (-1.0); DuckDB's is an integer.
        return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))
    if not isinstance(node, exp.Round) or node.args.get("decimals") is None:
        return node
    found = types.type(node)
    if found is None or found.name != tt.DECIMAL:
        return node
    kind = exp.DataType.build(f"DECIMAL({found.precision}, {found.scale})")
    return exp.Cast(this=node, to=kind)


def fix_double_functions(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``infinity()``, ``nan()``, ``is_finite(x)``, ``is_infinite(x)``: Trino's IEEE helpers.

    DuckDB has none of these names; its ``'Infinity'::DOUBLE``, ``isfinite``
    and ``isinf`` are the same values.
    """
    for name, sql in (
        ("infinity", "CAST('Infinity' AS DOUBLE)"),
        ("nan", "CAST('NaN' AS DOUBLE)"),
        ("is_finite", "ISFINITE(CAST(tl_a AS DOUBLE))"),
        ("is_infinite", "ISINF(CAST(tl_a AS DOUBLE))"),
    ):
        args = call(node, name)
        if args is not None:
            return exp.Paren(this=template(sql, **dict(zip("a", args, strict=False))))
    return node


def fix_double_to_varchar(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``CAST(double AS varchar)`` prints scientific notation in Trino: ``4.5E0``, ``1.0E-3``.

    Trino's ``DoubleOperators.castToVarchar``: ``DecimalFormat("0.0###################E0")``,
    ``0E0`` for zero, ``NaN``, ``Infinity``. DuckDB prints ``4.5``. A real is
    refused: Trino formats its widened double digits.
    """
    if not isinstance(node, (exp.Cast, exp.TryCast)) or not node.to.is_type(
        exp.DType.VARCHAR, exp.DType.TEXT
    ):
        return node
    found = types.of(node, 0)
    if found is not None and found.name == tt.REAL:
        raise QueryError(
            "CAST(real AS varchar) is not reproduced locally: Athena would print the real's "
            "digits as a double's"
        )
    if found is not None and found.name == tt.DOUBLE:
        return exp.Anonymous(this="trino_double_text", expressions=[node.this])
    return node


NUMBER_FIXES = (
    fix_typeof,
    fix_integer_sum,
    fix_decimal_division,
    fix_decimal_round,
    fix_double_functions,
)
"""Number fixes; :func:`fix_double_to_varchar` runs with the casts (trino_casts)."""

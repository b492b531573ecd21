"""Trino's casts from and to ``varchar`` on DuckDB.

DuckDB's casts from text are lenient where Trino's are strict:
``CAST('12.5' AS integer)`` is 13 in DuckDB and an error in Trino
(``Integer.parseInt``), ``' 12'`` parses in DuckDB and not in Trino, and
``'2021-01-05 10:00'`` is a date in DuckDB but not in Trino. The text form of
a value differs too: Trino prints a ``timestamp(3)`` with its three
fraction digits, a ``timestamp with time zone`` with its zone, a double in
scientific notation (:mod:`telelake.analytics.trino_numbers`).

A string literal is checked here, in Python, with Trino's rules (the
value is then cast as written, or the query fails with Trino's message); a
column is checked in SQL with a regular expression for Trino's syntax, so
``try_cast`` gives NULL exactly where Trino's does.
"""

from __future__ import annotations

import re

from sqlglot import exp

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_numbers import fix_double_to_varchar
from telelake.analytics.trino_rewrite import OperandTypes, template
from telelake.analytics.trino_zoned import MACROS as _ZONED
from telelake.analytics.trino_zoned import duckdb_zone, wall
from telelake.errors import QueryError

# Target -> (Trino's syntax as a full-match RE2 pattern, Trino's name in its message).
# Integers: Java's Integer.parseInt etc. (sign, ASCII digits, no spaces); booleans:
# VarcharOperators.castToBoolean; doubles: Double.parseDouble (trims, takes NaN,
# Infinity and a d/f suffix); dates: parseDate (trimmed yyyy-M-d); timestamps:
# DateTimes.DATETIME_PATTERN without a zone.
_SYNTAX: dict[str, tuple[str, str]] = {
    tt.TINYINT: (r"[+-]?[0-9]+", "TINYINT"),
    tt.SMALLINT: (r"[+-]?[0-9]+", "SMALLINT"),
    tt.INTEGER: (r"[+-]?[0-9]+", "INT"),
    tt.BIGINT: (r"[+-]?[0-9]+", "BIGINT"),
    tt.BOOLEAN: (r"(?i)(t|f|1|0|true|false)", "BOOLEAN"),
    tt.DOUBLE: (
        r"\s*[+-]?(NaN|Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[fFdD]?)\s*",
        "DOUBLE",
    ),
    tt.DATE: (r"\s*[+-]?[0-9]{4,9}-[0-9]{1,2}-[0-9]{1,2}\s*", "date"),
    tt.TIMESTAMP: (
        r"[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}"
        r"( ([0-9]{1,2}):([0-9]{1,2})(:([0-9]{1,2})(\.[0-9]+)?)?)?\s*",
        "timestamp",
    ),
}
_RANGES = {tt.TINYINT: 2**7, tt.SMALLINT: 2**15, tt.INTEGER: 2**31, tt.BIGINT: 2**63}

MACROS: tuple[str, ...] = (
    # The offset of instant i in zone z as ISO 8601 writes it: Z, or +hh:mm.
    "CREATE MACRO trino_offset_text2(s) AS CASE WHEN s = 0 THEN 'Z' ELSE "
    "(CASE WHEN s < 0 THEN '-' ELSE '+' END) || lpad(CAST(abs(s) // 3600 AS VARCHAR), 2, '0') "
    "|| ':' || lpad(CAST(abs(s) % 3600 // 60 AS VARCHAR), 2, '0') END",
    "CREATE MACRO trino_offset_text(i, z) AS "
    "trino_offset_text2(CAST(epoch(trino_offset(i, z)) AS BIGINT))",
)
assert _ZONED  # trino_offset, used above, is created with the zoned macros


def _message(target: str, value: str) -> str:
    name = _SYNTAX[target][1]
    if target in (tt.DATE, tt.TIMESTAMP):
        return f"Value cannot be cast to {name}: {value}"
    return f"Cannot cast '{value}' to {name}"


def _literal_ok(target: str, value: str) -> bool:
    pattern = _SYNTAX[target][0]
    if not re.fullmatch(
        pattern.replace("(?i)", ""), value, re.IGNORECASE if "(?i)" in pattern else 0
    ):
        return False
    if target in _RANGES:
        return -_RANGES[target] <= int(value) < _RANGES[target]
    return True


# date_format patterns (as sqlglot holds them) whose text Trino's timestamp cast reads back
# as the same wall time, truncated to the last field written.
_ROUND_TRIPS = {"%Y-%m-%d %H:%M:%S": "SECOND", "%Y-%m-%d %H:%M": "MINUTE", "%Y-%m-%d": "DAY"}


def fix_format_round_trip(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``CAST(date_format(x, '%Y-%m-%d %H:%i:%s') AS timestamp)`` is ``x`` truncated to the second.

    Trino formats the wall time and parses the text back (the original
    design's fourth query does this for every message); the value is the
    wall time without its fraction, for any year ``%Y`` writes with four or
    more digits, which Trino's timestamp syntax reads back. DuckDB computes
    it without building and parsing a string per row.
    """
    if not isinstance(node, exp.Cast) or not node.to.is_type(exp.DType.TIMESTAMP):
        return node
    text = node.this
    if not isinstance(text, exp.TimeToStr) or types.type(node) != tt.timestamp(3):
        return node
    fmt = text.args.get("format")
    unit = _ROUND_TRIPS.get(str(fmt.this)) if isinstance(fmt, exp.Literal) else None
    source = types.arg(node, "this")
    if unit is None or source is None or source.name != tt.VARCHAR:
        return node
    return exp.TimestampTrunc(this=text.this, unit=exp.var(unit))


def fix_cast_from_varchar(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``CAST(varchar AS integer|bigint|boolean|double|date|timestamp)`` parses as Trino parses.

    (``date(varchar)`` is the same cast; ``from_iso8601_date`` takes yyyy-MM-dd.)

    Trino: ``CAST('12.5' AS integer)`` fails ("Cannot cast '12.5' to INT"),
    ``try_cast('12.5' AS integer)`` and ``try_cast(' 12' AS integer)`` are
    NULL; DuckDB returns 13 and 12. A value outside Trino's syntax fails (or
    is NULL under ``try_cast``) before DuckDB's cast sees it; a timestamp is
    rounded to Trino's milliseconds. A cast to a decimal follows
    BigDecimal's syntax, HALF_UP rounding and the range (``_to_decimal``).
    """
    if isinstance(node, exp.Date) and types.is_type(node, 0, tt.VARCHAR, tt.CHAR):
        # date(varchar) is CAST(varchar AS date) in Trino (its docs: "This is an alias for
        # CAST(x AS date)"), strict in the same way.
        node = exp.Cast(this=node.this, to=exp.DataType.build("DATE"))
        return _from_varchar(node, tt.T_DATE)
    if isinstance(node, exp.FromISO8601Date):
        # The calendar form yyyy-MM-dd is a date in both; Trino also reads week and
        # ordinal dates (2020-W10-1, 2020-123), which are refused rather than misread.
        return template(
            "CASE WHEN REGEXP_FULL_MATCH(tl_s, '[0-9]{4}-[0-9]{2}-[0-9]{2}') "
            "THEN CAST(tl_s AS DATE) WHEN tl_s IS NOT NULL THEN ERROR('from_iso8601_date of ' || "
            "tl_s || ' is not reproduced locally: Athena would read it as ISO 8601') END",
            s=node.this,
        )
    if not isinstance(node, (exp.Cast, exp.TryCast)):
        return node
    source, target = types.of(node, 0), types.type(node)
    if source is None or target is None or source.name not in (tt.VARCHAR, tt.CHAR):
        return node
    return _from_varchar(node, target)


def _from_varchar(node: exp.Cast, target: tt.TType) -> exp.Expr:
    safe = isinstance(node, exp.TryCast)
    operand = node.this
    if target.name == tt.DECIMAL:
        return _to_decimal(node, target)
    if target.name not in _SYNTAX:
        return node
    if isinstance(operand, exp.Literal) and operand.is_string:
        if _literal_ok(target.name, str(operand.this)):
            node.set("this", exp.Literal.string(_normalised(target, str(operand.this))))
            fraction = re.search(r"\.([0-9]+)\s*$", str(operand.this))
            if target.name == tt.TIMESTAMP and fraction and len(fraction.group(1)) > 3:
                return _milliseconds(node)
            return node
        if safe:
            return exp.Cast(this=exp.Null(), to=node.to)
        raise QueryError(_message(target.name, str(operand.this)))
    pattern = _SYNTAX[target.name][0]
    cleaned: exp.Expr = operand
    if target.name == tt.DOUBLE:
        cleaned = template("REGEXP_REPLACE(TRIM(tl_s), '[fFdD]$', '')", s=operand)
    elif target.name == tt.DATE:
        cleaned = exp.Trim(this=operand)
    plain: exp.Expr = (
        exp.TryCast(this=cleaned, to=node.to) if safe else exp.Cast(this=cleaned, to=node.to)
    )
    if target.name == tt.TIMESTAMP and target.precision == 3:
        plain = _milliseconds(plain)
    failure = "NULL"
    if not safe:
        before, after = _message(target.name, "\x00").split("\x00")
        failure = f"ERROR({_quote(before)} || tl_s || {_quote(after)})"
    return template(
        f"CASE WHEN tl_s IS NULL THEN NULL WHEN REGEXP_FULL_MATCH(tl_s, {_quote(pattern)}) "
        f"THEN tl_plain ELSE {failure} END",
        s=operand,
        plain=plain,
    )


# java.math.BigDecimal(String): a sign, digits with an optional point, an optional exponent.
_BIG_DECIMAL = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"


def _to_decimal(node: exp.Cast, target: tt.TType) -> exp.Expr:
    """``CAST(varchar AS decimal(p, s))`` as Trino's DecimalCasts: BigDecimal, HALF_UP, range.

    Trino: ``new BigDecimal(value).setScale(s, HALF_UP)`` ("Cannot cast VARCHAR
    '%s' to DECIMAL(%s, %s). Value is not a number." for text BigDecimal
    refuses: spaces, ``NaN``, ``1,5``), then "... Value too large." when more
    than p digits remain. DuckDB trims spaces but otherwise rounds the same
    way (half away from zero: the first dropped digit decides) and yields
    NULL under TRY_CAST when the value does not fit.
    """
    shown = f"DECIMAL({target.precision}, {target.scale})"
    failures = ["NULL", "NULL"]
    if not isinstance(node, exp.TryCast):
        failures = [
            f"ERROR('Cannot cast VARCHAR ''' || tl_s || ''' to {shown}. Value {why}.')"
            for why in ("is not a number", "too large")
        ]
    fitted = exp.TryCast(this=node.this, to=node.to)
    return template(
        "CASE WHEN tl_s IS NULL THEN NULL "
        f"WHEN NOT REGEXP_FULL_MATCH(tl_s, {_quote(_BIG_DECIMAL)}) THEN {failures[0]} "
        f"WHEN tl_fitted IS NULL THEN {failures[1]} ELSE tl_fitted END",
        s=node.this,
        fitted=fitted,
    )


def _milliseconds(stamp: exp.Expr) -> exp.Expr:
    """A timestamp rounded half up to Trino's milliseconds (DuckDB keeps microseconds)."""
    return template("DATE_TRUNC('millisecond', tl_t + INTERVAL 500 MICROSECOND)", t=stamp)


def _normalised(target: tt.TType, text: str) -> str:
    """A literal Trino accepts, as DuckDB reads it the same way: suffixes, spaces, rounding."""
    if target.name == tt.DOUBLE:
        return re.sub(r"[fFdD]$", "", text.strip())
    if target.name == tt.DATE:
        return text.strip()
    return text


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _timestamp_text(value: exp.Expr, precision: int, separator: str = " ") -> exp.Expr:
    """``value`` (a DuckDB TIMESTAMP) as Trino writes a timestamp(precision): p fraction digits."""
    if precision > 6:
        raise QueryError(
            f"timestamp({precision}) as text is not reproduced locally: Athena would print "
            f"{precision} fraction digits"
        )
    fraction = ".%f" if precision else ""
    text = exp.Anonymous(
        this="STRFTIME",
        expressions=[value, exp.Literal.string(f"%Y-%m-%d{separator}%H:%M:%S{fraction}")],
    )
    if precision in (0, 6):
        return text
    # Trino writes exactly p digits: the first p of the microseconds.
    return exp.Anonymous(this="LEFT", expressions=[text, exp.Literal.number(20 + precision)])


def fix_cast_to_varchar(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``CAST(x AS varchar)`` of a timestamp or a zoned timestamp prints as Trino prints it.

    Trino: ``CAST(TIMESTAMP '2024-01-08 00:30:00.000' AS varchar)`` =
    ``2024-01-08 00:30:00.000`` (the type's precision decides the fraction
    digits: none for ``timestamp(0)``); a ``timestamp with time zone`` adds its
    zone: ``2021-01-04 00:00:00.000 America/Sao_Paulo``. DuckDB prints
    ``2024-01-08 00:30:00`` and an offset. ``varchar(n)`` keeps the first n
    characters of a varchar, as Trino's cast does.
    """
    node = fix_double_to_varchar(node, types)
    if not isinstance(node, (exp.Cast, exp.TryCast)) or not node.to.is_type(
        exp.DType.VARCHAR, exp.DType.TEXT
    ):
        return node
    source, target = types.of(node, 0), types.type(node)
    if source is None:
        return node
    if source.name == tt.TIMESTAMP:
        return _timestamp_text(node.this, source.precision)
    if source.name == tt.TIMESTAMP_TZ:
        if not source.zone:
            raise QueryError(
                "CAST of a timestamp with time zone whose zone is not a constant to varchar is "
                "not reproduced locally: Athena would print each value in its own zone"
            )
        text = _timestamp_text(wall(node.this, source.zone), source.precision)
        return exp.DPipe(this=text, expression=exp.Literal.string(f" {source.zone}"))
    if source.name == tt.VARCHAR and target is not None and target.params:
        return exp.Substring(
            this=node.this, start=exp.Literal.number(1), length=exp.Literal.number(target.params[0])
        )
    return node


def fix_to_iso8601(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``to_iso8601(x)``: ``2021-01-04``, ``2021-01-04T00:30:00.000``, ``...000-03:00`` or ``...Z``.

    Trino formats a date as ISO_LOCAL_DATE, a timestamp with ``'T'`` and its
    precision's fraction digits, a zoned timestamp with its offset (``Z`` for
    UTC, Java's ``ZoneOffset`` text). DuckDB has no ``to_iso8601``.
    """
    if not (isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_iso8601"):
        return node
    found = types.arg(node, "expressions", 0)
    value = node.expressions[0]
    if found is None:
        return node
    if found.name == tt.DATE:
        return exp.Anonymous(this="STRFTIME", expressions=[value, exp.Literal.string("%Y-%m-%d")])
    text = _timestamp_text(value, found.precision, "T")
    if found.name == tt.TIMESTAMP:
        return text
    # Zoned: fix_wall_time has already turned the argument into the wall time.
    original = value.this if isinstance(value, exp.AtTimeZone) else value
    zone = duckdb_zone(found.zone or "UTC")
    offset = exp.Anonymous(
        this="trino_offset_text", expressions=[original.copy(), exp.Literal.string(zone)]
    )
    return exp.DPipe(this=text, expression=offset)


CAST_FIXES = (fix_format_round_trip, fix_cast_from_varchar, fix_cast_to_varchar, fix_to_iso8601)
"""Cast fixes, applied after the zoned-timestamp fixes (which turn zoned values into wall times)."""

"""Trino's date and time functions on DuckDB: format patterns, date arithmetic, date_diff.

Trino formats with Joda-Time patterns (``format_datetime``) and MySQL
specifiers (``date_format``), keeps a DATE a DATE through ``date_add`` and
``date_trunc``, and counts whole units in ``date_diff``; DuckDB differs on
each. Every fix here is listed in
:data:`telelake.analytics.trino_functions.FUNCTION_FIXES`.
"""

from __future__ import annotations

import re

from sqlglot import exp

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_rewrite import OperandTypes, call, string_literal, template
from telelake.errors import QueryError

# Joda letter -> strftime by count (None: any count). Trino's format_datetime
# and parse_datetime use Joda-Time patterns (docs: "Joda-Time functions").
_JODA: dict[str, dict[int | None, str]] = {
    "y": {2: "%y", None: "%Y"},
    "Y": {2: "%y", None: "%Y"},
    "x": {None: "%G"},
    "w": {2: "%V"},
    "M": {1: "%-m", 2: "%m", 3: "%b", None: "%B"},
    "d": {1: "%-d", 2: "%d"},
    "D": {1: "%-j", 3: "%j"},
    "H": {1: "%-H", 2: "%H"},
    "h": {1: "%-I", 2: "%I"},
    "m": {1: "%-M", 2: "%M"},
    "s": {1: "%-S", 2: "%S"},
    "S": {3: "%g", 6: "%f", 9: "%n"},
    "a": {None: "%p"},
    "E": {1: "%a", 2: "%a", 3: "%a", None: "%A"},
    "e": {1: "%u"},
}


def joda_to_strftime(pattern: str) -> str:
    """A Joda-Time pattern as a DuckDB strftime/strptime format; QueryError if unsupported."""
    out: list[str] = []
    for match in re.finditer(r"'((?:[^']|'')*)'|([A-Za-z])\2*|.", pattern, re.DOTALL):
        quoted, letter = match.group(1), match.group(2)
        if quoted is not None:
            # '' inside or as a whole is one quote character.
            out.append((quoted.replace("''", "'") or "'").replace("%", "%%"))
        elif letter is not None:
            by_count = _JODA.get(letter, {})
            count = len(match.group(0))
            token = by_count.get(count, by_count.get(None))
            if token is None:
                raise QueryError(
                    f"format_datetime: pattern letters {match.group(0)!r} are not supported "
                    "on DuckDB"
                )
            out.append(token)
        else:
            out.append(match.group(0).replace("%", "%%"))
    return "".join(out)


def fix_joda_formats(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``format_datetime`` / ``parse_datetime`` take Joda-Time patterns in Trino.

    ``format_datetime(ts, 'yyyy-MM-dd HH:mm EEE')`` -> ``2024-01-07 13:05 Sun``.
    DuckDB has no ``format_datetime``, and sqlglot hands the Joda pattern to
    ``strptime`` unchanged, which then fails or misreads it. The pattern
    (a string literal) is converted to strftime tokens.
    """
    args = call(node, "format_datetime")
    if args is not None:
        if len(args) != 2:
            raise QueryError("format_datetime(timestamp, format) takes two arguments")
        fmt = joda_to_strftime(string_literal(args[1], "format_datetime"))
        return exp.Anonymous(this="STRFTIME", expressions=[args[0], exp.Literal.string(fmt)])
    if isinstance(node, exp.ParseDatetime):
        fmt = joda_to_strftime(string_literal(node.args.get("format"), "parse_datetime"))
        parsed = exp.Anonymous(this="STRPTIME", expressions=[node.this, exp.Literal.string(fmt)])
        # Trino returns a timestamp with time zone, in the session zone (UTC).
        return exp.Cast(this=parsed, to=exp.DataType.build("TIMESTAMPTZ"))
    return node


# sqlglot's internal (Python strftime) tokens that come from MySQL-style
# specifiers Trino refuses: "%D %U %u %V %w %X are not supported" (Trino docs,
# "MySQL date functions"); %u arrives as %W.
_REFUSED_MYSQL = {"%D": "%D", "%U": "%U", "%W": "%u", "%V": "%V", "%w": "%w", "%X": "%X"}


def fix_mysql_formats(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``date_format`` / ``date_parse`` specifiers: Trino's meaning, or Trino's refusal.

    sqlglot maps most MySQL specifiers (``%i`` minutes, ``%W`` weekday name,
    ``%e`` day without padding, ...). Trino's ``%v`` (ISO week, used with
    ``%x``) is left as an unknown ``%v`` and becomes ``%V``; the specifiers
    Trino documents as unsupported fail here too instead of printing something.
    """
    if not isinstance(node, (exp.TimeToStr, exp.StrToTime)):
        return node
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return node
    text = str(fmt.this)
    for token in re.findall(r"%.", text):
        if token in _REFUSED_MYSQL:
            raise QueryError(f"date_format: {_REFUSED_MYSQL[token]} is not supported by Trino")
    node.set("format", exp.Literal.string(text.replace("%v", "%V")))
    return node


_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    return unit.name.upper() if isinstance(unit, exp.Expr) else ""


def fix_date_arithmetic_type(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``date_add``, ``date_trunc`` and ``date + INTERVAL`` on a DATE return a DATE in Trino.

    ``date_add('day', 1, DATE '2024-01-31')`` is ``DATE '2024-02-01'``; DuckDB
    returns a TIMESTAMP (``2024-02-01 00:00:00``), which prints, compares and
    groups differently. Applied when the operand is known to be a DATE.
    """
    if isinstance(node, (exp.DateAdd, exp.TimestampTrunc, exp.DateTrunc)):
        is_date = types.is_type(node, 0, tt.DATE)
        if is_date and _unit(node) in _DATE_UNITS:
            return exp.Cast(this=node, to=exp.DataType.build("DATE"))
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        is_date = types.is_type(node, 0, tt.DATE)
        if is_date and _unit(node.expression) in _DATE_UNITS:
            return exp.Cast(this=exp.Paren(this=node), to=exp.DataType.build("DATE"))
    return node


def fix_date_diff(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``date_diff(unit, a, b)`` counts whole units elapsed, as Joda-Time does in Trino.

    Trino: ``date_diff('hour', 00:59, 01:00)`` = 0 and ``date_diff('year',
    DATE '2023-06-01', DATE '2024-05-31')`` = 0. DuckDB's ``date_diff``
    counts boundaries crossed (1 and 1); its ``date_sub`` counts whole units,
    including Joda's month-end rule (Jan 31 -> Feb 29 is one month).
    """
    if not isinstance(node, exp.DateDiff):
        return node
    unit = _unit(node) or "DAY"
    # sqlglot keeps Trino's argument order as (this=end, expression=start).
    return exp.Anonymous(
        this="DATE_SUB",
        expressions=[exp.Literal.string(unit), node.expression, node.this],
    )


# from_iso8601_timestamp: the calendar forms of Joda-Time's ISODateTimeFormat.dateTimeParser()
# that DuckDB reads alike: yyyy-MM-dd[THH:mm[:ss[.fraction]][offset]], offset Z, ±HH, ±HHmm,
# ±HH:mm within Trino's ±14:00. Week and ordinal dates, fractions of hours, commas: refused.
_ISO_DATE = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_ISO_OFFSET = r"(Z|[+-]((0[0-9]|1[0-3])(:?[0-5][0-9])?|14(:?00)?))"
ISO8601_TIMESTAMP = (
    rf"{_ISO_DATE}(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?{_ISO_OFFSET}?)?"
)


def iso8601_zone(text: str) -> str:
    """The zone of ``from_iso8601_timestamp(text)``: its offset, else the session's (UTC)."""
    found = re.fullmatch(ISO8601_TIMESTAMP, text)
    offset = re.search(_ISO_OFFSET + "$", text) if found and "T" in text else None
    if offset is None or offset.group(0) == "Z":
        return "UTC"
    digits = offset.group(0).replace(":", "")
    minutes = int(digits[1:3]) * 60 + int(digits[3:5] or 0)
    if minutes == 0:
        return "UTC"
    return f"{digits[0]}{minutes // 60:02d}:{minutes % 60:02d}"


def fix_from_iso8601_timestamp(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``from_iso8601_timestamp(s)``: the instant ``s`` names, to the millisecond.

    Trino (DateTimeFunctions.fromISO8601Timestamp): Joda's ISO parser with
    the offset kept, the session zone (UTC on Athena) when there is none;
    ``'2020-05-11'`` is midnight, ``'2020-05-11T11:15:05.055+01:00'`` is
    10:15:05.055 UTC shown at ``+01:00``; digits past the millisecond are
    dropped (not rounded). The instant is a DuckDB ``TIMESTAMPTZ``; the zone
    is the checker's (a literal's offset; for a column, each row's own, so
    what reads the wall clock of it is refused). A form outside
    :data:`ISO8601_TIMESTAMP`, or a date that does not exist, fails with one line.
    """
    if not isinstance(node, exp.FromISO8601Timestamp):
        return node
    refusal = (
        "ERROR('from_iso8601_timestamp of ' || tl_s || ' is not reproduced locally: Athena "
        "would read it with Joda-Time''s ISO 8601 parser')"
    )
    text = (
        "SUBSTR(tl_s, 1, 10) || ' ' || COALESCE(NULLIF(REGEXP_REPLACE(REGEXP_EXTRACT(tl_s, "
        "'T([0-9:.]+)', 1), '([.][0-9]{3})[0-9]+', '\\1'), ''), '00:00') || CASE "
        "WHEN REGEXP_EXTRACT(tl_s, 'T[0-9:.]+(.*)$', 1) IN ('', 'Z') THEN '+00:00' "
        "ELSE REGEXP_EXTRACT(tl_s, 'T[0-9:.]+(.*)$', 1) END"
    )
    return template(
        f"CASE WHEN tl_s IS NULL THEN NULL WHEN NOT REGEXP_FULL_MATCH(tl_s, "
        f"'{ISO8601_TIMESTAMP}') OR TRY_CAST({text} AS TIMESTAMPTZ) IS NULL THEN {refusal} "
        f"ELSE CAST({text} AS TIMESTAMPTZ) END",
        s=node.this,
    )

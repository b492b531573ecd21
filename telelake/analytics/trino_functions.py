"""Trino's function library on DuckDB: where the same call computes a different value.

:mod:`telelake.analytics.dialect` applies every fix of :data:`FUNCTION_FIXES`
after the generic ones (day of week, casts, division, time zones). Each fix
rewrites one kind of sqlglot node into DuckDB SQL that returns what Trino
returns; its docstring quotes the Trino rule it follows and what DuckDB
would do instead. Rewrites are written as small DuckDB templates whose
``tl_*`` placeholders are replaced by the call's own arguments.

Functions sqlglot already translates faithfully (``length``, ``strpos``,
``split``, ``concat`` and ``||``, ``coalesce``, ``try_cast``,
``cardinality``, ``element_at``, ``approx_distinct``, ...) need nothing
here; the README's coverage table lists both kinds and the test of each.
"""

from __future__ import annotations

import re
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


def _call(node: exp.Expr, name: str) -> list[exp.Expr] | None:
    """The arguments of a call sqlglot kept as an unknown function ``name``."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == name:
        return list(node.expressions)
    return None


def _string(node: exp.Expr | None, function: str) -> str:
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    raise QueryError(f"{function}: the pattern must be a string literal to run on DuckDB")


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


# --- date and time ------------------------------------------------------------

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
    args = _call(node, "format_datetime")
    if args is not None:
        if len(args) != 2:
            raise QueryError("format_datetime(timestamp, format) takes two arguments")
        fmt = joda_to_strftime(_string(args[1], "format_datetime"))
        return exp.Anonymous(this="STRFTIME", expressions=[args[0], exp.Literal.string(fmt)])
    if isinstance(node, exp.ParseDatetime):
        fmt = joda_to_strftime(_string(node.args.get("format"), "parse_datetime"))
        return exp.Anonymous(this="STRPTIME", expressions=[node.this, exp.Literal.string(fmt)])
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
        is_date = types.is_type(node, 0, exp.DType.DATE)
        if is_date and _unit(node) in _DATE_UNITS:
            return exp.Cast(this=node, to=exp.DataType.build("DATE"))
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        unit = node.expression.args.get("unit")
        unit_name = unit.name.upper() if isinstance(unit, exp.Expr) else ""
        if types.is_type(node, 0, exp.DType.DATE) and unit_name in _DATE_UNITS:
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


# --- strings and regular expressions -------------------------------------------


def fix_substr(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``substr``: 1-based, negative start from the end, empty outside the string.

    Trino returns ``''`` for start 0, for a length <= 0 and for a negative
    start before the beginning (``substr('hello', -10)``); DuckDB returns
    ``'hello'``, ``'h'`` for ``substr('hello', 2, -1)`` and so on. A literal
    positive start (and length) is already the same in both and left alone.
    """
    if not isinstance(node, exp.Substring):
        return node
    start, length = node.args.get("start"), node.args.get("length")
    if start is None:
        return node
    if _positive_literal(start) and (length is None or _positive_literal(length)):
        return node
    plain = exp.Substring(this=node.this, start=start, length=length)
    empty_if = "tl_p = 0 OR (tl_p < 0 AND -tl_p > LENGTH(tl_s))"
    if length is not None:
        empty_if += " OR tl_n <= 0"
    sql = (
        "CASE WHEN tl_s IS NULL OR tl_p IS NULL" + (" OR tl_n IS NULL" if length else "") + " "
        f"THEN NULL WHEN {empty_if} THEN '' ELSE tl_plain END"
    )
    args = {"s": node.this, "p": start, "plain": plain}
    if length is not None:
        args["n"] = length
    return template(sql, **args)


def _positive_literal(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and node.is_int and int(node.this) > 0


def fix_split_part(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``split_part`` returns NULL past the last field, as Trino documents.

    Trino: "If the index is larger than the number of fields, then null is
    returned"; an index below 1 is an error. DuckDB returns ``''`` past the end.
    """
    if not isinstance(node, exp.SplitPart):
        return node
    return template(
        "CASE WHEN tl_i < 1 THEN ERROR('split_part: index must be greater than zero') "
        "ELSE LIST_EXTRACT(STR_SPLIT(tl_s, tl_d), tl_i) END",
        s=node.this,
        d=node.args["delimiter"],
        i=node.args["part_index"],
    )


def fix_regexp_extract(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``regexp_extract`` without a match is NULL in Trino; DuckDB returns ``''``."""
    if not isinstance(node, exp.RegexpExtract):
        return node
    plain = exp.RegexpExtract(
        this=node.this, expression=node.expression, group=node.args.get("group")
    )
    return template(
        "CASE WHEN REGEXP_MATCHES(tl_s, tl_p) THEN tl_plain END",
        s=node.this,
        p=node.expression,
        plain=plain,
    )


def java_replacement(text: str) -> str:
    """A Java regex replacement (``$1``, ``\\$``) as an RE2 rewrite (``\\1``, ``$``)."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            escaped = text[index + 1]
            out.append("\\\\" if escaped == "\\" else escaped)
            index += 2
        elif char == "$":
            digits = re.match(r"\d+", text[index + 1 :])
            if digits is None:
                raise QueryError(
                    f"regexp_replace: named or malformed group reference in {text!r} "
                    "is not supported on DuckDB; use $1 .. $9"
                )
            if int(digits.group(0)) > 9:
                raise QueryError("regexp_replace: group references above $9 are not supported")
            out.append("\\" + digits.group(0))
            index += 1 + len(digits.group(0))
        else:
            out.append(char)
            index += 1
    return "".join(out)


def fix_regexp_replace(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``regexp_replace`` refers to groups as ``$1`` (Java); RE2 in DuckDB as ``\\1``.

    Trino: ``regexp_replace('a1b2', '(\\d)', '<$1>')`` = ``a<1>b<2>``; DuckDB
    would insert ``<$1>`` literally. Every match is replaced in both (sqlglot
    adds DuckDB's ``'g'``). A non-literal replacement is left as written.
    """
    if not isinstance(node, exp.RegexpReplace):
        return node
    replacement = node.args.get("replacement")
    if isinstance(replacement, exp.Literal) and replacement.is_string:
        node.set("replacement", exp.Literal.string(java_replacement(str(replacement.this))))
    return node


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

"""Trino's ``format(format, args...)``: the part of Java's ``Formatter`` that DuckDB can write.

Trino (FormatFunction) calls ``String.format(locale, format, args)`` with each
argument converted to a Java object: integers to ``Long``, ``varchar`` to
``String``, ``boolean`` to ``Boolean``, ``date`` to ``LocalDate``, NULL to
``null``. Reproduced here, for a literal format string: text, ``%%``, ``%n``
(a line feed), ``%s`` of an integer, a string, a boolean, a date or NULL
(``Long.toString``, the text, ``true``/``false``, ISO ``yyyy-MM-dd``,
``null``), with a width (in UTF-16 units, as Java counts) and the ``-``
flag, and ``%d`` of an integer with a width and the ``-`` or ``0`` flag
(``%05d`` of -42 is ``-0042``; a wider value is never cut), each optionally
with an argument index (``%2$s``). Java's errors are Trino's
"Invalid format string: <format> (<exception>: <detail>)": a missing
argument, or ``%d`` of a string. Anything else in the format (other
conversions, precision, grouping, doubles, decimals, timestamps) is refused
with one line: Java's rules for those are its own.
"""

from __future__ import annotations

import re

from sqlglot import exp

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_rewrite import OperandTypes, template
from telelake.errors import QueryError

# Formatter's specifier: %[argument_index$][flags][width][.precision]conversion.
_SPECIFIER = re.compile(r"%(\d+\$)?([-#+ 0,(<]*)(\d+)?(\.\d+)?([a-zA-Z%])")
_STRING_ARGS = (*tt.INTEGRAL, tt.VARCHAR, tt.BOOLEAN, tt.DATE, tt.UNKNOWN)
# The Java class of a converted argument, for IllegalFormatConversion's message.
_JAVA_CLASS = {
    tt.VARCHAR: "java.lang.String",
    tt.CHAR: "java.lang.String",
    tt.BOOLEAN: "java.lang.Boolean",
    tt.DOUBLE: "java.lang.Double",
    tt.REAL: "java.lang.Float",
    tt.DECIMAL: "java.math.BigDecimal",
    tt.DATE: "java.time.LocalDate",
    tt.TIMESTAMP: "java.time.LocalDateTime",
    tt.TIMESTAMP_TZ: "java.time.ZonedDateTime",
}


def _refuse(text: str, why: str) -> QueryError:
    return QueryError(
        f"format({text!r}) is not reproduced locally: Athena would apply java.util.Formatter's "
        f"rules for {why}"
    )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fix_format(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``format(fmt, args...)`` as the concatenation Java's Formatter prints for Trino.

    Trino's FormatFunction calls ``String.format``; DuckDB's ``format`` is
    fmt's Python-like syntax. See the module docstring for what is reproduced; e.g. ``format('%s has
    %d', 'Ana', 3)`` = ``Ana has 3``, ``format('%s', NULL)`` = ``null``,
    ``format('%s %s', 1)`` fails with ``Invalid format string: %s %s
    (MissingFormatArgument: Format specifier '%s')``.
    """
    if not isinstance(node, exp.Format):
        return node
    pattern = node.this
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise QueryError(
            "format() with a format that is not a string literal is not reproduced locally: "
            "Athena would apply java.util.Formatter's rules to each row's format"
        )
    text = str(pattern.this)
    args = list(node.expressions)
    arg_types = [types.arg(node, "expressions", i) for i in range(len(args))]
    parts: list[str] = []
    values: dict[str, exp.Expr] = {}
    position, ordinary = 0, 0
    for found in _SPECIFIER.finditer(text):
        if "%" in text[position : found.start()]:
            raise _refuse(text, "a % it does not read as a specifier")
        parts.append(_quoted(text[position : found.start()]))
        position = found.end()
        index, flags, width, precision, conversion = found.groups()
        if conversion in ("%", "n"):
            if index or flags or width or precision:
                raise _refuse(text, f"'{found.group(0)}'")
            parts.append("'%'" if conversion == "%" else "CHR(10)")
            continue
        if conversion not in ("s", "d") or precision or flags not in ("", "-", "0"):
            raise _refuse(text, f"'{found.group(0)}'")
        if conversion == "s" and flags == "0":
            raise _refuse(text, f"'{found.group(0)}'")
        if flags and not width:
            raise _refuse(text, f"'{found.group(0)}'")
        if index:
            number = int(index[:-1]) - 1
        else:
            number, ordinary = ordinary, ordinary + 1
        if not 0 <= number < len(args):
            raise QueryError(
                f"Invalid format string: {text} (MissingFormatArgument: Format specifier "
                f"'{found.group(0)}')"
            )
        kind = arg_types[number]
        if kind is None:
            raise _refuse(text, "an argument whose type is not known here")
        name = f"a{number}"
        values[name] = args[number]
        parts.append(_conversion(text, conversion, flags, width, kind, f"tl_{name}"))
    if "%" in text[position:]:
        raise _refuse(text, "a % it does not read as a specifier")
    parts.append(_quoted(text[position:]))
    values["f"] = pattern
    return template(
        "CASE WHEN tl_f IS NULL THEN NULL ELSE " + " || ".join(parts) + " END", **values
    )


def _conversion(
    text: str, conversion: str, flags: str, width: str | None, kind: tt.TType, arg: str
) -> str:
    if conversion == "s":
        if kind.name not in _STRING_ARGS:
            raise _refuse(text, f"%s of a {kind}")
        shown = f"CAST({arg} AS VARCHAR)"
        if kind.name == tt.BOOLEAN:
            shown = f"CASE WHEN {arg} THEN 'true' ELSE 'false' END"
        elif kind.name == tt.DATE:
            shown = f"STRFTIME({arg}, '%Y-%m-%d')"
        shown = f"COALESCE({shown}, 'null')"
        if not width:
            return shown
        # Formatter pads to the width in UTF-16 units: a character outside the BMP is two.
        astral = f"REGEXP_REPLACE({shown}, '[^\\x{{10000}}-\\x{{10FFFF}}]', '', 'g')"
        units = f"(LENGTH({shown}) + LENGTH({astral}))"
        padding = f"REPEAT(' ', CAST(GREATEST(0, {int(width)} - {units}) AS INTEGER))"
        return f"{shown} || {padding}" if flags == "-" else f"{padding} || {shown}"
    if kind.name not in (*tt.INTEGRAL, tt.UNKNOWN):
        java = _JAVA_CLASS.get(kind.name)
        if java is None:
            raise _refuse(text, f"%d of a {kind}")
        error = _quoted(f"Invalid format string: {text} (IllegalFormatConversion: d != {java})")
        shown = f"CASE WHEN {arg} IS NULL THEN 'null' ELSE ERROR({error}) END"
    else:
        shown = f"COALESCE(CAST({arg} AS VARCHAR), 'null')"
    if not width:
        return shown
    size = int(width)
    # Formatter pads to the width and never cuts: DuckDB's pads cut, so pad to the longer.
    fit = f"CAST(GREATEST({size}, LENGTH({shown})) AS INTEGER)"
    if flags == "-":
        return f"RPAD({shown}, {fit}, ' ')"
    if flags == "0":
        # Zeros go after the sign; NULL prints "null" padded with spaces (Formatter.print(null)).
        digits = f"CAST(GREATEST({size - 1}, LENGTH({shown}) - 1) AS INTEGER)"
        return (
            f"CASE WHEN {arg} IS NULL THEN LPAD('null', {max(size, 4)}, ' ') "
            f"WHEN {arg} < 0 THEN '-' || LPAD(SUBSTR({shown}, 2), {digits}, '0') "
            f"ELSE LPAD({shown}, {fit}, '0') END"
        )
    return f"LPAD({shown}, {fit}, ' ')"

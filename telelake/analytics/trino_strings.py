"""Trino's string and regular expression functions on DuckDB: substr, split, regexps.

Trino's ``substr`` and ``split_part`` return ``''`` or NULL where DuckDB
returns something else, ``split`` refuses an empty delimiter and takes a
limit, ``regexp_extract`` is NULL without a match, ``regexp_replace`` refers
to groups as Java does (``$1``) and ``upper`` and ``reverse`` work code point by
code point (URLs are :mod:`telelake.analytics.trino_urls`'). Every fix here
is listed in :data:`telelake.analytics.trino_functions.FUNCTION_FIXES`.
"""

from __future__ import annotations

import re

from sqlglot import exp

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_rewrite import OperandTypes, template
from telelake.errors import QueryError


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


def fix_split(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``split(string, delimiter[, limit])``: Trino's checks and its limit.

    Trino (StringFunctions.split, tested in TestStringFunctions): "The
    delimiter may not be the empty string" (DuckDB splits into characters),
    "Limit must be positive", and with a limit "the last element in the
    array always contain everything left in the string":
    ``split('a.b..', '.', 3)`` = ``['a', 'b', '.']``. DuckDB has no limit.
    """
    if not isinstance(node, exp.Split):
        return node
    limit = node.args.get("limit")
    plain = exp.Split(this=node.this, expression=node.expression)
    limited = "tl_parts"
    if limit is not None:
        limited = (
            "CASE WHEN tl_n < 1 THEN ERROR('Limit must be positive') "
            "WHEN LEN(tl_parts) <= tl_n THEN tl_parts ELSE LIST_APPEND(tl_parts[1:tl_n - 1], "
            "ARRAY_TO_STRING(tl_parts[tl_n:], tl_d)) END"
        )
    return template(
        "CASE WHEN tl_d = '' THEN ERROR('The delimiter may not be the empty string') "
        f"ELSE {limited} END",
        d=node.expression,
        n=limit if limit is not None else exp.Null(),
        parts=plain,
    )


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
    _refuse_optional_group(node.expression, node.args.get("group"))
    plain = exp.RegexpExtract(
        this=node.this, expression=node.expression, group=node.args.get("group")
    )
    return template(
        "CASE WHEN REGEXP_MATCHES(tl_s, tl_p) THEN tl_plain END",
        s=node.this,
        p=node.expression,
        plain=plain,
    )


def _refuse_optional_group(pattern: exp.Expr, group: exp.Expr | None) -> None:
    """A capturing group that may not take part in a match is NULL in Trino, '' in DuckDB.

    Trino's regexp_extract returns NULL for a group that did not participate
    (``regexp_extract('ab', 'a(x)?b', 1)``); DuckDB returns ``''`` and cannot
    tell the two apart. A group that is optional (followed by ``?``, ``*``,
    ``{0,``) or in a pattern with alternatives is refused.
    """
    number = int(group.this) if isinstance(group, exp.Literal) and group.is_int else 0
    if number == 0 or not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return
    text = str(pattern.this)
    if "|" in text or re.search(r"\)(\?|\*|\{0,)", text):
        raise QueryError(
            f"regexp_extract of group {number} of {text!r} is not reproduced locally: Athena "
            "would return NULL where the group takes no part in the match"
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


def fix_unicode_case(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``upper``/``reverse`` work code point by code point in Trino.

    Trino (airlift SliceUtf8): "Converts slice to upper case code point by
    code point" with Java's ``Character.toUpperCase``, which leaves ``ß``
    alone: ``upper('Straße')`` = ``STRAßE`` (DuckDB: ``STRAẞE``; every other
    code point maps the same in both). ``reverse`` reverses code points
    (``e`` + combining acute becomes the accent first); DuckDB reverses
    grapheme clusters. ``lower`` maps the same in both.
    """
    if isinstance(node, exp.Upper):
        return template(
            "CASE WHEN CONTAINS(tl_s, 'ß') THEN ARRAY_TO_STRING(LIST_TRANSFORM("
            "STRING_SPLIT(tl_s, 'ß'), LAMBDA tl_x: UPPER(tl_x)), 'ß') ELSE UPPER(tl_s) END",
            s=node.this,
        )
    if isinstance(node, exp.Reverse) and types.is_type(node, 0, tt.VARCHAR, tt.CHAR):
        return template("ARRAY_TO_STRING(LIST_REVERSE(STRING_SPLIT(tl_s, '')), '')", s=node.this)
    return node

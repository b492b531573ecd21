"""Trino's string and regular expression functions on DuckDB: substr, split_part, regexps.

Trino's ``substr`` and ``split_part`` return ``''`` or NULL where DuckDB
returns something else, ``regexp_extract`` is NULL without a match, and
``regexp_replace`` refers to groups as Java does (``$1``). Every fix here is
listed in :data:`telelake.analytics.trino_functions.FUNCTION_FIXES`.
"""

from __future__ import annotations

import re

from sqlglot import exp

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

"""Trino's ``url_extract_*`` functions on DuckDB: java.net.URI's parse, written as RE2 patterns.

Trino (UrlFunctions) parses the text with ``new URI(url)``: NULL when Java
refuses it, else the component, with ``nullToEmpty``: a URL that parses
but has no host, port, path, query or fragment gives ``''`` (the port gives
NULL). ``getPath``, ``getQuery`` and ``getFragment`` are percent-decoded;
``url_extract_parameter`` splits the raw query on ``&`` and ``=`` and
decodes the value as ``URLDecoder`` does (``+`` is a space). DuckDB has no
URL functions, so the URI grammar (RFC 2396 with java.net.URI's deviations)
is checked and split with regular expressions here:

* characters: no space, control or ``"<>\\^`{|}`` (nor a Unicode space
  separator), a ``%`` only before two hex digits, one ``#``;
* ``scheme:`` is a letter then letters, digits, ``+-.``; a ``:`` before the
  first ``/?#`` makes a scheme, so ``1a:b`` does not parse;
* after a scheme, a part not starting with ``/`` is opaque (``mailto:x``):
  no path or query; ``http:`` alone and ``http://`` alone do not parse;
* ``[`` and ``]`` only in the query, the fragment, an opaque part, or an
  IPv6 host (then the authority must be ``[userinfo@][v6][:port]``);
* the authority is a server ``[userinfo@]host[:port]`` when the host is a
  host name (labels of letters, digits and inner hyphens; with several
  labels, the last starts with a letter), an IPv4 address (four numbers up
  to 255) or ``[IPv6]``, and the port fits an int; any other authority is
  registry-based: no host (``''``), no port.

An IPv6 host other than plain hexadecimal groups (an IPv4 tail, a scope) and
a percent-escape that decodes to bytes that are not UTF-8 (Java: U+FFFD)
fail with one line.
"""

from __future__ import annotations

from sqlglot import exp

from telelake.analytics.trino_rewrite import OperandTypes, template
from telelake.errors import QueryError

# Outside ASCII, Java also refuses ISO controls and space separators (Character.isSpaceChar).
_CHARS = (
    r"([^%\x00-\x20\x7f\"<>\\^`{|}\x{80}-\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}"
    r"\x{202F}\x{205F}\x{3000}]|%[0-9A-Fa-f]{2})*"
)
_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*:"
_AUTH_PATH = r"//[^/?#]*[^?#\[\]]*"
_QUERY_FRAGMENT = r"(\?[^#]*)?"
_STRUCTURE = (
    rf"({_SCHEME}({_AUTH_PATH}|/[^?#\[\]]*){_QUERY_FRAGMENT}|{_SCHEME}[^/#][^#]*"
    rf"|{_AUTH_PATH}{_QUERY_FRAGMENT}|[^/?#:\[\]]*(/[^?#\[\]]*)?{_QUERY_FRAGMENT})(#[^#]*)?"
)
# Groups: 2 scheme, 3 "//authority", 4 authority, 5 path, 6 "?query", 7 query, 8 "#", 9 fragment.
_SPLIT = r"^(([A-Za-z][A-Za-z0-9+.-]*):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_BYTE = r"0*(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H4 = "[0-9A-Fa-f]{1,4}"
# RFC 4291 text forms of hexadecimal groups, "::" standing for one or more zero groups.
_IPV6 = (
    "("
    + "|".join(
        (
            f"({_H4}:){{7}}{_H4}",
            f"({_H4}:){{1,7}}:",
            f"({_H4}:){{1,6}}:{_H4}",
            f"({_H4}:){{1,5}}(:{_H4}){{1,2}}",
            f"({_H4}:){{1,4}}(:{_H4}){{1,3}}",
            f"({_H4}:){{1,3}}(:{_H4}){{1,4}}",
            f"({_H4}:){{1,2}}(:{_H4}){{1,5}}",
            f"{_H4}:(:{_H4}){{1,6}}",
            f":((:{_H4}){{1,7}}|:)",
        )
    )
    + ")"
)
_HOST = (
    rf"({_LABEL}[.]?|({_LABEL}[.])+[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?[.]?"
    rf"|({_BYTE}[.]){{3}}{_BYTE}|\[{_IPV6}\])"
)
# An authority with [ or ] must be [userinfo@][host][:port] (else java.net.URI throws);
# a bracketed host other than the plain hexadecimal forms (an IPv4 tail, a scope) is refused.
_V6_SERVER = r"([^@\[\]]*@)?\[[^\[\]]*\](:[0-9]*)?"
_PLAIN_V6_SERVER = rf"([^@\[\]]*@)?\[{_IPV6}\](:[0-9]*)?"


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _part(group: int) -> str:
    return f"REGEXP_EXTRACT(tl_u, {_q(_SPLIT)}, {group})"


_AUTHORITY = _part(4)
_VALID = (
    f"REGEXP_FULL_MATCH(tl_u, {_q(_CHARS)}) AND REGEXP_FULL_MATCH(tl_u, {_q(_STRUCTURE)}) "
    f"AND NOT REGEXP_FULL_MATCH(tl_u, {_q('(' + _SCHEME + ')?//')}) "
    f"AND (NOT REGEXP_MATCHES({_AUTHORITY}, '[\\[\\]]') "
    f"OR REGEXP_FULL_MATCH({_AUTHORITY}, {_q(_V6_SERVER)}))"
)
_OPAQUE = f"REGEXP_FULL_MATCH(tl_u, {_q(_SCHEME + '[^/].*')})"
# The authority without "userinfo@" (up to the first @), then its host and what follows it.
_HOST_PORT = f"REGEXP_REPLACE({_AUTHORITY}, '^[^@]*@', '')"
_HOST_TEXT = f"REGEXP_EXTRACT({_HOST_PORT}, '^(\\[[^\\]]*\\]|[^:]*)', 1)"
_PORT_TEXT = f"SUBSTR({_HOST_PORT}, LENGTH({_HOST_TEXT}) + 2)"
# A server authority: a host name, IPv4 or IPv6 host, then nothing or ":digits" fitting an int.
_IS_SERVER = (
    f"(REGEXP_FULL_MATCH({_HOST_TEXT}, {_q(_HOST)}) AND (LENGTH({_HOST_PORT}) = "
    f"LENGTH({_HOST_TEXT}) OR (REGEXP_FULL_MATCH(SUBSTR({_HOST_PORT}, LENGTH({_HOST_TEXT}) + 1), "
    f"':[0-9]*') AND ({_PORT_TEXT} = '' OR TRY_CAST({_PORT_TEXT} AS INTEGER) IS NOT NULL))))"
)


def _decoded(raw: str, name: str) -> str:
    return (
        f"CASE WHEN TRY(URL_DECODE({raw})) IS NULL THEN ERROR({_q(name)} || '(' || tl_u || "
        "') is not reproduced locally: Athena would decode a percent-escape that is not UTF-8 "
        f"as U+FFFD') ELSE URL_DECODE({raw}) END"
    )


_COMPONENTS = {
    "url_extract_protocol": _part(2),
    "url_extract_host": f"CASE WHEN {_IS_SERVER} THEN {_HOST_TEXT} ELSE '' END",
    "url_extract_port": f"CASE WHEN {_IS_SERVER} AND {_PORT_TEXT} <> '' "
    f"THEN CAST({_PORT_TEXT} AS BIGINT) END",
    "url_extract_path": f"CASE WHEN {_OPAQUE} THEN '' ELSE "
    f"{_decoded(_part(5), 'url_extract_path')} END",
    "url_extract_query": f"CASE WHEN {_OPAQUE} THEN '' ELSE "
    f"{_decoded(_part(7), 'url_extract_query')} END",
    "url_extract_fragment": _decoded(_part(9), "url_extract_fragment"),
}

# url_extract_parameter: the first raw "key[=value]" of the query whose key is the name.
_ARG = (
    f"LIST_EXTRACT(LIST_FILTER(STRING_SPLIT({_part(7)}, '&'), "
    "LAMBDA tl_a: SPLIT_PART(tl_a, '=', 1) = tl_name), 1)"
)
_PARAMETER = (
    f"CASE WHEN {_OPAQUE} OR {_part(6)} = '' OR {_ARG} IS NULL THEN NULL "
    f"WHEN NOT CONTAINS({_ARG}, '=') THEN '' ELSE "
    + _decoded(
        f"REPLACE(SUBSTR({_ARG}, STRPOS({_ARG}, '=') + 1), '+', ' ')", "url_extract_parameter"
    )
    + " END"
)


def fix_urls(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``url_extract_protocol/host/port/path/query/fragment/parameter``: java.net.URI's parts.

    Trino's documentation ("URL functions"): ``[protocol:][//host[:port]][path][?query]
    [#fragment]``; UrlFunctions returns NULL when ``new URI(url)`` throws and
    ``''`` for a component the URL does not have. See the module docstring
    for the grammar; e.g. ``url_extract_path('https://t.me/a%20b?x=1')`` =
    ``/a b``, ``url_extract_host('example.org/x')`` = ``''`` (a relative
    URI: all path), ``url_extract_host('https://ex ample.org')`` = NULL.
    """
    if not isinstance(node, exp.Anonymous):
        return node
    name = str(node.this).lower()
    args = list(node.expressions)
    if name == "url_extract_parameter":
        if len(args) != 2:
            raise QueryError(f"url_extract_parameter() takes 2 arguments, got {len(args)}")
        body = _PARAMETER
    elif name in _COMPONENTS:
        body = _COMPONENTS[name]
    else:
        return node
    names = {"u": args[0]}
    nulls = "tl_u IS NULL"
    if name == "url_extract_parameter":
        names["name"] = args[1]
        nulls += " OR tl_name IS NULL"
    unusual = (
        f"REGEXP_MATCHES({_AUTHORITY}, '[\\[\\]]') "
        f"AND NOT REGEXP_FULL_MATCH({_AUTHORITY}, {_q(_PLAIN_V6_SERVER)})"
    )
    refusal = (
        f"ERROR('{name}(' || tl_u || ') is not reproduced locally: Athena would parse its IPv6 "
        "host with java.net.URI')"
    )
    return template(
        f"CASE WHEN {nulls} OR NOT ({_VALID}) THEN NULL WHEN {unusual} THEN {refusal} "
        f"ELSE {body} END",
        **names,
    )

"""Trino's JSON functions on DuckDB: what ``json_extract_scalar`` and ``json_extract`` return.

Trino reads JSON with Jackson, streaming (io.trino.operator.scalar.JsonExtract):
``json_extract_scalar`` returns the text of a scalar (a number exactly as
written), and NULL for an array, an object, a JSON null, a missing path and
a document it cannot parse; DuckDB returns an array's or object's own text
and fails on malformed JSON. ``json_extract`` returns the value
re-serialised, numbers with a fraction or an exponent as Java doubles.

Where DuckDB cannot give the same text (a number written ``1.50`` or
``1e2``: DuckDB keeps the parsed value, not the text), the query fails with
one line instead of answering differently.
"""

from __future__ import annotations

from sqlglot import exp

from telelake.analytics.trino_rewrite import OperandTypes, template
from telelake.errors import QueryError

MACROS: tuple[str, ...] = (
    # The scalar at path p of j, as Trino's ScalarValueJsonExtractor returns it.
    "CREATE MACRO trino_json_scalar2(j, t, v) AS CASE "
    "WHEN t IS NULL OR t IN ('OBJECT', 'ARRAY', 'NULL') THEN NULL "
    "WHEN t IN ('DOUBLE', 'UBIGINT', 'BIGINT', 'HUGEINT') "
    "AND NOT regexp_matches(j, '(^|[^0-9.eE+-])' || replace(replace(v, '.', '\\.'), '+', '\\+') "
    "|| '($|[^0-9.eE])') "
    "THEN error('json_extract_scalar of the number ' || v || ' as written in the document is "
    "not reproduced locally: Athena would return its text as written') "
    "ELSE v END",
    "CREATE MACRO trino_json_scalar(j, p) AS CASE WHEN NOT json_valid(j) THEN NULL "
    "ELSE trino_json_scalar2(j, json_type(j, p), json_extract_string(j, p)) END",
    # json_extract: NULL for a malformed document; a non-integer number is refused.
    "CREATE MACRO trino_json_value2(v) AS CASE WHEN regexp_matches(CAST(v AS VARCHAR), "
    "'[0-9][.eE]') THEN error('json_extract of a value holding a number with a fraction or "
    "an exponent is not reproduced locally: Athena would print it as a Java double') "
    "ELSE v END",
    "CREATE MACRO trino_json_value(j, p) AS CASE WHEN NOT json_valid(j) THEN NULL "
    "ELSE trino_json_value2(json_extract(j, p)) END",
    # json_size (JsonExtract.JsonSizeExtractor): members of an array or object, 0 for a scalar.
    "CREATE MACRO trino_json_size(j, p) AS CASE WHEN NOT json_valid(j) THEN NULL "
    "WHEN json_type(j, p) = 'ARRAY' THEN json_array_length(j, p) "
    "WHEN json_type(j, p) = 'OBJECT' THEN len(json_keys(j, p)) "
    "WHEN json_type(j, p) IS NOT NULL THEN 0 END",
)


def _path(node: exp.Expr) -> exp.Expr:
    path: exp.Expr = node.args["expression"]
    if isinstance(path, exp.JSONPath):
        return exp.Literal.string(path.sql(dialect="duckdb").strip("'"))
    return path


def fix_json_values(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``json_parse``, ``json_array_length`` and casts of JSON as Trino has them.

    Trino: ``json_array_length`` is NULL for a document that is not an array
    (DuckDB fails on a malformed one); ``json_parse`` re-serialises numbers
    as Java does (a non-integer number is refused here); a JSON value is
    cast to ``varchar`` only when it is a scalar (``json_format`` writes any
    value), which is refused here rather than answered with DuckDB's text.
    """
    if isinstance(node, exp.ParseJSON):
        return template("TRINO_JSON_VALUE2(JSON(tl_j))", j=node.this)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "json_array_length":
        return template(
            "CASE WHEN JSON_VALID(CAST(tl_j AS VARCHAR)) AND JSON_TYPE(CAST(tl_j AS VARCHAR)) = "
            "'ARRAY' THEN JSON_ARRAY_LENGTH(CAST(tl_j AS VARCHAR)) END",
            j=node.expressions[0],
        )
    if isinstance(node, (exp.Cast, exp.TryCast)) and types.is_type(node, 0, "json"):
        raise QueryError(
            "CAST of a JSON value is not reproduced locally: Athena would convert it with "
            "Jackson's rules; use json_format or json_extract_scalar"
        )
    return node


def fix_json_extract(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``json_extract_scalar`` / ``json_extract`` return Trino's values, NULL where Trino's are.

    Trino docs: json_extract_scalar is "like json_extract(), but returns the
    result value as a string (as opposed to being encoded as JSON). The value
    referenced by json_path must be a scalar (boolean, number or string)";
    on an array or object it is NULL (DuckDB: the array's text). A document
    Trino cannot parse gives NULL (DuckDB: an error).
    """
    if isinstance(node, exp.JSONExtractScalar):
        return template(
            "TRINO_JSON_SCALAR(CAST(tl_j AS VARCHAR), tl_p)", j=node.this, p=_path(node)
        )
    if isinstance(node, exp.JSONExtract):
        return template("TRINO_JSON_VALUE(CAST(tl_j AS VARCHAR), tl_p)", j=node.this, p=_path(node))
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "json_size":
        # Trino docs: "Like json_extract(), but returns the size of the value. For objects or
        # arrays, the size is the number of members, and the size of a scalar value is zero."
        document, path = node.expressions
        return template("TRINO_JSON_SIZE(CAST(tl_j AS VARCHAR), tl_p)", j=document, p=path)
    return node

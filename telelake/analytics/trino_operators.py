"""Trino's types of literals, type names and operators, as its analyzer gives them.

What :mod:`telelake.analytics.trino_check` needs besides the coercion rules
of :mod:`telelake.analytics.trino_types`: the type of a literal (``1`` is
``integer``, ``3000000000`` ``bigint``, ``1.5`` ``decimal(2,1)``, ``'abc'``
``varchar(3)``), of a type name in a ``CAST`` (``timestamp`` is
``timestamp(3)``), and of ``a + b`` and the other operators (Trino's
``DecimalOperators``, ``DateTimeOperators``, ...): the result type, or None
when Trino has no such operator.
"""

from __future__ import annotations

from sqlglot import exp

from telelake.analytics.trino_types import (
    BIGINT,
    BOOLEAN,
    CHAR,
    DATE,
    DECIMAL,
    DOUBLE,
    INTEGER,
    INTERVAL_DS,
    INTERVAL_YM,
    JSON,
    NUMERIC,
    REAL,
    ROW,
    SMALLINT,
    T_BIGINT,
    T_DOUBLE,
    T_INTEGER,
    T_INTERVAL_DS,
    TIME,
    TIMESTAMP,
    TIMESTAMP_TZ,
    TINYINT,
    UNKNOWN,
    UUID,
    VARBINARY,
    TType,
    _coerce_base,
    array,
    decimal,
    map_of,
    timestamp,
    varchar,
    zoned,
)


def literal_type(node: exp.Literal) -> TType:
    """``ExpressionAnalyzer``'s literal types: integer/bigint, decimal(p,s), double, varchar(n)."""
    text = str(node.this)
    if node.is_string:
        return varchar(len(text))
    if "e" in text.lower():
        return T_DOUBLE
    if "." in text:
        whole, _, fraction = text.lstrip("+-").partition(".")
        return decimal(max(len(whole.lstrip("0")) + len(fraction), 1), len(fraction))
    value = int(text)
    return T_INTEGER if -(2**31) <= value < 2**31 else T_BIGINT


_SQLGLOT_NAMES = {
    "BOOLEAN": BOOLEAN, "TINYINT": TINYINT, "SMALLINT": SMALLINT, "INT": INTEGER,
    "BIGINT": BIGINT, "FLOAT": REAL, "DOUBLE": DOUBLE, "DATE": DATE, "JSON": JSON,
    "VARBINARY": VARBINARY, "BINARY": VARBINARY, "UUID": UUID, "TIME": TIME,
}  # fmt: skip


def from_sqlglot(data_type: object) -> TType | None:
    """The Trino type a sqlglot ``DataType`` (from Athena SQL) names; None if unmapped."""
    if not isinstance(data_type, exp.DataType):
        return None
    kind = data_type.this.name
    params = [int(p.this.this) for p in data_type.expressions if isinstance(p, exp.DataTypeParam)]
    if kind in ("VARCHAR", "TEXT"):
        return varchar(params[0] if params else None)
    if kind == "CHAR":
        return TType(CHAR, (params[0] if params else 1,))
    if kind == "DECIMAL":
        return decimal(*(params + [38, 0][len(params) :]))
    if kind in ("TIMESTAMP", "DATETIME"):
        return timestamp(params[0] if params else 3)
    if kind == "TIMESTAMPTZ":
        return zoned(params[0] if params else 3, None)
    if kind == "ARRAY":
        element = from_sqlglot(data_type.expressions[0]) if data_type.expressions else None
        return array(element) if element else None
    if kind == "MAP" and len(data_type.expressions) == 2:
        key, value = (from_sqlglot(e) for e in data_type.expressions)
        return map_of(key, value) if key and value else None
    if kind == "STRUCT":
        fields = []
        for column in data_type.expressions:
            inner = from_sqlglot(
                column.args.get("kind") if isinstance(column, exp.ColumnDef) else column
            )
            if inner is None:
                return None
            fields.append(
                (column.name.lower() if isinstance(column, exp.ColumnDef) else None, inner)
            )
        return TType(ROW, tuple(fields))
    base = _SQLGLOT_NAMES.get(kind)
    return TType(base) if base else None


_RANK = {TINYINT: 0, SMALLINT: 1, INTEGER: 2, BIGINT: 3}


def _numeric(op: str, a: TType, b: TType) -> TType | None:
    if DOUBLE in (a.name, b.name):
        return T_DOUBLE
    if REAL in (a.name, b.name):
        return TType(REAL)
    if DECIMAL not in (a.name, b.name):
        return a if _RANK[a.name] >= _RANK[b.name] else b
    x, y = (_coerce_base(t, DECIMAL) for t in (a, b))
    assert x is not None and y is not None
    (p1, s1), (p2, s2) = (x.precision, x.scale), (y.precision, y.scale)
    if op in ("add", "sub"):
        return decimal(max(p1 - s1, p2 - s2) + max(s1, s2) + 1, max(s1, s2))
    if op == "mul":
        return decimal(p1 + p2, s1 + s2)
    if op == "div":
        return decimal(p1 + s2 + max(s2 - s1, 0), max(s1, s2))
    return decimal(min(p2 - s2, p1 - s1) + max(s1, s2), max(s1, s2))


def _moved(value: TType, interval: TType) -> TType:
    # An interval day to second has milliseconds: a timestamp moved by it has at
    # least precision 3 (Trino's @Constraint(variable = "u", expression = "max(3, p)")).
    if interval.name == INTERVAL_DS and value.name in (TIMESTAMP, TIMESTAMP_TZ):
        return TType(value.name, (max(3, value.precision),), value.zone)
    return value


def arithmetic(op: str, a: TType, b: TType) -> TType | None:
    """The type of ``a op b`` (op: add, sub, mul, div, mod) in Trino, or None if it has none.

    Trino's operators (DateTimeOperators, DecimalOperators, ...): numbers
    widen to the wider type, a decimal result follows the documented
    precision/scale rules, a date or timestamp moves by an interval, two
    timestamps subtract to an interval. There is no ``date + integer``,
    no ``date - date`` and no arithmetic on strings.
    """
    if a.name == UNKNOWN:
        a = b if b.name != UNKNOWN else T_INTEGER
    if b.name == UNKNOWN:
        b = a
    if a.name in NUMERIC and b.name in NUMERIC:
        return _numeric(op, a, b)
    intervals = (INTERVAL_DS, INTERVAL_YM)
    temporal = (DATE, TIMESTAMP, TIMESTAMP_TZ, TIME)
    if op in ("add", "sub") and a.name in temporal and b.name in intervals:
        return _moved(a, b)
    if op == "add" and a.name in intervals and b.name in temporal:
        return _moved(b, a)
    if op == "sub" and a.name == b.name and a.name in (TIMESTAMP, TIMESTAMP_TZ, TIME):
        return T_INTERVAL_DS
    if op in ("add", "sub") and a.name == b.name and a.name in intervals:
        return a
    if op in ("mul", "div") and a.name in intervals and b.name in NUMERIC:
        return a
    if op == "mul" and a.name in NUMERIC and b.name in intervals:
        return b
    return None

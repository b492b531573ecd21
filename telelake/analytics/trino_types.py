"""Trino's types and implicit coercions, for checking Athena SQL before DuckDB runs it.

DuckDB coerces far more than Trino: it compares a DATE with a string, adds
an integer to a date and concatenates numbers to text, where Athena stops
with "Cannot apply operator: date = varchar(10)". To fail where Athena
fails, :mod:`telelake.analytics.trino_check` types every expression as
Trino would, with the rules here: :class:`TType` is a Trino type (printed
as Trino prints it, ``varchar(3)``, ``decimal(2,1)``, ``timestamp(3) with
time zone``), and :func:`common_super_type` / :func:`can_coerce` are Trino's
``TypeCoercion`` (io.trino.type.TypeCoercion: ``compatibility`` and
``coerceTypeBase``), ported rule for rule.

A ``timestamp with time zone`` also carries its zone when the SQL fixes it
(``from_unixtime(t, 'America/Sao_Paulo')``): DuckDB keeps only the instant,
so the zone travels with the type and the translation applies it
(:mod:`telelake.analytics.trino_zoned`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT = "boolean", "tinyint", "smallint", "integer", "bigint"
REAL, DOUBLE, DECIMAL, VARCHAR, CHAR = "real", "double", "decimal", "varchar", "char"
DATE, TIME, TIMESTAMP, TIMESTAMP_TZ = "date", "time", "timestamp", "timestamp with time zone"
INTERVAL_DS, INTERVAL_YM = "interval day to second", "interval year to month"
ARRAY, MAP, ROW, JSON, VARBINARY, UNKNOWN = "array", "map", "row", "json", "varbinary", "unknown"
UUID = "uuid"

INTEGRAL = (TINYINT, SMALLINT, INTEGER, BIGINT)
NUMERIC = (*INTEGRAL, REAL, DOUBLE, DECIMAL)
DATETIME = (DATE, TIME, TIMESTAMP, TIMESTAMP_TZ)
# Types whose values can be ordered (ORDER BY, <, min/max); json, maps are not.
_UNORDERABLE = (MAP, JSON)


@dataclass(frozen=True)
class TType:
    """A Trino type: base name and parameters; ``zone`` of a zoned timestamp when known.

    Parameters: ``decimal`` (precision, scale); ``varchar``/``char`` (length,)
    or () when unbounded; ``timestamp``/``time`` (precision,); ``array``
    (element,); ``map`` (key, value); ``row`` ((name or None, type), ...).
    """

    name: str
    params: tuple[object, ...] = ()
    zone: str | None = None

    def __str__(self) -> str:
        if self.name in (VARCHAR, CHAR) and self.params:
            return f"{self.name}({self.params[0]})"
        if self.name == DECIMAL:
            return f"decimal({self.params[0]},{self.params[1]})"
        if self.name in (TIMESTAMP, TIME):
            return f"{self.name}({self.params[0]})"
        if self.name == TIMESTAMP_TZ:
            return f"timestamp({self.params[0]}) with time zone"
        if self.name in (ARRAY, MAP):
            return f"{self.name}({', '.join(str(p) for p in self.params)})"
        if self.name == ROW:
            fields = [f"{n} {t}" if n else str(t) for n, t in self.fields]
            return f"row({', '.join(fields)})"
        return self.name

    @property
    def precision(self) -> int:
        return int(self.params[0]) if self.params else 3  # type: ignore[call-overload]

    @property
    def scale(self) -> int:
        value = self.params[1]
        assert isinstance(value, int)
        return value

    @property
    def element(self) -> TType:
        value = self.params[0]
        assert isinstance(value, TType)
        return value

    @property
    def value(self) -> TType:
        value = self.params[1]
        assert isinstance(value, TType)
        return value

    @property
    def fields(self) -> list[tuple[str | None, TType]]:
        return [field for field in self.params if isinstance(field, tuple)]  # type: ignore[misc]

    def is_a(self, *names: str) -> bool:
        return self.name in names

    @property
    def orderable(self) -> bool:
        if self.name in _UNORDERABLE:
            return False
        if self.name == ARRAY:
            return self.element.orderable
        if self.name == ROW:
            return all(t.orderable for _, t in self.fields)
        return True


def varchar(length: int | None = None) -> TType:
    return TType(VARCHAR, () if length is None else (length,))


def decimal(precision: int, scale: int) -> TType:
    return TType(DECIMAL, (min(38, precision), scale))


def timestamp(precision: int = 3) -> TType:
    return TType(TIMESTAMP, (precision,))


def zoned(precision: int = 3, zone: str | None = None) -> TType:
    return TType(TIMESTAMP_TZ, (precision,), zone)


def array(element: TType) -> TType:
    return TType(ARRAY, (element,))


def map_of(key: TType, value: TType) -> TType:
    return TType(MAP, (key, value))


T_BOOLEAN, T_INTEGER, T_BIGINT, T_DOUBLE = (
    TType(BOOLEAN),
    TType(INTEGER),
    TType(BIGINT),
    TType(DOUBLE),
)
T_DATE, T_UNKNOWN, T_VARCHAR, T_JSON = TType(DATE), TType(UNKNOWN), varchar(), TType(JSON)
T_INTERVAL_DS, T_INTERVAL_YM = TType(INTERVAL_DS), TType(INTERVAL_YM)

# --- from DuckDB's names (the lake's schema) ----------------------------------------

_DUCKDB_NAMES = {
    "BOOLEAN": TType(BOOLEAN),
    "TINYINT": TType(TINYINT),
    "SMALLINT": TType(SMALLINT),
    "INTEGER": T_INTEGER,
    "BIGINT": T_BIGINT,
    "FLOAT": TType(REAL),
    "DOUBLE": T_DOUBLE,
    "VARCHAR": T_VARCHAR,
    "BLOB": TType(VARBINARY),
    "DATE": T_DATE,
    # Athena reads the lake's millisecond Parquet timestamps as timestamp(3).
    "TIMESTAMP": timestamp(3),
    "TIMESTAMP_MS": timestamp(3),
    "TIMESTAMP WITH TIME ZONE": zoned(3, "UTC"),
    "INTERVAL": T_INTERVAL_DS,
    "UUID": TType(UUID),
}


def from_duckdb(name: str) -> TType | None:
    """The Trino type Athena gives a column DuckDB reports as ``name``; None if unmapped."""
    name = name.strip().upper()
    if name.endswith("[]"):
        element = from_duckdb(name[:-2])
        return array(element) if element else None
    found = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", name)
    if found:
        return decimal(int(found.group(1)), int(found.group(2)))
    return _DUCKDB_NAMES.get(name)


# --- Trino's coercions ----------------------------------------------------------------

# coerceTypeBase: from a base type, the type it becomes when coerced to another base.
_NUMERIC_LADDER: dict[str, dict[str, TType]] = {
    TINYINT: {SMALLINT: TType(SMALLINT), INTEGER: T_INTEGER, BIGINT: T_BIGINT,
              REAL: TType(REAL), DOUBLE: T_DOUBLE, DECIMAL: decimal(3, 0)},
    SMALLINT: {INTEGER: T_INTEGER, BIGINT: T_BIGINT, REAL: TType(REAL), DOUBLE: T_DOUBLE,
               DECIMAL: decimal(5, 0)},
    INTEGER: {BIGINT: T_BIGINT, REAL: TType(REAL), DOUBLE: T_DOUBLE, DECIMAL: decimal(10, 0)},
    BIGINT: {REAL: TType(REAL), DOUBLE: T_DOUBLE, DECIMAL: decimal(19, 0)},
    DECIMAL: {REAL: TType(REAL), DOUBLE: T_DOUBLE},
    REAL: {DOUBLE: T_DOUBLE},
}  # fmt: skip


def _coerce_base(source: TType, target: str) -> TType | None:
    """``TypeCoercion.coerceTypeBase``: ``source`` as a type of base ``target``, if implicit."""
    if source.name == target:
        return source
    if source.name == UNKNOWN:
        if target == VARCHAR:
            return varchar(0)
        if target == DECIMAL:
            return decimal(1, 0)
        if target in (ARRAY, MAP, ROW):
            return None
        return TType(target, (3,) if target in (TIMESTAMP, TIMESTAMP_TZ, TIME) else ())
    if source.name in _NUMERIC_LADDER:
        return _NUMERIC_LADDER[source.name].get(target)
    if source.name == DATE and target == TIMESTAMP:
        return timestamp(0)
    if source.name == DATE and target == TIMESTAMP_TZ:
        # Read in the session zone, UTC on Athena.
        return zoned(0, "UTC")
    if source.name == TIMESTAMP and target == TIMESTAMP_TZ:
        return zoned(source.precision, "UTC")
    if source.name == CHAR and target == VARCHAR:
        return varchar(int(source.params[0]))  # type: ignore[call-overload]
    return None


def _compatibility(a: TType, b: TType) -> tuple[TType | None, bool]:
    """``TypeCoercion.compatibility(a, b)``: (common super type or None, a coercible to b)."""
    if a == b:
        return b, True
    if a.name == UNKNOWN:
        return b, True
    if b.name == UNKNOWN:
        return a, False
    if a.name == b.name:
        return _same_base(a, b)
    coerced = _coerce_base(a, b.name)
    if coerced is not None:
        return _compatibility(coerced, b)
    coerced = _coerce_base(b, a.name)
    if coerced is not None:
        common, _ = _compatibility(a, coerced)
        return common, False
    return None, False


def _same_base(a: TType, b: TType) -> tuple[TType | None, bool]:
    if a.name == DECIMAL:
        scale = max(a.scale, b.scale)
        common = decimal(max(a.precision - a.scale, b.precision - b.scale) + scale, scale)
        return common, common == b
    if a.name in (VARCHAR, CHAR):
        if not a.params or not b.params:
            common = TType(a.name)
        else:
            common = TType(a.name, (max(int(a.params[0]), int(b.params[0])),))  # type: ignore[call-overload]
        return common, common == b
    if a.name in (TIMESTAMP, TIME):
        common = TType(a.name, (max(a.precision, b.precision),))
        return common, common == b
    if a.name == TIMESTAMP_TZ:
        # Values of different zones compare by instant; the zone is a rendering detail.
        zone = a.zone if a.zone == b.zone else None
        common = zoned(max(a.precision, b.precision), zone)
        return common, common.precision == b.precision
    if a.name in (ARRAY, MAP):
        if len(a.params) != len(b.params):
            return None, False
        params: list[object] = []
        coercible = True
        for x, y in zip(a.params, b.params, strict=True):
            assert isinstance(x, TType) and isinstance(y, TType)
            element, ok = _compatibility(x, y)
            if element is None:
                return None, False
            params.append(element)
            coercible &= ok
        return TType(a.name, tuple(params)), coercible
    if a.name == ROW:
        if len(a.fields) != len(b.fields):
            return None, False
        fields: list[object] = []
        coercible = True
        for (name_a, x), (name_b, y) in zip(a.fields, b.fields, strict=True):
            field, ok = _compatibility(x, y)
            if field is None:
                return None, False
            fields.append((name_a if name_a == name_b else None, field))
            coercible &= ok
        return TType(ROW, tuple(fields)), coercible
    return None, False


def common_super_type(a: TType, b: TType) -> TType | None:
    """The type both ``a`` and ``b`` implicitly coerce to in Trino, or None."""
    return _compatibility(a, b)[0]


def can_coerce(source: TType, target: TType) -> bool:
    """Whether Trino coerces ``source`` to ``target`` implicitly."""
    common, coercible = _compatibility(source, target)
    return common is not None and coercible


# --- explicit casts -------------------------------------------------------------------

_SCALAR_TEXT = (*NUMERIC, BOOLEAN, DATE, TIME, TIMESTAMP, TIMESTAMP_TZ, VARCHAR, CHAR, JSON, UUID)
# Base -> bases it can be CAST to (besides itself and varchar/json where listed).
_CASTS: dict[str, tuple[str, ...]] = {
    **{n: (*NUMERIC, BOOLEAN, VARCHAR, CHAR, JSON) for n in NUMERIC},
    BOOLEAN: (*NUMERIC, VARCHAR, CHAR, JSON),
    VARCHAR: (*_SCALAR_TEXT, VARBINARY, INTERVAL_DS, INTERVAL_YM),
    CHAR: (*_SCALAR_TEXT,),
    DATE: (TIMESTAMP, TIMESTAMP_TZ, VARCHAR, CHAR, JSON),
    TIMESTAMP: (DATE, TIME, TIMESTAMP_TZ, VARCHAR, CHAR, JSON),
    TIMESTAMP_TZ: (DATE, TIME, TIMESTAMP, VARCHAR, CHAR, JSON),
    TIME: (TIMESTAMP, TIMESTAMP_TZ, VARCHAR, CHAR, JSON),
    JSON: (*NUMERIC, BOOLEAN, VARCHAR, DATE, TIMESTAMP, ARRAY, MAP, ROW),
    INTERVAL_DS: (VARCHAR,),
    INTERVAL_YM: (VARCHAR,),
    VARBINARY: (),
    UUID: (VARCHAR, CHAR),
}


def can_cast(source: TType, target: TType) -> bool:
    """Whether ``CAST(source AS target)`` exists in Trino (it may still fail on a value)."""
    if source.name == UNKNOWN:
        return True
    if source.name == target.name and source.name not in (ARRAY, MAP, ROW):
        return True
    if source.name == ARRAY and target.name == ARRAY:
        return can_cast(source.element, target.element)
    if source.name == MAP and target.name == MAP:
        key, other_key = source.params[0], target.params[0]
        assert isinstance(key, TType) and isinstance(other_key, TType)
        return can_cast(key, other_key) and can_cast(source.value, target.value)
    if source.name == ROW and target.name == ROW:
        pairs = zip(source.fields, target.fields, strict=False)
        same = len(source.fields) == len(target.fields)
        return same and all(can_cast(a, b) for (_, a), (_, b) in pairs)
    if target.name == JSON and source.name in (ARRAY, MAP, ROW):
        return True
    return target.name in _CASTS.get(source.name, ())

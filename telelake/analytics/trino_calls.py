"""The Trino type of a function call, and the refusal of functions not reproduced here.

sqlglot parses each Trino function into a node of its own (``date_add`` is a
``DateAdd`` whose ``this`` is the *third* argument); :data:`CALLS` maps each
node kind back to the Trino name and argument order, so
:func:`telelake.analytics.trino_signatures.resolve` sees the call as Trino
does. The few calls whose type depends on more than their argument types
(a zone in a string literal, ``sum`` of a decimal, ``count(*)``, subscripts)
are typed here by hand. A call of any other function is refused with one
line: running it with DuckDB's meaning would be a silent difference.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_datetime import iso8601_zone
from telelake.analytics.trino_scalars import row_field_type, zip_type
from telelake.analytics.trino_signatures import SIGNATURES, resolve
from telelake.analytics.trino_types import TType
from telelake.analytics.trino_zoned import zone_name
from telelake.errors import QueryError

TypeOf = Callable[[exp.Expr], TType | None]

# node kind -> (Trino name, argument keys in Trino's order; "*" splats a list).
CALLS: dict[type[exp.Expr], tuple[str, tuple[str, ...]]] = {
    exp.Abs: ("abs", ("this",)), exp.Ceil: ("ceil", ("this",)), exp.Floor: ("floor", ("this",)),
    exp.Round: ("round", ("this", "decimals")), exp.Sign: ("sign", ("this",)),
    exp.Sqrt: ("sqrt", ("this",)), exp.Cbrt: ("cbrt", ("this",)), exp.Exp: ("exp", ("this",)),
    exp.Ln: ("ln", ("this",)), exp.Degrees: ("degrees", ("this",)),
    exp.Radians: ("radians", ("this",)), exp.Sin: ("sin", ("this",)), exp.Cos: ("cos", ("this",)),
    exp.Tan: ("tan", ("this",)), exp.Asin: ("asin", ("this",)), exp.Acos: ("acos", ("this",)),
    exp.Atan: ("atan", ("this",)), exp.Pow: ("pow", ("this", "expression")),
    exp.Mod: ("mod", ("this", "expression")), exp.Pi: ("pi", ()), exp.IsNan: ("is_nan", ("this",)),
    exp.Greatest: ("greatest", ("this", "expressions*")),
    exp.Least: ("least", ("this", "expressions*")),
    exp.Length: ("length", ("this",)), exp.Lower: ("lower", ("this",)),
    exp.Upper: ("upper", ("this",)), exp.Reverse: ("reverse", ("this",)),
    exp.Substring: ("substr", ("this", "start", "length")),
    exp.StrPosition: ("strpos", ("this", "substr", "occurrence")),
    exp.Replace: ("replace", ("this", "expression", "replacement")),
    exp.Split: ("split", ("this", "expression", "limit")),
    exp.SplitPart: ("split_part", ("this", "delimiter", "part_index")),
    exp.Concat: ("concat", ("expressions*",)), exp.DPipe: ("concat", ("this", "expression")),
    exp.Chr: ("chr", ("expressions*",)), exp.StartsWith: ("starts_with", ("this", "expression")),
    exp.RegexpLike: ("regexp_like", ("this", "expression")),
    exp.RegexpExtract: ("regexp_extract", ("this", "expression", "group")),
    exp.RegexpExtractAll: ("regexp_extract_all", ("this", "expression", "group")),
    exp.RegexpReplace: ("regexp_replace", ("this", "expression", "replacement")),
    exp.RegexpCount: ("regexp_count", ("this", "expression")),
    exp.RegexpSplit: ("regexp_split", ("this", "expression")),
    exp.Levenshtein: ("levenshtein_distance", ("this", "expression")),
    exp.Encode: ("to_utf8", ("this",)), exp.Decode: ("from_utf8", ("this",)),
    exp.JSONExtractScalar: ("json_extract_scalar", ("this", "expression")),
    exp.JSONExtract: ("json_extract", ("this", "expression")),
    exp.ParseJSON: ("json_parse", ("this",)), exp.JSONFormat: ("json_format", ("this",)),
    exp.CurrentTimezone: ("current_timezone", ()), exp.Date: ("date", ("this",)),
    exp.TimeToUnix: ("to_unixtime", ("this",)),
    exp.FromISO8601Date: ("from_iso8601_date", ("this",)),
    exp.TimestampTrunc: ("date_trunc", ("unit", "this")),
    exp.DateTrunc: ("date_trunc", ("unit", "this")),
    exp.DateAdd: ("date_add", ("unit", "expression", "this")),
    exp.DateDiff: ("date_diff", ("unit", "expression", "this")),
    exp.TimeToStr: ("date_format", ("this", "format")),
    exp.StrToTime: ("date_parse", ("this", "format")),
    exp.ParseDatetime: ("parse_datetime", ("this", "format")),
    exp.LastDay: ("last_day_of_month", ("this",)), exp.Year: ("year", ("this",)),
    exp.Quarter: ("quarter", ("this",)), exp.Month: ("month", ("this",)),
    exp.WeekOfYear: ("week", ("this",)), exp.YearOfWeek: ("year_of_week", ("this",)),
    exp.Day: ("day", ("this",)), exp.DayOfMonth: ("day_of_month", ("this",)),
    exp.DayOfWeekIso: ("day_of_week", ("this",)), exp.DayOfYear: ("day_of_year", ("this",)),
    exp.Hour: ("hour", ("this",)), exp.Minute: ("minute", ("this",)),
    exp.Second: ("second", ("this",)),
    exp.GenerateSeries: ("sequence", ("start", "end", "step")),
    exp.ArraySize: ("cardinality", ("this",)),
    exp.ArrayContains: ("contains", ("this", "expression")),
    exp.ArrayPosition: ("array_position", ("this", "expression")),
    exp.ArrayToString: ("array_join", ("this", "expression", "null")),
    exp.ArrayDistinct: ("array_distinct", ("this",)), exp.ArrayMax: ("array_max", ("this",)),
    exp.ArrayMin: ("array_min", ("this",)), exp.Flatten: ("flatten", ("this",)),
    exp.ArraySlice: ("slice", ("this", "start", "end")),
    exp.MapKeys: ("map_keys", ("this",)), exp.Normalize: ("normalize", ("this",)),
    exp.Trunc: ("truncate", ("this", "decimals")),
    exp.ArrayExcept: ("array_except", ("this", "expression")),
    exp.ArrayIntersect: ("array_intersect", ("expressions*",)),
    exp.ApproxQuantile: ("approx_percentile", ("this", "weight", "quantile")),
    exp.Typeof: ("typeof", ("this",)),
    exp.CountIf: ("count_if", ("this",)), exp.Min: ("min", ("this",)), exp.Max: ("max", ("this",)),
    exp.ArgMin: ("min_by", ("this", "expression")), exp.ArgMax: ("max_by", ("this", "expression")),
    exp.AnyValue: ("arbitrary", ("this",)), exp.ArrayAgg: ("array_agg", ("this",)),
    exp.ApproxDistinct: ("approx_distinct", ("this",)),
    exp.LogicalAnd: ("bool_and", ("this",)), exp.LogicalOr: ("bool_or", ("this",)),
    exp.Stddev: ("stddev", ("this",)), exp.StddevSamp: ("stddev_samp", ("this",)),
    exp.StddevPop: ("stddev_pop", ("this",)), exp.Variance: ("variance", ("this",)),
    exp.VariancePop: ("var_pop", ("this",)),
    exp.GroupConcat: ("listagg", ("this", "separator")),
    exp.RowNumber: ("row_number", ()), exp.Rank: ("rank", ()), exp.DenseRank: ("dense_rank", ()),
    exp.Ntile: ("ntile", ("this",)), exp.PercentRank: ("percent_rank", ()),
    exp.CumeDist: ("cume_dist", ()), exp.Lag: ("lag", ("this", "offset", "default")),
    exp.Lead: ("lead", ("this", "offset", "default")),
    exp.FirstValue: ("first_value", ("this",)), exp.LastValue: ("last_value", ("this",)),
    exp.NthValue: ("nth_value", ("this", "offset")),
    exp.WidthBucket: ("width_bucket", ("this", "min_value", "max_value", "num_buckets")),
}  # fmt: skip

# Why a known Trino function is not run here, for the one-line refusal.
REFUSED: dict[str, str] = {}


def _args(node: exp.Expr, keys: tuple[str, ...]) -> list[exp.Expr]:
    found: list[exp.Expr] = []
    for key in keys:
        if key.endswith("*"):
            found.extend(node.args.get(key[:-1]) or [])
        elif node.args.get(key) is not None:
            found.append(node.args[key])
    return found


def _arg_type(node: exp.Expr, type_of: TypeOf) -> TType | None:
    # A unit (DAY) or a JSON path is written as a string literal in Trino.
    if isinstance(node, (exp.Var, exp.JSONPath)):
        return tt.varchar(len(node.name))
    return type_of(node)


def call_type(node: exp.Expr, type_of: TypeOf) -> TType | None:
    """The Trino type of call ``node``; QueryError if Trino rejects it or it is not reproduced."""
    special = _special(node, type_of)
    if special is not _NOT_SPECIAL:
        return special
    if isinstance(node, exp.Anonymous):
        name, args = str(node.this).lower(), list(node.expressions)
    elif type(node) in CALLS:
        name, keys = CALLS[type(node)]
        args = _args(node, keys)
    elif isinstance(node, exp.Func):
        name, args = node.sql_name().lower(), []
    else:
        return None
    if name not in SIGNATURES:
        why = REFUSED.get(name, f"run Trino's {name}(), whose results telelake does not check")
        raise QueryError(f"{name}() is not reproduced locally: Athena would {why}")
    actuals = [_arg_type(a, type_of) for a in args]
    found = resolve(name, actuals)
    if name == "concat" and found is not None and found.name == tt.VARCHAR:
        lengths = [a.params[0] if a and a.params else None for a in actuals]
        if all(isinstance(n, int) for n in lengths):
            return tt.varchar(sum(n for n in lengths if isinstance(n, int)))
    rounded = name in ("ceil", "floor", "round") and len(actuals) == 1
    if rounded and found is not None and found.name == tt.DECIMAL:
        return tt.decimal(found.precision - found.scale + min(found.scale, 1), 0)
    return found


_NOT_SPECIAL = TType("not special")


def _special(node: exp.Expr, type_of: TypeOf) -> TType | None:

    if isinstance(node, (exp.CurrentTimestamp,)):
        return tt.zoned(3, "UTC")
    if isinstance(node, exp.CurrentDate):
        return tt.T_DATE
    if isinstance(node, exp.Localtimestamp):
        return tt.timestamp(3)
    if isinstance(node, exp.Count):
        for arg in [node.this, *node.expressions]:
            if arg is not None and not isinstance(arg, exp.Star):
                type_of(arg.expressions[0] if isinstance(arg, exp.Distinct) else arg)
        return tt.T_BIGINT
    if isinstance(node, (exp.Sum, exp.Avg)):
        found = type_of(node.this)
        resolve("sum" if isinstance(node, exp.Sum) else "avg", [found])
        if found is None or found.name == tt.UNKNOWN:
            return (
                None if found is None else tt.T_DOUBLE if isinstance(node, exp.Avg) else tt.T_BIGINT
            )
        if found.name == tt.DECIMAL:
            return tt.decimal(38, found.scale) if isinstance(node, exp.Sum) else found
        if found.name in tt.INTEGRAL:
            return tt.T_BIGINT if isinstance(node, exp.Sum) else tt.T_DOUBLE
        return found
    if isinstance(node, exp.Trim):
        name = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(str(node.args.get("position")), "trim")
        chars = node.args.get("expression")
        return resolve(name, [type_of(n) for n in (node.this, chars) if n is not None])
    if isinstance(node, exp.Pad):
        name = "lpad" if node.args.get("is_left") else "rpad"
        return resolve(
            name, [type_of(n) for n in _args(node, ("this", "expression", "fill_pattern"))]
        )
    if isinstance(node, exp.Log):
        args = [node.this] if node.expression is None else [node.this, node.expression]
        return resolve("log" if len(args) == 2 else "ln", [type_of(a) for a in args])
    if isinstance(node, exp.Rand):
        if node.this is not None:
            raise QueryError(
                "random(n) is not reproduced locally: Athena would draw from Java's generator"
            )
        return tt.T_DOUBLE
    if isinstance(node, exp.UnixToTime):
        resolve("from_unixtime", [type_of(node.this)])
        hours, minutes = node.args.get("hours"), node.args.get("minutes")
        if hours is not None or minutes is not None:
            return tt.zoned(3, _offset_zone(hours, minutes))
        zone = node.args.get("zone")
        if zone is None:
            return tt.zoned(3, "UTC")
        resolve("from_unixtime", [type_of(node.this), type_of(zone)])
        return tt.zoned(3, _constant_zone(zone, "from_unixtime"))
    if isinstance(node, exp.AtTimeZone):
        base = type_of(node.this)
        if base is not None and not base.is_a(tt.TIMESTAMP, tt.TIMESTAMP_TZ, tt.UNKNOWN):
            raise QueryError(
                "Type of value must be a time or timestamp with or without time zone "
                f"(actual {base})"
            )
        return tt.zoned(
            base.precision if base else 3, _constant_zone(node.args.get("zone"), "AT TIME ZONE")
        )
    if isinstance(node, exp.Anonymous) and str(node.this).lower() in (
        "at_timezone",
        "with_timezone",
    ):
        name = str(node.this).lower()
        args = list(node.expressions)
        found = resolve(name, [type_of(a) for a in args])
        precision = found.precision if found else 3
        return tt.zoned(precision, _constant_zone(args[1] if len(args) == 2 else None, name))
    if isinstance(node, exp.Format):
        # format(varchar, T...): what each argument may be is trino_format's decision.
        for arg in node.expressions:
            type_of(arg)
        resolve("format", [type_of(node.this)])
        return tt.T_VARCHAR
    if isinstance(node, exp.FromISO8601Timestamp):
        resolve("from_iso8601_timestamp", [type_of(node.this)])
        # The string's own offset: known for a literal, per row (None) for a column.
        text = node.this
        literal = isinstance(text, exp.Literal) and text.is_string
        return tt.zoned(3, iso8601_zone(str(text.this)) if literal else None)
    if isinstance(node, exp.Bracket):
        return _subscript(node, type_of)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "zip":
        return zip_type([type_of(a) for a in node.expressions])
    if isinstance(node, exp.Map):
        keys, values = node.args.get("keys"), node.args.get("values")
        if keys is None or values is None:
            return None
        return resolve("map", [type_of(keys), type_of(values)])
    if isinstance(node, exp.Struct):
        fields = []
        for field in node.expressions:
            fields.append((None, type_of(field)))
        return None if any(t is None for _, t in fields) else TType(tt.ROW, tuple(fields))
    if isinstance(node, (exp.ArrayFilter, exp.ArraySort)):
        type_of(node.this)
        if isinstance(node, exp.ArraySort) and node.expression is not None:
            return type_of(node.this)
        return type_of(node.this)
    if isinstance(node, (exp.Transform, exp.Reduce)):
        type_of(node.this)
        return None
    if isinstance(node, exp.Anonymous) and str(node.this).lower() in (
        "any_match",
        "all_match",
        "none_match",
    ):
        type_of(node.expressions[0])
        return tt.T_BOOLEAN
    return _NOT_SPECIAL


def _constant_zone(node: exp.Expr | None, where: str) -> str:
    """The zone a literal names; a zone computed per row is refused (Trino checks each value)."""
    zone = zone_name(node)
    if zone is None:
        raise QueryError(
            f"{where} with a time zone that is not a constant string is not reproduced locally: "
            "Athena would check and apply each row's zone"
        )
    return zone


def _offset_zone(hours: exp.Expr | None, minutes: exp.Expr | None) -> str:
    """The fixed-offset zone of ``from_unixtime(t, hours, minutes)`` (integer literals only)."""
    values = []
    for part in (hours, minutes):
        negative = isinstance(part, exp.Neg)
        literal = part.this if isinstance(part, exp.Neg) else part
        if not (isinstance(literal, exp.Literal) and literal.is_int):
            raise QueryError(
                "from_unixtime(unixtime, hours, minutes) with non-constant offsets is not "
                "reproduced locally: Athena would use each row's own offset"
            )
        values.append(-int(literal.this) if negative else int(literal.this))
    # Trino: getTimeZoneKeyForOffset(hoursOffset * 60 + minutesOffset).
    total = values[0] * 60 + values[1]
    if total == 0:
        return "UTC"
    sign = "+" if total > 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def _subscript(node: exp.Bracket, type_of: TypeOf) -> TType | None:
    base = type_of(node.this)
    index_node = node.expressions[0] if node.expressions else None
    index = type_of(index_node) if index_node is not None else None
    if node.args.get("safe"):
        return resolve("element_at", [base, index])
    if base is not None and base.name == tt.ROW:
        return row_field_type(node, base)
    if base is None or index is None:
        return None
    if base.name == tt.ARRAY and tt.can_coerce(index, tt.T_BIGINT):
        return base.element
    # map(K, V)[K]: K binds to the common type of the key and the index.
    if base.name == tt.MAP and tt.common_super_type(index, base.params[0]) is not None:  # type: ignore[arg-type]
        return base.value
    raise QueryError(f"Cannot use {index} for subscript of {base}")

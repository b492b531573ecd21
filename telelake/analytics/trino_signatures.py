"""Trino's function signatures: which argument types a function takes and what it returns.

The type checker (:mod:`telelake.analytics.trino_check`) resolves every
function call of an Athena query against this table, as Trino's function
resolver does: an argument may be coerced implicitly (``integer`` to
``bigint``, ``date`` to ``timestamp(0)``) but never from ``varchar`` to a
number or a date, so ``length(user_id)`` or ``date_diff('day', '2021-01-01',
context_date)`` fail here with Trino's "Unexpected parameters" message
instead of running on DuckDB's looser rules.

The table is also the list of functions the Athena mode reproduces: each was
checked against Trino's documentation (and, where DuckDB differs, fixed by
a rewrite). A function missing from it is refused with one line rather than
run with DuckDB's meaning. Signatures are written as Trino's documentation
writes them; the letters ``T`` (any type), ``N`` (a number), ``E`` (an array
element) and ``K``/``V`` (map key and value) are type variables, ``ts`` is
any ``timestamp(p)`` and ``tstz`` any ``timestamp(p) with time zone``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_types import TType
from telelake.errors import QueryError

_TABLE = """
abs(N) N
ceil(N) N
ceiling(N) N
floor(N) N
round(N) N
round(N, integer) N
truncate(double) double
truncate(decimal) decimal
concat_ws(varchar...) varchar
histogram(T) map(T,bigint)
every(boolean) boolean
timezone_hour(tstz) bigint
timezone_minute(tstz) bigint
trim(varchar, varchar) varchar(x)
ltrim(varchar, varchar) varchar(x)
rtrim(varchar, varchar) varchar(x)
sign(N) N
sqrt(double) double
cbrt(double) double
exp(double) double
ln(double) double
log2(double) double
log10(double) double
log(double, double) double
pow(double, double) double
power(double, double) double
degrees(double) double
radians(double) double
sin(double) double
cos(double) double
tan(double) double
asin(double) double
acos(double) double
atan(double) double
atan2(double, double) double
mod(N, N) N
width_bucket(double, double, double, bigint) bigint
width_bucket(double, array(double)) bigint
format_number(bigint) varchar
format(varchar) varchar
format_number(double) varchar
rand() double
random() double
infinity() double
nan() double
pi() double
e() double
is_finite(double) boolean
is_infinite(double) boolean
is_nan(double) boolean
greatest(T...) T
least(T...) T
length(varchar) bigint
length(varbinary) bigint
lower(varchar) varchar(x)
upper(varchar) varchar(x)
trim(varchar) varchar(x)
ltrim(varchar) varchar(x)
rtrim(varchar) varchar(x)
reverse(varchar) varchar(x)
reverse(varbinary) varbinary
reverse(array(E)) array(E)
substr(varchar, bigint) varchar(x)
substr(varchar, bigint, bigint) varchar(x)
substring(varchar, bigint) varchar(x)
substring(varchar, bigint, bigint) varchar(x)
strpos(varchar, varchar) bigint
strpos(varchar, varchar, bigint) bigint
position(varchar, varchar) bigint
replace(varchar, varchar) varchar(x)
replace(varchar, varchar, varchar) varchar
split(varchar, varchar) array(varchar(x))
split(varchar, varchar, bigint) array(varchar(x))
split_part(varchar, varchar, bigint) varchar(x)
concat(varchar...) varchar
concat(array(E)...) array(E)
lpad(varchar, bigint, varchar) varchar
rpad(varchar, bigint, varchar) varchar
chr(bigint) varchar(1)
codepoint(varchar(1)) integer
starts_with(varchar, varchar) boolean
regexp_like(varchar, varchar) boolean
regexp_extract(varchar, varchar) varchar(x)
regexp_extract(varchar, varchar, bigint) varchar(x)
regexp_extract_all(varchar, varchar) array(varchar(x))
regexp_extract_all(varchar, varchar, bigint) array(varchar(x))
regexp_replace(varchar, varchar) varchar(x)
regexp_replace(varchar, varchar, varchar) varchar
regexp_count(varchar, varchar) bigint
regexp_split(varchar, varchar) array(varchar(x))
hamming_distance(varchar, varchar) bigint
levenshtein_distance(varchar, varchar) bigint
to_utf8(varchar) varbinary
from_utf8(varbinary) varchar
json_extract_scalar(varchar, varchar) varchar
json_extract_scalar(json, varchar) varchar
json_extract(varchar, varchar) json
json_extract(json, varchar) json
json_parse(varchar) json
json_format(json) varchar
json_array_length(varchar) bigint
json_size(varchar, varchar) bigint
json_size(json, varchar) bigint
json_array_length(json) bigint
current_timezone() varchar
date(varchar) date
date(ts) date
date(tstz) date
from_unixtime(double) tstz
from_unixtime(double, varchar) tstz
to_unixtime(ts) double
to_unixtime(tstz) double
to_iso8601(date) varchar
to_iso8601(ts) varchar
to_iso8601(tstz) varchar
from_iso8601_date(varchar) date
from_iso8601_timestamp(varchar) tstz
date_trunc(varchar, date) date
date_trunc(varchar, ts) ts
date_trunc(varchar, tstz) tstz
date_add(varchar, bigint, date) date
date_add(varchar, bigint, ts) ts
date_add(varchar, bigint, tstz) tstz
date_diff(varchar, date, date) bigint
date_diff(varchar, ts, ts) bigint
date_diff(varchar, tstz, tstz) bigint
at_timezone(tstz, varchar) tstz
with_timezone(ts, varchar) tstz
date_format(ts, varchar) varchar
date_format(tstz, varchar) varchar
format_datetime(ts, varchar) varchar
format_datetime(tstz, varchar) varchar
date_parse(varchar, varchar) timestamp(3)
parse_datetime(varchar, varchar) tstz
last_day_of_month(date) date
last_day_of_month(ts) date
last_day_of_month(tstz) date
year(date) bigint
year(ts) bigint
year(tstz) bigint
quarter(date) bigint
quarter(ts) bigint
quarter(tstz) bigint
month(date) bigint
month(ts) bigint
month(tstz) bigint
week(date) bigint
week(ts) bigint
week(tstz) bigint
week_of_year(date) bigint
week_of_year(ts) bigint
week_of_year(tstz) bigint
year_of_week(date) bigint
year_of_week(ts) bigint
year_of_week(tstz) bigint
yow(date) bigint
yow(ts) bigint
yow(tstz) bigint
day(date) bigint
day(ts) bigint
day(tstz) bigint
day_of_month(date) bigint
day_of_month(ts) bigint
day_of_month(tstz) bigint
day_of_week(date) bigint
day_of_week(ts) bigint
day_of_week(tstz) bigint
dow(date) bigint
dow(ts) bigint
dow(tstz) bigint
day_of_year(date) bigint
day_of_year(ts) bigint
day_of_year(tstz) bigint
doy(date) bigint
doy(ts) bigint
doy(tstz) bigint
hour(ts) bigint
hour(tstz) bigint
minute(ts) bigint
minute(tstz) bigint
second(ts) bigint
second(tstz) bigint
millisecond(ts) bigint
millisecond(tstz) bigint
sequence(bigint, bigint) array(bigint)
sequence(bigint, bigint, bigint) array(bigint)
sequence(date, date) array(date)
sequence(date, date, interval_ds) array(date)
sequence(date, date, interval_ym) array(date)
cardinality(array(E)) bigint
cardinality(map(K,V)) bigint
element_at(array(E), bigint) E
element_at(map(K,V), K) V
contains(array(E), E) boolean
array_position(array(E), E) bigint
array_join(array(E), varchar) varchar
array_join(array(E), varchar, varchar) varchar
array_distinct(array(E)) array(E)
array_sort(array(E)) array(E)
array_max(array(E)) E
array_min(array(E)) E
slice(array(E), bigint, bigint) array(E)
flatten(array(array(E))) array(E)
map_keys(map(K,V)) array(K)
array_except(array(E), array(E)) array(E)
array_union(array(E), array(E)) array(E)
array_intersect(array(E), array(E)) array(E)
arrays_overlap(array(E), array(E)) boolean
approx_percentile(N, double) N
approx_percentile(N, bigint, double) N
normalize(varchar) varchar
url_extract_protocol(varchar) varchar(x)
url_extract_host(varchar) varchar(x)
url_extract_port(varchar) bigint
url_extract_path(varchar) varchar(x)
url_extract_query(varchar) varchar(x)
url_extract_fragment(varchar) varchar(x)
url_extract_parameter(varchar, varchar) varchar(x)
map_values(map(K,V)) array(V)
map(array(K), array(V)) map(K,V)
typeof(T) varchar
count() bigint
count(T) bigint
count_if(boolean) bigint
sum(N) N
avg(N) N
min(T) T
max(T) T
min_by(T, T2) T
max_by(T, T2) T
arbitrary(T) T
any_value(T) T
array_agg(T) array(T)
approx_distinct(T) bigint
bool_and(boolean) boolean
bool_or(boolean) boolean
stddev(double) double
stddev_samp(double) double
stddev_pop(double) double
variance(double) double
var_samp(double) double
var_pop(double) double
listagg(varchar, varchar) varchar
row_number() bigint
rank() bigint
dense_rank() bigint
ntile(bigint) bigint
percent_rank() double
cume_dist() double
lag(T) T
lag(T, bigint) T
lag(T, bigint, T) T
lead(T) T
lead(T, bigint) T
lead(T, bigint, T) T
first_value(T) T
last_value(T) T
nth_value(T, bigint) T
"""

Signature = tuple[str, tuple[str, ...], bool, str]  # name, formals, variadic, result


def _parse(table: str) -> dict[str, list[Signature]]:
    found: dict[str, list[Signature]] = {}
    for line in table.strip().splitlines():
        head, result = line.rsplit(") ", 1)
        name, _, args = head.partition("(")
        formals = tuple(a.strip() for a in re.split(r",\s*(?![^()]*\))", args) if a.strip())
        variadic = bool(formals) and formals[-1].endswith("...")
        if variadic:
            formals = (*formals[:-1], formals[-1][:-3])
        found.setdefault(name, []).append((name, formals, variadic, result))
    return found


SIGNATURES = _parse(_TABLE)
"""Trino function name -> its signatures, most specific first."""

_CONCRETE = {
    "boolean": tt.T_BOOLEAN,
    "integer": tt.T_INTEGER,
    "bigint": tt.T_BIGINT,
    "double": tt.T_DOUBLE,
    "date": tt.T_DATE,
    "json": tt.T_JSON,
    "varbinary": TType(tt.VARBINARY),
    "interval_ds": tt.T_INTERVAL_DS,
    "interval_ym": tt.T_INTERVAL_YM,
    "timestamp(3)": tt.timestamp(3),
}


class _Binding:
    def __init__(self) -> None:
        self.vars: dict[str, TType] = {}
        self.exact = True

    def bind(self, var: str, actual: TType) -> bool:
        previous = self.vars.get(var)
        if previous is None:
            self.vars[var] = actual
            return True
        common = tt.common_super_type(previous, actual)
        if common is None:
            return False
        self.exact &= common == previous == actual
        self.vars[var] = common
        return True


def _match(formal: str, actual: TType | None, binding: _Binding) -> bool:
    """Whether ``actual`` fits ``formal`` (binding its variables); None matches anything."""
    if actual is None:
        return True
    if formal.startswith("array(") or formal.startswith("map("):
        inner = [p.strip() for p in re.split(r",(?![^()]*\))", formal[formal.index("(") + 1 : -1])]
        if actual.name == tt.UNKNOWN:
            return True
        if actual.name != formal[: formal.index("(")]:
            return False
        params = [p if isinstance(p, TType) else None for p in actual.params]
        return all(_match(f, a, binding) for f, a in zip(inner, params, strict=False))
    if formal in ("T", "T2", "E", "K", "V"):
        return binding.bind(formal, actual)
    if formal == "N":
        if actual.name == tt.UNKNOWN:
            return binding.bind("N", tt.T_INTEGER)
        return actual.name in tt.NUMERIC and binding.bind("N", actual)
    if formal == "varchar(1)":
        # codepoint takes exactly one character: a longer or unbounded varchar does not coerce.
        length = actual.params[0] if actual.params else None
        return actual.name == tt.UNKNOWN or (
            actual.name == tt.VARCHAR and isinstance(length, int) and length <= 1
        )
    if formal == "varchar":
        ok = actual.name in (tt.VARCHAR, tt.CHAR, tt.UNKNOWN)
        if ok and "x" not in binding.vars:
            binding.vars["x"] = actual if actual.name == tt.VARCHAR else tt.varchar(0)
        return ok
    if formal == "decimal":
        return actual.name in (tt.DECIMAL, tt.UNKNOWN)
    if formal in ("ts", "tstz"):
        base = tt.TIMESTAMP if formal == "ts" else tt.TIMESTAMP_TZ
        coerced = actual if actual.name == base else tt._coerce_base(actual, base)
        if coerced is None:
            return False
        binding.exact &= actual.name == base
        binding.vars[formal] = coerced
        return True
    target = _CONCRETE[formal]
    if actual == target or (actual.name == target.name and actual.name != tt.DECIMAL):
        return True
    binding.exact = False
    return tt.can_coerce(actual, target)


def _result(result: str, binding: _Binding, actuals: Sequence[TType | None]) -> TType | None:
    if result in binding.vars:
        return binding.vars[result]
    if result == "tstz":
        # Made from text or a number (parse_datetime): in the session zone, UTC on Athena.
        return tt.zoned(3, "UTC")
    if result in ("T", "T2", "E", "K", "V", "N", "ts"):
        return None
    if result == "varchar(x)":
        return binding.vars.get("x", tt.T_VARCHAR)
    if result == "array(varchar(x))":
        return tt.array(binding.vars.get("x", tt.T_VARCHAR))
    if result in ("array(E)", "array(T)", "array(K)", "array(V)"):
        element = binding.vars.get(result[6])
        return tt.array(element) if element else None
    if result == "map(T,bigint)":
        key = binding.vars.get("T")
        return tt.map_of(key, tt.T_BIGINT) if key else None
    if result == "map(K,V)":
        key, value = binding.vars.get("K"), binding.vars.get("V")
        return tt.map_of(key, value) if key and value else None
    if result == "varchar":
        return tt.T_VARCHAR
    if result == "array(bigint)":
        return tt.array(tt.T_BIGINT)
    if result == "array(date)":
        return tt.array(tt.T_DATE)
    if result == "varchar(1)":
        return tt.varchar(1)
    return _CONCRETE[result]


def resolve(name: str, actuals: Sequence[TType | None]) -> TType | None:
    """The result type of ``name(actuals)`` in Trino; QueryError when Trino has no match.

    Like Trino's resolver, a signature that needs no coercion wins over one
    that does; among those that need one, the first listed (most specific).
    """
    candidates = SIGNATURES[name]
    fitting: list[tuple[Signature, _Binding]] = []
    for signature in candidates:
        _, formals, variadic, _ = signature
        if variadic:
            wanted = [formals[-1]] * len(actuals) if len(actuals) >= 1 else []
        elif len(formals) != len(actuals):
            continue
        else:
            wanted = list(formals)
        binding = _Binding()
        if all(_match(f, a, binding) for f, a in zip(wanted, actuals, strict=True)):
            fitting.append((signature, binding))
    if not fitting:
        shown = ", ".join(str(a) if a else "unknown" for a in actuals)
        expected = ", ".join(
            f"{name}({', '.join(s[1])}{'...' if s[2] else ''})" for s in candidates
        )
        raise QueryError(
            f"Unexpected parameters ({shown}) for function {name}. Expected: {expected}"
        )
    exact = [pair for pair in fitting if pair[1].exact]
    signature, binding = (exact or fitting)[0]
    return _result(signature[3], binding, actuals)

"""Trino's ``timestamp(p) with time zone`` on DuckDB: an instant plus a zone.

In Trino a ``timestamp with time zone`` is an instant *and* a zone:
``from_unixtime(date, 'America/Sao_Paulo') >= TIMESTAMP '2021-01-04 00:00:00'``
compares instants, ``hour()`` reads the wall clock of the zone, ``date_add('day',
1, ...)`` moves the wall clock in the zone's calendar (a day across a DST night
is 23 or 25 hours) and ``CAST(... AS varchar)`` prints the zone. DuckDB's
``TIMESTAMPTZ`` is only the instant, shown in the session zone.

The model here: the value is a DuckDB ``TIMESTAMPTZ`` holding the instant,
and the zone travels with the *type* (:class:`~telelake.analytics.trino_types.TType`,
set by the checker from the SQL: ``from_unixtime(t, zone)``, ``at_timezone``,
``AT TIME ZONE``, a literal with a zone; UTC, Athena's session zone, for
``from_unixtime(t)`` and ``current_timestamp``). So comparisons, grouping and
``to_unixtime`` work on the instant as they are; every function that reads
the wall clock gets ``x AT TIME ZONE 'zone'``; calendar arithmetic follows
Joda-Time, which Trino uses (``ZonedChronology``: hours and smaller move the
instant, days and larger the wall clock, then back to an instant keeping the
original offset when it still applies). A zone that is not a constant is
refused where it matters, with one line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlglot import exp

from telelake.analytics import trino_types as tt
from telelake.analytics.trino_rewrite import OperandTypes, template
from telelake.errors import QueryError

# DuckDB macros for Joda-Time's local -> UTC conversion (DateTimeZone.convertLocalToUTC).
# In a DST overlap DuckDB (ICU) picks the later instant, Joda the offset of the
# original instant, else the one its algorithm finds; in a gap both move forward.
MACROS: tuple[str, ...] = (
    # Offset of zone z at instant i, as an INTERVAL.
    "CREATE MACRO trino_offset(i, z) AS timezone(z, i) - timezone('UTC', i)",
    # convertLocalToUTC(l, false): o1 = offset at l read as UTC, o2 = offset at l - o1;
    # western zones in a gap keep o1 (Joda's "offsetLocal < 0" branch).
    "CREATE MACRO trino_local_utc2(l, z, o1, o2) AS timezone('UTC', l) - CASE "
    "WHEN o1 <> o2 AND o1 < INTERVAL 0 SECOND AND timezone(z, timezone('UTC', l) - o2) <> l "
    "THEN o1 ELSE o2 END",
    "CREATE MACRO trino_local_utc1(l, z, o1) AS "
    "trino_local_utc2(l, z, o1, trino_offset(timezone('UTC', l) - o1, z))",
    "CREATE MACRO trino_local_to_utc(l, z) AS "
    "trino_local_utc1(l, z, trino_offset(timezone('UTC', l), z))",
    # convertLocalToUTC(l, false, original): the original offset first, if it still applies.
    "CREATE MACRO trino_local_keep(l, z, oo) AS CASE "
    "WHEN trino_offset(timezone('UTC', l) - oo, z) = oo THEN timezone('UTC', l) - oo "
    "ELSE trino_local_to_utc(l, z) END",
    "CREATE MACRO trino_local_to_utc_from(l, z, i) AS trino_local_keep(l, z, trino_offset(i, z))",
)

_WALL_UNITS = ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")
_DUCK_UNIT = {"MILLISECOND": "MILLISECOND", "SECOND": "SECOND", "MINUTE": "MINUTE", "HOUR": "HOUR"}


def zone_name(node: exp.Expr | None) -> str | None:
    """The zone a string literal names, checked as Trino checks it; None if not a literal."""
    if not (isinstance(node, exp.Literal) and node.is_string):
        return None
    return checked_zone(str(node.this))


def checked_zone(zone: str) -> str:
    """``zone`` as a zone DuckDB and Python both know; Trino's error for one it does not know."""
    text = zone.strip()
    if text.upper() in ("UTC", "Z", "GMT", "UT"):
        return "UTC"
    if text[:1] in "+-" and len(text) == 6 and text[3] == ":" and text[1:3].isdigit():
        return "UTC" if text[1:] == "00:00" else text
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise QueryError(f"Time zone not supported: {zone}") from exc
    return text


# Trino's DateTimes.DATETIME_PATTERN: what a TIMESTAMP literal may hold.
_DATETIME = re.compile(
    r"(?P<year>[-+]?\d{4,})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"( (?:(?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:\.(?P<fraction>\d+))?)?)?"
    r"\s*(?P<timezone>.+)?)?"
)


def literal_zone(text: str) -> str:
    """The zone written at the end of a timestamp literal (UTC, the session's, if none)."""
    found = _DATETIME.fullmatch(text)
    return found.group("timezone") if found and found.group("timezone") else "UTC"


def literal_instant(text: str, zone: str) -> datetime:
    """The instant of a literal ``TIMESTAMP '... zone'``, as Trino's parser resolves it.

    DateTimes.toEpochSecond: the first of the zone's valid offsets for that
    wall time (the earlier instant of an hour that happens twice), and
    "Invalid TIMESTAMP due to daylight savings transition" in a skipped hour.
    """
    found = _DATETIME.fullmatch(text)
    if found is None or not found.group("year").isdigit() or len(found.group("year")) != 4:
        raise QueryError(f"'{text}' is not a valid TIMESTAMP literal here")
    year, month, day, hour, minute, second = (
        int(found.group(k) or 0) for k in ("year", "month", "day", "hour", "minute", "second")
    )
    fraction = (found.group("fraction") or "")[:6].ljust(6, "0")
    local = datetime(year, month, day, hour, minute, second, int(fraction))
    where = zone_info(zone)
    first = local.replace(tzinfo=where, fold=0)
    if first.astimezone(UTC).astimezone(where).replace(tzinfo=None) != local:
        raise QueryError("Invalid TIMESTAMP due to daylight savings transition")
    return first.astimezone(UTC)


def zone_info(zone: str) -> tzinfo:
    """A Trino zone (``Europe/Berlin``, ``+05:30``, ``UTC``) as a Python tzinfo."""
    if zone[:1] in "+-":
        sign = 1 if zone[0] == "+" else -1
        return timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])), zone)
    return ZoneInfo(zone)


def duckdb_zone(zone: str) -> str:
    """A Trino zone as DuckDB names it: an offset ``+05:30`` is ICU's ``GMT+05:30``."""
    return f"GMT{zone}" if zone[:1] in "+-" else zone


def _zone_of(found: tt.TType | None, what: str) -> str | None:
    """The static zone of a zoned value (None if ``found`` is not zoned); refuse a dynamic one."""
    if found is None or found.name != tt.TIMESTAMP_TZ:
        return None
    if found.zone is None:
        raise QueryError(
            f"{what} of a timestamp with time zone whose zone is not a constant is not reproduced "
            "locally: Athena would use each value's own zone"
        )
    return found.zone


def wall(node: exp.Expr, zone: str) -> exp.Expr:
    """The wall-clock time (DuckDB TIMESTAMP) of instant ``node`` in ``zone``.

    The UTC wall time of ``from_unixtime(t)`` (Athena's session zone: the
    everyday case, the original reports' one) is computed from the seconds
    directly, without a time zone conversion per row.
    """
    if zone == "UTC" and isinstance(node, exp.UnixToTime) and node.meta.get(_INTEGRAL_SECONDS):
        return template("MAKE_TIMESTAMP(CAST(tl_t AS BIGINT) * 1000000)", t=node.this)
    if isinstance(node, (exp.Binary, exp.Unary)):
        node = exp.Paren(this=node)  # AT TIME ZONE binds tighter than + and -
    return exp.AtTimeZone(this=node, zone=exp.Literal.string(duckdb_zone(zone)))


# Marks a from_unixtime() whose argument is an integer: its instant is whole seconds.
_INTEGRAL_SECONDS = "telelake_integral_seconds"


def instant_of_wall(node: exp.Expr, zone: str) -> exp.Expr:
    """The instant (TIMESTAMPTZ) of wall time ``node`` in ``zone``, as Joda resolves it."""
    return exp.Anonymous(
        this="trino_local_to_utc", expressions=[node, exp.Literal.string(duckdb_zone(zone))]
    )


def fix_zoned_sources(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """Where a Trino ``timestamp with time zone`` is made, DuckDB gets the instant.

    ``from_unixtime(t[, zone])``: the instant of ``t`` (the zone is in the
    type). ``at_timezone(x, zone)`` / ``x AT TIME ZONE zone``: the same
    instant, Trino docs: "Change the time zone component of timestamp with
    time zone while preserving the instant in time"; a timestamp without zone
    is first read in the session zone, UTC. ``with_timezone(ts, zone)``:
    "timestamp with time zone from timestamp and zone", the wall time ``ts``
    in ``zone`` (Joda's rule in a DST gap or overlap). A literal
    ``TIMESTAMP '... Europe/Berlin'`` is resolved as Trino's parser does
    (the earlier of two instants; an error in a skipped hour).
    """
    if isinstance(node, exp.UnixToTime):
        for key in ("zone", "hours", "minutes"):
            node.set(key, None)
        seconds = types.arg(node, "this")
        if seconds is not None and seconds.name in tt.INTEGRAL:
            node.meta[_INTEGRAL_SECONDS] = True
        elif seconds is None or seconds.name != tt.UNKNOWN:
            # Trino keeps milliseconds: Math.round(unixtime * 1000).
            millis = template("ROUND(tl_t * 1000) / 1000", t=node.this)
            node.set("this", millis)
        return node
    if isinstance(node, exp.AtTimeZone) or _named(node, "at_timezone"):
        operand: exp.Expr = node.this if isinstance(node, exp.AtTimeZone) else node.expressions[0]
        index_type = types.of(node, 0)
        if index_type is not None and index_type.name == tt.TIMESTAMP:
            return exp.Cast(this=operand, to=exp.DataType.build("TIMESTAMPTZ"))
        if index_type is not None and index_type.name == tt.TIMESTAMP_TZ:
            return operand
        return node
    if _named(node, "with_timezone"):
        ts, zone = node.expressions
        if isinstance(zone, exp.Literal) and zone.is_string:
            return instant_of_wall(ts, checked_zone(str(zone.this)))
        return exp.Anonymous(this="trino_local_to_utc", expressions=[ts, zone])
    if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.is_type(exp.DType.TIMESTAMPTZ):
        found, source = types.type(node), types.of(node, 0)
        text = node.this
        if found is not None and found.zone and isinstance(text, exp.Literal) and text.is_string:
            instant = literal_instant(str(text.this), found.zone)
            stamp = exp.Literal.string(instant.isoformat(sep=" "))
            return exp.Cast(this=stamp, to=exp.DataType.build("TIMESTAMPTZ"))
        if source is not None and source.name in (tt.VARCHAR, tt.CHAR):
            raise QueryError(
                "CAST(varchar AS timestamp with time zone) of a column is not reproduced "
                "locally: Athena would parse each value's own zone"
            )
    return node


def _named(node: exp.Expr, name: str) -> bool:
    return isinstance(node, exp.Anonymous) and str(node.this).lower() == name


# Node kinds that read the wall clock of their timestamp argument(s), by argument key.
_WALL_READERS: dict[type[exp.Expr], tuple[str, ...]] = {
    **{
        kind: ("this",)
        for kind in (
            exp.Hour, exp.Minute, exp.Second, exp.Day, exp.DayOfMonth, exp.DayOfWeekIso,
            exp.DayOfYear, exp.WeekOfYear, exp.YearOfWeek, exp.Month, exp.Quarter, exp.Year,
            exp.LastDay, exp.Date, exp.TimeToStr,
        )
    },
    exp.Extract: ("expression",),
}  # fmt: skip
_WALL_CALLS = ("format_datetime", "millisecond", "yow", "to_iso8601")
_OFFSET_PARTS = {"timezone_hour": "// 3600", "timezone_minute": "% 3600 // 60"}


def fix_wall_time(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """Fields, formats and casts of a zoned timestamp read its wall clock in its zone.

    Trino: ``hour(from_unixtime(0, 'America/Sao_Paulo'))`` = 21, because the
    hour of a timestamp with time zone is the hour in its zone; DuckDB's
    ``hour(TIMESTAMPTZ)`` is the hour in the session zone. Every function
    that reads a field (or formats, or casts to ``date``/``timestamp``/
    ``varchar``) gets ``x AT TIME ZONE zone``, DuckDB's wall time there.
    """
    keys = _WALL_READERS.get(type(node))
    if keys is not None:
        for key in keys:
            zone = _zone_of(types.arg(node, key), type(node).__name__.lower())
            if zone is not None and node.args.get(key) is not None:
                node.set(key, wall(node.args[key], zone))
        return node
    if isinstance(node, exp.Anonymous) and str(node.this).lower() in _OFFSET_PARTS:
        # Trino: the hours (minutes) of the zone's offset at that instant, truncated toward 0.
        zone = _zone_of(types.arg(node, "expressions", 0), str(node.this)) or "UTC"
        part = _OFFSET_PARTS[str(node.this).lower()]
        seconds = "CAST(EPOCH(TRINO_OFFSET(tl_x, tl_z)) AS BIGINT)"
        sign = f"CASE WHEN {seconds} < 0 THEN -1 ELSE 1 END"
        return template(
            f"{sign} * (ABS({seconds}) {part})",
            x=node.expressions[0],
            z=exp.Literal.string(duckdb_zone(zone)),
        )
    if isinstance(node, exp.Anonymous) and str(node.this).lower() in _WALL_CALLS:
        zone = _zone_of(types.arg(node, "expressions", 0), str(node.this))
        if zone is not None:
            args = list(node.expressions)
            args[0] = wall(args[0], zone)
            node.set("expressions", args)
        return node
    if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this in (
        exp.DType.DATE,
        exp.DType.TIMESTAMP,
    ):
        zone = _zone_of(types.of(node, 0), "CAST")
        if zone is not None:
            node.set("this", wall(node.this, zone))
    return node


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    return unit.name.upper() if isinstance(unit, exp.Expr) else "DAY"


def fix_zoned_arithmetic(node: exp.Expr, types: OperandTypes) -> exp.Expr:
    """``date_add``, ``date_trunc``, ``date_diff`` and ``+ INTERVAL`` on a zoned timestamp.

    Trino uses the zone's Joda chronology: hours and smaller move the
    instant (``date_add('hour', 24, x)`` is 24 hours later), days and larger
    move the wall clock (``date_add('day', 1, TIMESTAMP '2021-03-27 12:00
    Europe/Berlin')`` is 12:00 the next day, 23 hours later). ``date_diff``
    counts whole hours between instants (23 across a spring-forward night)
    and whole days between wall times. ``+ INTERVAL '1' DAY`` adds a fixed
    86,400 s (an interval day to second is a duration), ``+ INTERVAL '1'
    MONTH`` a calendar month in the zone.
    """
    if isinstance(node, exp.DateAdd):
        zone = _zone_of(types.arg(node, "this"), "date_add")
        if zone is None:
            return node
        unit = _unit(node)
        amount = exp.Interval(this=node.expression, unit=exp.var(unit))
        if unit not in _WALL_UNITS:
            return exp.Add(this=node.this, expression=amount)
        return _wall_move(node.this, zone, amount)
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        zone = _zone_of(types.arg(node, "this"), "date_trunc")
        if zone is None:
            return node
        unit = _unit(node)
        local = wall(node.this, zone)
        truncated = exp.TimestampTrunc(this=local.copy(), unit=exp.var(unit))
        if unit not in _WALL_UNITS:
            # Shorter than a day: the instant minus what truncation removes locally.
            return template(
                "tl_x - (tl_local - tl_trunc)", x=node.this, local=local, trunc=truncated
            )
        return _from_wall(truncated, zone, node.this)
    if isinstance(node, exp.DateDiff):
        first = types.arg(node, "expression")
        zone = _zone_of(first, "date_diff") or _zone_of(types.arg(node, "this"), "date_diff")
        if zone is None:
            return node
        unit = _unit(node)
        if unit in _DUCK_UNIT:
            return template(
                f"(EPOCH_MS(tl_b) - EPOCH_MS(tl_a)) // {_UNIT_MS[unit]}",
                a=node.expression,
                b=node.this,
            )
        a, b = (wall(n, zone) for n in (node.expression, node.this))
        return exp.Anonymous(this="DATE_SUB", expressions=[exp.Literal.string(unit), a, b])
    if isinstance(node, (exp.Add, exp.Sub)):
        zone = _zone_of(types.of(node, 0), "interval arithmetic")
        interval = types.of(node, 1)
        if zone is not None and interval is not None and interval.name == tt.INTERVAL_YM:
            moved: exp.Expr = node.expression
            if isinstance(node, exp.Sub):
                moved = exp.Neg(this=moved)
            return _wall_move(node.this, zone, moved)
    return node


_UNIT_MS = {"MILLISECOND": 1, "SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000}


def _wall_move(instant: exp.Expr, zone: str, amount: exp.Expr) -> exp.Expr:
    moved = exp.Add(this=wall(instant, zone), expression=amount)
    return _from_wall(moved, zone, instant)


def _from_wall(local: exp.Expr, zone: str, original: exp.Expr) -> exp.Expr:
    return exp.Anonymous(
        this="trino_local_to_utc_from",
        expressions=[local, exp.Literal.string(duckdb_zone(zone)), original.copy()],
    )


ZONED_FIXES = (fix_zoned_sources, fix_wall_time, fix_zoned_arithmetic)
"""Applied before the other function fixes, so they see zoned values as wall times."""

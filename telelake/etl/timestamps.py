"""Derived timestamp columns, computed per column with Arrow, not per row in Python.

The tables keep Telegram's Unix seconds (``date``, ``edit_date``) as the
original design did; analysts also want real timestamps. They are stored in
milliseconds without a zone (every engine reads that; nanoseconds are not
portable): ``*_at`` hold UTC wall time, ``sent_at_local`` the wall time in the
lake's configured zone, the same zone that defines ``context_date``.

Every seconds value the ETL keeps is checked first (:func:`checked_seconds`): a time
outside :data:`SECONDS_RANGE` makes its update a reject, so no table ever
holds a time an engine cannot read (DESIGN §3.11). The common range of the
engines that read the lake is years 1 to 9999: Spark's ``TimestampType`` is
"[0001-01-01T00:00:00.000000Z, 9999-12-31T23:59:59.999999Z]", Python's
``datetime`` (what pyarrow's ``to_pylist`` and DuckDB's Python client return)
stops at ``MAXYEAR = 9999``; DuckDB ("290309-12-22 (BC) to 294247-01-10") and
Trino/Athena (Java's 64-bit instants) hold far more. Telegram's times are Unix
seconds since 1970, so the range starts at 0; it ends a day before the last
instant of 9999, so the local wall time (``sent_at_local``) stays in year 9999
in every zone (offsets reach +14 h).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from telelake.lake.tables import arrow_type

TS = arrow_type("timestamp")

# Unix seconds a time column may hold: 1970-01-01 00:00:00 .. 9999-12-30 23:59:59 UTC.
SECONDS_RANGE = (0, 253_402_214_399)

# derived column -> (source column of Unix seconds, local wall time?)
DERIVED: dict[str, tuple[str, bool]] = {
    "sent_at": ("date", False),
    "sent_at_local": ("date", True),
    "edited_at": ("edit_date", False),
    "changed_at": ("date", False),
}


def checked_seconds(value: int | None, name: str) -> int | None:
    """``value`` (Unix seconds, or ``None``), or ``ValueError`` when no engine's time holds it."""
    if value is not None and not SECONDS_RANGE[0] <= value <= SECONDS_RANGE[1]:
        raise ValueError(
            f"{name} {value} is not a time every engine holds "
            f"(Unix seconds {SECONDS_RANGE[0]}..{SECONDS_RANGE[1]}, 1970-01-01..9999-12-30)"
        )
    return value


def seconds_to_timestamp(seconds: pa.ChunkedArray, zone: ZoneInfo | None) -> pa.Array:
    """Unix seconds -> ``timestamp[ms]`` wall time, UTC or in ``zone``.

    The multiplication is checked: a value the ETL let through out of range
    fails the build loudly instead of wrapping to another time.
    """
    millis = pc.multiply_checked(seconds.cast(pa.int64()), 1000)
    utc = millis.cast(pa.timestamp("ms", tz="UTC"))
    if zone is None:
        return utc.cast(TS)
    return pc.local_timestamp(utc.cast(pa.timestamp("ms", tz=zone.key))).cast(TS)


def add_timestamps(tables: dict[str, pa.Table], zone: ZoneInfo) -> dict[str, pa.Table]:
    """Fill every derived timestamp column of every table from its seconds column."""
    out: dict[str, pa.Table] = {}
    for name, table in tables.items():
        for column, (source, local) in DERIVED.items():
            if column in table.column_names and source in table.column_names:
                index = table.column_names.index(column)
                values = seconds_to_timestamp(table[source], zone if local else None)
                table = table.set_column(index, table.schema.field(index), values)
        out[name] = table
    return out

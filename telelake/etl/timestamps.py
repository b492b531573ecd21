"""Derived timestamp columns, computed per column with Arrow, not per row in Python.

The tables keep Telegram's Unix seconds (``date``, ``edit_date``) as the
original design did; analysts also want real timestamps. They are stored in
milliseconds without a zone (every engine reads that; nanoseconds are not
portable): ``*_at`` hold UTC wall time, ``sent_at_local`` the wall time in the
lake's configured zone, the same zone that defines ``context_date``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from telelake.lake.tables import arrow_type

TS = arrow_type("timestamp")

# derived column -> (source column of Unix seconds, local wall time?)
DERIVED: dict[str, tuple[str, bool]] = {
    "sent_at": ("date", False),
    "sent_at_local": ("date", True),
    "edited_at": ("edit_date", False),
    "changed_at": ("date", False),
}


def seconds_to_timestamp(seconds: pa.ChunkedArray, zone: ZoneInfo | None) -> pa.Array:
    """Unix seconds -> ``timestamp[ms]`` wall time, UTC or in ``zone``."""
    millis = pc.multiply(seconds.cast(pa.int64()), 1000)
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

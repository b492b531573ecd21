"""Which dates a build covers: the changed ones, one date, a range, everything, or a list.

Dates to build by default come from the change markers ingest leaves
(:mod:`telelake.lake.changes`), so the daily run never lists the whole lake
(DESIGN §3.6). Nothing here reads an object's bytes or imports pyarrow: the
Lambda adapters read a :class:`Selection` from their events without loading
the ETL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from telelake.errors import UsageError
from telelake.lake.changes import dirty_dates
from telelake.lake.layout import RAW_PREFIX, date_of_key
from telelake.lake.storage import Store
from telelake.lake.tables import TABLES


@dataclass(frozen=True)
class Selection:
    """Which dates to build; nothing set means "every date that changed".

    ``dates`` names exact dates (what ``forget`` or ``import`` just changed);
    the others are the ``--date``, ``--since``/``--until`` and ``--all`` of
    ``telelake etl``, of which one may be given.
    """

    day: date | None = None
    since: date | None = None
    until: date | None = None
    everything: bool = False
    dates: tuple[date, ...] | None = None

    def __post_init__(self) -> None:
        ranged = self.since is not None or self.until is not None
        modes = (self.day is not None, ranged, self.everything, self.dates is not None)
        if sum(modes) > 1:
            raise UsageError("choose one of --date, --since/--until, --all")
        if self.since is not None and self.until is not None and self.since > self.until:
            raise UsageError(f"--since {self.since} is after --until {self.until}")


CHANGED = Selection()


def _partition_dates(store: Store, prefix: str) -> set[date]:
    days = {date_of_key(name) for name in store.list_dirs(prefix)}
    return {day for day in days if day is not None}


def existing_dates(raw: Store, enriched: Store) -> list[date]:
    """Every date with raw data or with an enriched partition (to remove stale ones)."""
    days = _partition_dates(raw, RAW_PREFIX)
    for table in TABLES:
        days |= _partition_dates(enriched, table)
    return sorted(days)


def plan(raw: Store, enriched: Store, selection: Selection = CHANGED) -> list[date]:
    """The dates ``selection`` names, oldest first."""
    if selection.dates is not None:
        return sorted(set(selection.dates))
    if selection.day is not None:
        return [selection.day]
    if selection.since is not None or selection.until is not None:
        known = existing_dates(raw, enriched)
        low = selection.since or (known[0] if known else date.min)
        high = selection.until or (known[-1] if known else date.max)
        return [d for d in known if low <= d <= high]
    if selection.everything:
        return existing_dates(raw, enriched)
    return dirty_dates(raw)

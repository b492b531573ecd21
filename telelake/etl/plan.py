"""Which dates a build covers: changed or outdated ones, one date, a range, all, or a list.

Dates to build by default are the changed ones, from the markers ingest
leaves (:mod:`telelake.lake.changes`, DESIGN §3.6), and the outdated ones,
built by an older telelake, from the build records
(:mod:`telelake.lake.versions`, §3.9). Either way the daily run reads a few
listings, never the whole lake. Nothing here reads an object's bytes or
imports pyarrow: the Lambda adapters read a :class:`Selection` from their
events without loading the ETL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from telelake.errors import UsageError
from telelake.lake.changes import dirty_dates
from telelake.lake.layout import RAW_PREFIX, date_of_key
from telelake.lake.storage import Store
from telelake.lake.tables import TABLES, WEEKLY
from telelake.lake.versions import outdated_dates


@dataclass(frozen=True)
class Selection:
    """Which dates to build; nothing set means "every date that changed or is outdated".

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
        if table not in WEEKLY:  # a week's Monday is not a date to build (etl/text/weeks.py)
            days |= _partition_dates(enriched, table)
    return sorted(days)


def plan(raw: Store, enriched: Store, selection: Selection = CHANGED) -> list[date]:
    """The dates ``selection`` names, oldest first.

    By default: the dates that changed since their last build, and those not
    built with today's table versions (six listings on a lake that is up to
    date: four of the change markers, the raw dates, the build records).
    """
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
    return sorted(set(dirty_dates(raw)) | set(outdated_dates(raw, enriched)))

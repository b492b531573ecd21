"""Which raw partitions changed since their last build, without listing the lake.

Ingest leaves a small marker per changed date (``_telelake/dirty/context_date=D``
in the raw layer) *after* the update object is durable and *before* it
acknowledges. The ETL deletes a date's marker *before* it lists that date's
objects. Together that ordering means an update is either in the listing of
the build that cleared its marker, or its marker is re-created after that
clear, so no change is ever missed (DESIGN §3.6); at worst a date is rebuilt
once more than needed.

A build that dies between clearing the marker and writing its files (kill -9,
a power cut, a Lambda timeout) must not lose the change either: before
clearing, the build leaves a "building" marker that only a finished build
removes, and a date with either marker counts as changed. A finished build
also records, in the enriched layer, the table versions it was built with
(:mod:`telelake.lake.versions`), so dates an older telelake built are found
without reading their files.
"""

from __future__ import annotations

from datetime import date

from telelake.lake.layout import BUILDING_PREFIX, DIRTY_PREFIX, building_key, date_of_key, dirty_key
from telelake.lake.storage import Stager, Store
from telelake.lake.versions import record_build


def mark_dirty(store: Store, day: date) -> None:
    """Durably record that ``day`` has new raw data (cheap when already marked)."""
    key = dirty_key(day)
    if not store.exists(key):
        store.create(key, b"")


def mark_dirty_staged(store: Store, stager: Stager, day: date) -> None:
    """:func:`mark_dirty` for a caller batching flushes: the marker is named now and
    durable after ``stager``'s next flush (call it after the update's own name is
    visible, and acknowledge only after that flush).

    An empty object has no bytes to make durable before its name, so it is
    published at once.
    """
    key = dirty_key(day)
    if not store.exists(key):
        stager.publish(stager.stage(key, b""))


def dirty_dates(store: Store) -> list[date]:
    """Dates whose raw partition changed since their last (finished) build, oldest first."""
    days: set[date | None] = set()
    for prefix in (DIRTY_PREFIX, BUILDING_PREFIX):
        days |= {date_of_key(name) for name in store.list_dirs(prefix)}
        days |= {date_of_key(key) for key in store.list(prefix)}
    return sorted(day for day in days if day is not None)


def start_build(store: Store, day: date) -> None:
    """Call before listing ``day`` to rebuild it: swaps its change marker for a
    "building" one, so a build that dies keeps the date changed."""
    store.replace(building_key(day), b"")
    store.delete(dirty_key(day))


def finish_build(store: Store, day: date, *, enriched: Store) -> None:
    """Call once every file of ``day``'s build is written to ``enriched``.

    The build record goes first: a crash before the "building" marker is
    cleared leaves the date changed, and it is simply built again.
    """
    record_build(enriched, day)
    store.delete(building_key(day))

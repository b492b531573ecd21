"""Which raw partitions changed since their last build, without listing the lake.

Ingest leaves a small marker per changed date (``_telelake/dirty/context_date=D``
in the raw layer) *after* the update object is durable and *before* it
acknowledges. The ETL deletes a date's marker *before* it lists that date's
objects. Together that ordering means an update is either in the listing of
the build that cleared its marker, or its marker is re-created after that
clear, so no change is ever missed (DESIGN §3.6); at worst a date is rebuilt
once more than needed.
"""

from __future__ import annotations

from datetime import date

from telelake.lake.layout import DIRTY_PREFIX, date_of_key, dirty_key
from telelake.lake.storage import Store


def mark_dirty(store: Store, day: date) -> None:
    """Durably record that ``day`` has new raw data (cheap when already marked)."""
    key = dirty_key(day)
    if not store.exists(key):
        store.create(key, b"")


def dirty_dates(store: Store) -> list[date]:
    """Dates whose raw partition changed since their last build, oldest first."""
    days = {date_of_key(name) for name in store.list_dirs(DIRTY_PREFIX)}
    days |= {date_of_key(key) for key in store.list(DIRTY_PREFIX)}
    return sorted(day for day in days if day is not None)


def clear_dirty(store: Store, day: date) -> None:
    """Forget the marker of ``day``; call before listing the partition to rebuild."""
    store.delete(dirty_key(day))

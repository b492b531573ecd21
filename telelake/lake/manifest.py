"""What a lake was built with, recorded in the lake itself: today, its time zone.

``context_date`` is the event's local date in the configured zone, so every
update of a lake must be partitioned in the same zone: an edit partitioned
in another zone than its original could land in another partition and be
counted twice. The first writer records the zone in
``_telelake/lake.json`` of the raw layer; later writers and the ETL refuse,
with one clear line, to use another.
"""

from __future__ import annotations

import orjson

from telelake import __version__
from telelake.errors import ConfigError
from telelake.lake.layout import STATE_PREFIX
from telelake.lake.storage import Store

MANIFEST_KEY = f"{STATE_PREFIX}/lake.json"


def recorded_zone(raw: Store) -> str | None:
    """The zone the lake was partitioned in, or ``None`` for a lake without a record."""
    try:
        data = orjson.loads(raw.read(MANIFEST_KEY))
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError:
        raise ConfigError(f"{raw.url}/{MANIFEST_KEY} is not valid JSON; fix or remove it") from None
    zone = data.get("timezone") if isinstance(data, dict) else None
    return zone if isinstance(zone, str) else None


def ensure_zone(raw: Store, zone: str) -> None:
    """Record ``zone`` for a new lake; refuse a lake partitioned in another zone."""
    existing = recorded_zone(raw)
    if existing is None:
        body = orjson.dumps({"timezone": zone, "created_by": f"telelake {__version__}"})
        if raw.create(MANIFEST_KEY, body):
            return
        existing = recorded_zone(raw)  # another writer recorded it first
    _refuse_other(raw, existing, zone)


def check_zone(raw: Store, zone: str) -> None:
    """Refuse to build a lake partitioned in another zone (writes nothing)."""
    _refuse_other(raw, recorded_zone(raw), zone)


def _refuse_other(raw: Store, existing: str | None, zone: str) -> None:
    if existing is not None and existing != zone:
        raise ConfigError(
            f"the lake at {raw.url} is partitioned in time zone {existing}, not {zone}: "
            f"pass --timezone {existing} (or set TELELAKE_TIMEZONE={existing})"
        )

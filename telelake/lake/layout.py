"""Object keys of both layers: the lake's on-disk contract (DESIGN §4), pure functions.

    RAW       telegram/context_date=YYYY-MM-DD/<update_id>.json
    ENRICHED  <table>/context_date=YYYY-MM-DD/part-00000.parquet

Keys are ``/``-separated and relative to a layer's root, the same for a local
folder and an S3 prefix. Nothing here touches storage.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from telelake.errors import UsageError

RAW_PREFIX = "telegram"
# Bookkeeping lives under a name no table or engine location uses.
STATE_PREFIX = "_telelake"
DIRTY_PREFIX = f"{STATE_PREFIX}/dirty"
BUILDING_PREFIX = f"{STATE_PREFIX}/building"
PARQUET_FILE = "part-00000.parquet"

_PARTITION = re.compile(r"(?:^|/)context_date=(\d{4}-\d{2}-\d{2})(?:/|$)")


def context_date(event_time: int | None, zone: ZoneInfo, received_at: float) -> date:
    """The partition date of an update: its event time (else receipt time) in ``zone``."""
    if event_time is not None:
        try:
            return datetime.fromtimestamp(event_time, tz=UTC).astimezone(zone).date()
        except (ValueError, OverflowError, OSError):
            pass  # a date no calendar holds: file it under the day it arrived
    return datetime.fromtimestamp(received_at, tz=UTC).astimezone(zone).date()


def partition_dir(prefix: str, day: date) -> str:
    return f"{prefix}/context_date={day.isoformat()}"


def raw_key(update_id: int, day: date) -> str:
    """The deterministic key of an update: re-deliveries map to the same object."""
    return f"{partition_dir(RAW_PREFIX, day)}/{update_id}.json"


def raw_conflict_key(update_id: int, day: date, body: bytes) -> str:
    """Key for a *different* body that reuses an ``update_id`` already stored.

    Telegram never does this, but test data and hand-made backfills do;
    keeping both (named by content) loses nothing and stays deterministic.
    """
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f"{partition_dir(RAW_PREFIX, day)}/{update_id}.{digest}.json"


def dirty_key(day: date) -> str:
    """Marker saying the raw partition of ``day`` changed since its last build."""
    return f"{DIRTY_PREFIX}/context_date={day.isoformat()}"


def building_key(day: date) -> str:
    """Marker saying a build of ``day`` started and has not finished (or died)."""
    return f"{BUILDING_PREFIX}/context_date={day.isoformat()}"


def table_key(table: str, day: date) -> str:
    return f"{partition_dir(table, day)}/{PARQUET_FILE}"


def date_of_key(key: str) -> date | None:
    """The ``context_date`` a key lies in, or ``None`` if it is outside any partition."""
    match = _PARTITION.search(key)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def parse_date(text: str) -> date:
    """Parse a user-given ``YYYY-MM-DD``; one clear line when it is not one."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{text!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-29") from None

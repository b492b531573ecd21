"""The raw record of a member-count snapshot: a getChatMemberCount answer shaped like an update.

Telegram sends no update when a chat's member count changes, so telelake
asks once a day (``ingest/snapshots.py``) and keeps the answer in the raw
layer, beside the updates, as one JSON object a reader takes for an update
of its own kind::

    {"update_id": -4611686018427387905,
     "telelake_chat_stats": {"chat": {"id": -100123}, "date": 1764000000,
                              "member_count": 42}}

The raw layer is the source of truth and the enriched layer a function of
it, so a rebuild turns these records into ``telegram_chat_stats`` rows again
(``etl/events.py``). The ``update_id`` is negative, so it never meets one of
Telegram's, and below the range of imported updates (``telegram/export.py``
uses ``-1`` to ``-2**62``); it is derived from the chat and the day, so one
snapshot per chat and day has one key and a second attempt the same day
finds it there.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

KIND = "telelake_chat_stats"
# Below every imported update id (-(1 + 62 bits)), above int64's minimum.
_BASE = -(2**62) - 1
_SPAN_BITS = 61


def snapshot_update_id(chat_id: int, day: date) -> int:
    """The update id of the snapshot of ``chat_id`` on ``day``: negative, deterministic."""
    digest = hashlib.sha256(f"chat_stats:{chat_id}:{day.isoformat()}".encode()).digest()
    return _BASE - (int.from_bytes(digest[:8], "big") >> (64 - _SPAN_BITS))


def snapshot_record(chat_id: int, day: date, taken_at: int, member_count: int) -> dict[str, Any]:
    """The raw record of one snapshot taken at ``taken_at`` (Unix seconds) on ``day``."""
    return {
        "update_id": snapshot_update_id(chat_id, day),
        KIND: {"chat": {"id": chat_id}, "date": taken_at, "member_count": member_count},
    }

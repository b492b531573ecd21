"""Re-deliveries that straddle midnight are still one object."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from telelake.config import Settings
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore

CALLBACK = orjson.dumps(
    {
        "update_id": 555,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": {"id": 7, "is_bot": False, "first_name": "Ana"},
            "chat_instance": "-77",
            "data": "vote:yes",
        },
    }
)


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def objects(lake: Path) -> list[str]:
    return LocalStore(lake / "raw").list("telegram")


def test_a_dateless_update_redelivered_after_midnight_is_a_duplicate(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "raw")
    ingestor = Ingestor(Settings(lake=str(tmp_path)), store)
    first = ingestor.accept(CALLBACK, received_at=at("2026-11-28T23:59:30"))
    again = ingestor.accept(CALLBACK, received_at=at("2026-11-29T00:00:10"))
    assert first.outcome == "stored"
    assert (again.outcome, again.key) == ("duplicate", first.key)
    assert objects(tmp_path) == ["telegram/context_date=2026-11-28/555.json"]


def test_other_content_under_that_id_the_next_day_is_kept(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "raw")
    ingestor = Ingestor(Settings(lake=str(tmp_path)), store)
    ingestor.accept(CALLBACK, received_at=at("2026-11-28T23:59:30"))
    other = CALLBACK.replace(b"vote:yes", b"vote:no")
    receipt = ingestor.accept(other, received_at=at("2026-11-29T00:00:10"))
    assert receipt.outcome == "stored"
    assert len(objects(tmp_path)) == 2

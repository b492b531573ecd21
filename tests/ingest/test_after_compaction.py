"""Collecting into days already compacted: a re-delivery or a re-import counts once.

The webhook is a real ``telelake serve`` process spoken to over HTTP (the
``serve_webhook`` fixture); the export is the one of tests/events/export.
Counts are checked on the tables the ETL builds, against the numbers of
updates and messages sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from telelake.config import Settings, load_settings
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.ingest.importer import import_export
from telelake.lake.changes import dirty_dates
from telelake.lake.compaction import compact_lake
from telelake.lake.segments import read_partition
from telelake.lake.storage import LocalStore

if TYPE_CHECKING:
    from conftest import Server

SUPERGROUP = Path(__file__).resolve().parents[1] / "events" / "export" / "supergroup.json"
LATER = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
DAY = date(2025, 5, 6)
SENT = int(datetime(2025, 5, 6, 15, tzinfo=UTC).timestamp())


def telegram_body(update_id: int, text: str) -> bytes:
    """As Telegram's Bot API server POSTs it: ``{"update_id":N,\\n"message":{...}}``."""
    message = {
        "message_id": update_id,
        "from": {"id": 5, "is_bot": False, "first_name": "Lia"},
        "chat": {"id": -1001, "type": "supergroup", "title": "G"},
        "date": SENT,
        "text": text,
    }
    return b'{"update_id":%d,\n"message":' % update_id + orjson.dumps(message) + b"}"


def lake(tmp_path: Path) -> tuple[Settings, LocalStore, LocalStore]:
    settings = load_settings({"lake": str(tmp_path / "lake")}, env={})
    return settings, LocalStore(settings.raw_url), LocalStore(settings.enriched_url)


def rows(enriched: Path, table: str) -> int:
    files = f"{enriched}/{table}/*/*.parquet"
    [(count,)] = duckdb.sql(f"SELECT count(*) FROM read_parquet('{files}')").fetchall()
    return int(count)


def test_a_redelivery_after_compaction_counts_once(
    tmp_path: Path, serve_webhook: Callable[..., Server]
) -> None:
    root = tmp_path / "lake"
    server = serve_webhook(root)
    bodies = [telegram_body(700 + i, f"message {i}") for i in range(20)]
    for body in bodies:
        assert server.post(body).status_code == 200
    settings = load_settings({"lake": str(root)}, env={})
    raw, enriched = LocalStore(settings.raw_url), LocalStore(settings.enriched_url)
    summary = compact_lake(raw, settings.zone, 3, now=LATER)
    assert summary.packed == 20  # Telegram's own line break does not keep them out
    # Telegram re-delivers (an acknowledgement it did not get), late but the same bytes.
    for body in bodies[:5]:
        assert server.post(body).status_code == 200
    folder = root / "raw" / "telegram" / f"context_date={DAY.isoformat()}"
    assert len(list(folder.iterdir())) == 6  # the segment and the five copies
    run(Layers(raw, enriched, settings.zone), workers=1)
    assert rows(root / "enriched", "telegram") == 20
    assert rows(root / "enriched", "telegram_updates") == 20
    # The next compaction folds the copies in: nothing changes for the tables.
    assert compact_lake(raw, settings.zone, 3, now=LATER).packed == 5
    assert len(read_partition(raw, DAY)) == 20
    assert [p.name.startswith("segment-") for p in folder.iterdir()] == [True]


def test_reimport_after_compaction_adds_nothing_and_marks_nothing(tmp_path: Path) -> None:
    settings, raw, enriched = lake(tmp_path)
    import_export(SUPERGROUP, settings, raw)
    run(Layers(raw, enriched, settings.zone), workers=1)
    compact_lake(raw, settings.zone, 3, now=LATER)
    before = {key: raw.read(key) for key in raw.list("telegram")}
    assert all(".jsonl.gz" in key for key in before)
    again = import_export(SUPERGROUP, settings, raw)
    assert (again.stored, again.updated, again.already) == (0, 0, 23)
    assert {key: raw.read(key) for key in raw.list("telegram")} == before
    assert dirty_dates(raw) == []


def test_a_later_export_with_an_edit_after_compaction_is_kept_beside_it(tmp_path: Path) -> None:
    settings, raw, enriched = lake(tmp_path)
    import_export(SUPERGROUP, settings, raw)
    run(Layers(raw, enriched, settings.zone), workers=1)
    compact_lake(raw, settings.zone, 3, now=LATER)
    data: dict[str, Any] = json.loads(SUPERGROUP.read_text(encoding="utf-8"))
    message = next(m for m in data["messages"] if m["id"] == 2)
    message["text"] = message["text_entities"][0]["text"] = "Bom dia! (edited)"
    message["edited_unixtime"] = "1732090000"
    later = tmp_path / "later.json"
    later.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    summary = import_export(later, settings, raw)
    assert (summary.updated, summary.stored, summary.already) == (1, 0, 22)
    assert [d.isoformat() for d in dirty_dates(raw)] == ["2024-11-19"]
    # Importing the later export again finds its edit too (then packed as well).
    compact_lake(raw, settings.zone, 3, now=LATER)
    again = import_export(later, settings, raw)
    assert (again.updated, again.stored, again.already) == (0, 0, 23)
    run(Layers(raw, enriched, settings.zone), workers=1)
    [(text,)] = duckdb.sql(
        f"SELECT text FROM read_parquet('{tmp_path}/lake/enriched/telegram/*/*.parquet') "
        "WHERE message_id = 2"
    ).fetchall()
    assert text == "Bom dia! (edited)"
    assert rows(tmp_path / "lake" / "enriched", "telegram") == 16

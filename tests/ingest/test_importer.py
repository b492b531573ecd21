"""``telelake import``: export -> raw layer -> ETL -> reports, idempotently, in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest

from telelake.analytics.engine import Engine
from telelake.analytics.reports import get_report, run_report
from telelake.config import Settings, load_settings
from telelake.errors import UsageError
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.ingest.importer import import_export
from telelake.lake.changes import dirty_dates
from telelake.lake.layout import raw_key
from telelake.lake.storage import LocalStore
from telelake.telegram.export import imported_update_id

EXPORTS = Path(__file__).resolve().parents[1] / "events" / "export"
SUPERGROUP = EXPORTS / "supergroup.json"
CHAT_ID = -1001987654321


def lake(tmp_path: Path, **extra: Any) -> tuple[Settings, LocalStore, LocalStore]:
    settings = load_settings({"lake": str(tmp_path / "lake"), **extra}, env={})
    return settings, LocalStore(settings.raw_url), LocalStore(settings.enriched_url)


def etl(settings: Settings, raw: LocalStore, enriched: LocalStore) -> None:
    run(Layers(raw, enriched, settings.zone), workers=1)


def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with Engine(settings.enriched_url) as engine:
        return engine.query(sql).rows


def test_import_then_etl_then_report(tmp_path: Path) -> None:
    settings, raw, enriched = lake(tmp_path)
    summary = import_export(SUPERGROUP, settings, raw)
    # 24 messages in the file: one "unsupported" is skipped, 23 stored.
    assert (summary.converted, summary.stored, summary.already) == (23, 23, 0)
    assert sum(summary.skipped.values()) == 1
    assert [d.isoformat() for d in dirty_dates(raw)] == ["2024-11-19", "2024-11-20"]
    etl(settings, raw, enriched)
    # 16 messages people wrote (text, media, polls, ...), 7 service messages.
    assert query(settings, "SELECT count(*) FROM telegram") == [(16,)]
    assert query(settings, "SELECT count(DISTINCT message_id) FROM telegram_service") == [(7,)]
    assert query(settings, "SELECT count(*) FROM telegram WHERE update_id >= 0") == [(0,)]
    # The export's local "date" strings are ignored: date_unixtime is UTC.
    assert query(
        settings, "SELECT date, edit_date, reply_to_message_id FROM telegram WHERE message_id = 4"
    ) == [(1732003380, 1732003800, 3)]
    with Engine(settings.enriched_url) as engine:
        per_day = run_report(engine, get_report("messages_per_day")).rows
    assert sorted(tuple(str(v) for v in row) for row in per_day) == [
        ("2024-11-19", "15"),
        ("2024-11-20", "1"),
    ]


def test_reimport_adds_nothing_and_marks_nothing(tmp_path: Path) -> None:
    settings, raw, enriched = lake(tmp_path)
    import_export(SUPERGROUP, settings, raw)
    etl(settings, raw, enriched)
    assert dirty_dates(raw) == []
    before = {key: raw.read(key) for key in raw.list("telegram")}
    again = import_export(SUPERGROUP, settings, raw)
    assert (again.stored, again.updated, again.already) == (0, 0, 23)
    assert again.dates == []
    assert {key: raw.read(key) for key in raw.list("telegram")} == before
    assert dirty_dates(raw) == []


def test_a_later_export_with_an_edit_is_kept_and_wins(tmp_path: Path) -> None:
    settings, raw, enriched = lake(tmp_path)
    import_export(SUPERGROUP, settings, raw)
    etl(settings, raw, enriched)
    data = json.loads(SUPERGROUP.read_text(encoding="utf-8"))
    message = next(m for m in data["messages"] if m["id"] == 2)
    message["text"] = message["text_entities"][0]["text"] = "Bom dia! (edited)"
    message["edited_unixtime"] = "1732090000"
    later = tmp_path / "later.json"
    later.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    summary = import_export(later, settings, raw)
    assert (summary.updated, summary.stored, summary.already) == (1, 0, 22)
    assert [d.isoformat() for d in dirty_dates(raw)] == ["2024-11-19"]  # only that date
    etl(settings, raw, enriched)
    assert query(settings, "SELECT text FROM telegram WHERE message_id = 2") == [
        ("Bom dia! (edited)",)
    ]
    assert query(settings, "SELECT count(*) FROM telegram") == [(16,)]


def _bot_update(update_id: int, kind: str, message: dict[str, Any]) -> bytes:
    chat = {"id": CHAT_ID, "type": "supergroup", "title": "Café Data 🧪"}
    return orjson.dumps({"update_id": update_id, kind: {"chat": chat, **message}})


def test_a_message_both_imported_and_received_is_one_row_the_bots(tmp_path: Path) -> None:
    settings, raw, enriched = lake(tmp_path)
    import_export(SUPERGROUP, settings, raw)
    # The bot received message 4 unedited; the export has a later edit of it.
    # And the bot saw the join of message 17 with real member ids.
    sender = {"id": 1003, "is_bot": False, "first_name": "Carla", "last_name": "Dias"}
    bodies = {
        500: _bot_update(
            500, "message", {"message_id": 4, "from": sender, "date": 1732003380, "text": "bot"}
        ),
        501: _bot_update(
            501,
            "message",
            {
                "message_id": 17,
                "from": {"id": 1001, "is_bot": False, "first_name": "Ana"},
                "date": 1732004160,
                "new_chat_members": [
                    {"id": 1003, "is_bot": False, "first_name": "Carla"},
                    {"id": 1004, "is_bot": False, "first_name": "Dora"},
                ],
            },
        ),
    }
    day = "2024-11-19"
    for update_id, body in bodies.items():
        raw.create(f"telegram/context_date={day}/{update_id}.json", body)
    etl(settings, raw, enriched)
    rows = query(
        settings, "SELECT update_id, text, edit_date, user_last_name FROM telegram "
        "WHERE message_id = 4"
    )  # fmt: skip
    assert rows == [(500, "bot", None, "Dias")]
    assert query(settings, "SELECT count(*) FROM telegram") == [(16,)]
    members = query(
        settings,
        "SELECT update_id, member_user_id FROM telegram_service WHERE message_id = 17 "
        "ORDER BY member_user_id",
    )
    assert members == [(501, 1003), (501, 1004)]


def test_imported_keys_are_deterministic(tmp_path: Path) -> None:
    settings, raw, _ = lake(tmp_path)
    import_export(SUPERGROUP, settings, raw)
    from datetime import date

    key = raw_key(imported_update_id(CHAT_ID, 2), date(2024, 11, 19))
    assert json.loads(raw.read(key))["message"]["text"] == "Bom dia! plain text only"


def test_chat_filter_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    settings, raw, _ = lake(tmp_path, chat_ids=[-100])
    with pytest.raises(UsageError, match="not among the kept chats"):
        import_export(SUPERGROUP, settings, raw)
    assert raw.list("telegram") == []
    with pytest.raises(UsageError, match="no such file"):
        import_export(tmp_path / "nope.json", settings, raw)


def test_import_through_the_cli(tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    command = [sys.executable, "-m", "telelake", "import", str(EXPORTS / "full_account.json")]
    refused = subprocess.run(
        [*command, "--lake", str(lake_dir)], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "choose one with --chat" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    done = subprocess.run(
        [*command, "--chat", "Team Chat", "--lake", str(lake_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "new objects: 2" in done.stderr
    assert len(list((lake_dir / "raw" / "telegram").rglob("*.json"))) == 2
    # The dates it changed are built at once: the two messages are queryable.
    settings = load_settings({"lake": str(lake_dir)}, env={})
    assert query(settings, "SELECT count(*) FROM telegram") == [(2,)]
    # --no-etl only loads the raw layer.
    other = tmp_path / "raw-only"
    only = subprocess.run(
        [*command, "--chat", "Team Chat", "--lake", str(other), "--no-etl"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert only.returncode == 0, only.stderr
    assert "run `telelake etl` to build them" in only.stderr
    assert not (other / "enriched").exists()


def _write_big_export(path: Path, target_bytes: int) -> int:
    """A single-chat export of about ``target_bytes``, written as tdesktop does."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n "name": "Big",\n "type": "private_supergroup",\n "id": 42,\n')
        out.write(' "messages": [\n')
        while out.tell() < target_bytes:
            count += 1
            message = {
                "id": count,
                "type": "message",
                "date": "2024-01-01T00:00:00",
                "date_unixtime": str(1704067200 + count * 7),
                "from": f"Person {count % 97}",
                "from_id": f"user{count % 97 + 1}",
                "text": ["olá ", {"type": "bold", "text": "mundo"}, " 😀 " + "x" * 200],
                "text_entities": [
                    {"type": "plain", "text": "olá "},
                    {"type": "bold", "text": "mundo"},
                    {"type": "plain", "text": " 😀 " + "x" * 200},
                ],
            }
            out.write(("," if count > 1 else "") + json.dumps(message, ensure_ascii=False))
            out.write("\n")
        out.write(" ]\n}\n")
    return count


def test_a_large_export_streams_in_bounded_memory(tmp_path: Path) -> None:
    export = tmp_path / "result.json"
    count = _write_big_export(export, 50 * 1024 * 1024)
    size = export.stat().st_size
    # A child process, so the peak is the conversion's own: it parses every
    # message of the 50 MB file (three passes) and keeps none.
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        from telelake.telegram.export_file import read_export
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        header, chat, items = read_export(Path({str(export)!r}))
        n = sum(1 for item in items if not isinstance(item, str))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(n, before, after)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    converted, before_kb, after_kb = map(int, result.stdout.split())
    assert converted == count
    growth = (after_kb - before_kb) * 1024
    # json.load of the same file needs several times its size; streaming
    # needs a few MB whatever the size.
    assert growth < size // 5, (
        f"peak RSS grew by {growth / 1e6:.1f} MB for a {size / 1e6:.0f} MB file"
    )

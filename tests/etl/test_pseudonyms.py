"""Pseudonymised enriched layer: no user id or name survives, counts and joins do."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow.parquet as pq
import pytest

from telelake.config import load_settings
from telelake.demo.simulator import simulate
from telelake.errors import ConfigError
from telelake.etl.layers import Layers
from telelake.etl.plan import Selection, existing_dates
from telelake.etl.pseudonyms import Pseudonymizer, from_settings, load_key
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.ingest.importer import import_export
from telelake.lake.storage import LocalStore

EVENTS = Path(__file__).resolve().parents[1] / "events"
KEY = "k" * 32
ZONE_UTC = ZoneInfo("UTC")
TEXT_COLUMNS = {"text", "caption", "hashtags", "urls", "mentions", "detail"}


@pytest.fixture(scope="module")
def raw_lake(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """A raw layer with simulated traffic, every recorded update and an imported export."""
    root = tmp_path_factory.mktemp("pseudo")
    settings = load_settings({"lake": str(root)}, env={})
    raw = LocalStore(settings.raw_url)
    ingestor = Ingestor(settings, raw)
    traffic = simulate(seed=3, users=30, days=2, messages_per_day=120, end=date(2026, 11, 20),
                       timezone="UTC")  # fmt: skip
    for body in [*traffic.bodies, *(p.read_bytes() for p in sorted(EVENTS.glob("*.json")))]:
        ingestor.accept(body, received_at=1_764_000_000)
    import_export(EVENTS / "export" / "supergroup.json", settings, raw)
    # A text_mention links a user the text does not name (only "friend").
    mention = {
        "type": "text_mention",
        "offset": 3,
        "length": 6,
        "user": {"id": 99887766, "is_bot": False, "first_name": "Hid", "username": "hid_u"},
    }
    ingestor.accept(orjson.dumps({"update_id": 5, "message": {
        "message_id": 1, "date": 1763600000, "chat": {"id": -100123, "type": "supergroup"},
        "from": {"id": 42424242, "is_bot": False, "first_name": "Writer"},
        "text": "hi friend", "entities": [mention]}}))  # fmt: skip
    # A private chat: its id is the user's, its username theirs.
    person = {"id": 31337, "is_bot": False, "first_name": "Priv", "username": "priv_user"}
    chat = {"id": 31337, "type": "private", "first_name": "Priv", "username": "priv_user"}
    via = {"id": 5550001, "is_bot": True, "first_name": "Gif", "username": "gif"}
    start = {"message_id": 1, "date": 1763600000, "from": person, "chat": chat, "text": "/start",
             "via_bot": via}  # fmt: skip
    ingestor.accept(orjson.dumps({"update_id": 6, "message": start}))
    return raw


def _walk(value: Any) -> Any:
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def people(raw: LocalStore) -> tuple[set[int], set[str]]:
    """Every user id (and private chat id) and every name in the raw layer."""
    ids: set[int] = set()
    names: set[str] = set()
    for body in raw.read_many(raw.list("telegram")):
        for item in _walk(orjson.loads(body)):
            if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                continue
            if "first_name" in item or "is_bot" in item:
                if item["id"] > 0:
                    ids.add(item["id"])
                for field in ("first_name", "last_name", "username"):
                    if isinstance(item.get(field), str):
                        names.add(item[field])
    return ids, names


def build(raw: LocalStore, target: Path, pseudonyms: Pseudonymizer | None) -> LocalStore:
    enriched = LocalStore(target)
    layers = Layers(raw, enriched, load_settings({}, env={}).zone, pseudonyms)
    run(layers, Selection(everything=True), workers=1)
    return enriched


def tables(enriched: LocalStore) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for key in enriched.list(""):
        if key.endswith(".parquet"):
            rows = pq.read_table(enriched.path(key)).to_pylist()
            out.setdefault(key.split("/", 1)[0], []).extend(rows)
    return out


def test_no_user_id_or_name_in_any_enriched_file(raw_lake: LocalStore, tmp_path: Path) -> None:
    ids, names = people(raw_lake)
    assert len(ids) > 30 and "Ана" in names and "ana_silva" in names  # the fixture is rich
    built = tables(build(raw_lake, tmp_path / "e", Pseudonymizer(KEY.encode())))
    checked = 0
    for table, rows in built.items():
        for row in rows:
            for column, value in row.items():
                values = value if isinstance(value, list) else [value]
                for item in values:
                    if isinstance(item, int) and not isinstance(item, bool):
                        assert item not in ids, (table, column, item)
                        checked += 1
                    elif isinstance(item, str) and column not in TEXT_COLUMNS:
                        assert item not in names, (table, column, item)
                if column == "detail" and value is not None:
                    for inner in _walk(orjson.loads(value)):
                        if isinstance(inner, dict):
                            assert inner.get("id") not in ids, (table, inner)
                            assert inner.get("first_name") not in names, (table, inner)
                if column == "mentions":
                    said = f"{row['text'] or ''} {row['caption'] or ''}"
                    assert all(m in said for m in value), (value, said)
    assert checked > 1000


def test_stable_across_runs_and_keyed(raw_lake: LocalStore, tmp_path: Path) -> None:
    first = build(raw_lake, tmp_path / "a", Pseudonymizer(KEY.encode()))
    second = build(raw_lake, tmp_path / "b", Pseudonymizer(KEY.encode()))
    other = build(raw_lake, tmp_path / "c", Pseudonymizer(b"another key, also long enough"))
    keys = [k for k in first.list("") if k.endswith(".parquet")]
    assert keys and keys == [k for k in second.list("") if k.endswith(".parquet")]
    for key in keys:
        assert first.read(key) == second.read(key), key
    mine = {r["user_id"] for r in tables(first)["telegram"]} - {None}
    theirs = {r["user_id"] for r in tables(other)["telegram"]} - {None}
    assert len(mine) == len(theirs) and not mine & theirs


def test_counts_and_joins_unchanged(raw_lake: LocalStore, tmp_path: Path) -> None:
    plain = tables(build(raw_lake, tmp_path / "plain", None))
    pseudo = tables(build(raw_lake, tmp_path / "pseudo", Pseudonymizer(KEY.encode())))
    assert {t: len(r) for t, r in plain.items()} == {t: len(r) for t, r in pseudo.items()}
    # One consistent, one-to-one mapping of every user id, across tables.
    mapping: dict[int, int] = {}
    for table, id_columns in {
        "telegram": ("user_id", "forward_from_user_id", "chat_id"),
        "telegram_service": ("user_id", "member_user_id"),
        "telegram_members": ("actor_user_id", "user_id"),
        "telegram_reactions": ("user_id",),
        "telegram_updates": ("user_id", "chat_id"),
    }.items():
        for before, after in zip(plain[table], pseudo[table], strict=True):
            for column in id_columns:
                old, new = before[column], after[column]
                if old is None or (column == "chat_id" and old < 0):
                    assert new == old
                    continue
                assert new > 0 and mapping.setdefault(old, new) == new, (table, column)
    assert len(set(mapping.values())) == len(mapping) > 30
    per_user = Counter(r["user_id"] for r in plain["telegram"])
    assert sorted(per_user.values()) == sorted(
        Counter(r["user_id"] for r in pseudo["telegram"]).values()
    )
    for before, after in zip(plain["telegram"], pseudo["telegram"], strict=True):
        assert (after["text"], after["message_id"], after["date"]) == (
            before["text"], before["message_id"], before["date"]
        )  # fmt: skip
        assert after["user_last_name"] is None and after["user_username"] is None
        if before["user_id"] is not None:
            assert after["user_first_name"].startswith("user-")


def test_key_from_settings_or_file_and_one_line_errors(tmp_path: Path) -> None:
    assert from_settings(load_settings({}, env={})) is None
    on = {"TELELAKE_PSEUDONYMIZE": "true"}
    with pytest.raises(ConfigError, match="no key") as missing:
        from_settings(load_settings({}, env=on))
    assert "\n" not in str(missing.value)
    with pytest.raises(ConfigError, match="at least 16"):
        from_settings(load_settings({}, env={**on, "TELELAKE_PSEUDONYM_KEY": "short"}))
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    settings = load_settings({}, env={**on, "TELELAKE_PSEUDONYM_KEY_FILE": str(key_file)})
    assert load_key(settings) == KEY.encode()
    with pytest.raises(ConfigError, match="cannot read"):
        load_key(load_settings({}, env={**on, "TELELAKE_PSEUDONYM_KEY_FILE": str(tmp_path)}))


def test_cli_refuses_pseudonymize_without_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "telelake", "forget", "--user-id", "5", "--pseudonymize",
         "--dry-run", "--lake", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: pseudonymize is on but there is no key")
    assert len(result.stderr.strip().splitlines()) == 1


def test_one_enriched_layer_never_mixes_real_ids_pseudonyms_or_keys(
    raw_lake: LocalStore, tmp_path: Path
) -> None:
    days = Selection(dates=tuple(existing_dates(raw_lake, LocalStore(tmp_path / "none"))[:1]))
    key, other = Pseudonymizer(KEY.encode()), Pseudonymizer(b"another key, also long enough")
    pseudo = LocalStore(tmp_path / "pseudo")
    run(Layers(raw_lake, pseudo, ZONE_UTC, key), days)
    run(Layers(raw_lake, pseudo, ZONE_UTC, key), days)  # same key: fine
    with pytest.raises(ConfigError, match="holds pseudonyms: pass --pseudonymize"):
        run(Layers(raw_lake, pseudo, ZONE_UTC), days)
    with pytest.raises(ConfigError, match="another key"):
        run(Layers(raw_lake, pseudo, ZONE_UTC, other), days)
    plain = LocalStore(tmp_path / "plain")
    run(Layers(raw_lake, plain, ZONE_UTC), days)
    with pytest.raises(ConfigError, match="holds real user ids"):
        run(Layers(raw_lake, plain, ZONE_UTC, key), days)
    # A layer built before the record existed holds real ids: it counts as such.
    plain.delete("_telelake/pseudonyms.json")
    with pytest.raises(ConfigError, match="holds real user ids"):
        run(Layers(raw_lake, plain, ZONE_UTC, key), days)

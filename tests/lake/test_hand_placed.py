"""Objects placed in a folder lake by hand never stop a run nor lead out of the lake.

A raw partition gets what a person or another tool might leave there: a link
to a file outside the lake (holding a valid update), a dangling link, a FIFO,
a file whose name is not UTF-8, a partition folder that is a link out of the
lake, and a link to an object inside the lake (which is read). ``telelake etl
--all`` must build every real update, read nothing from outside, and say in
one log line how many entries it left out; the store's own reads refuse links
out of the layer too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import orjson
import pytest

from telelake.errors import StorageError
from telelake.lake.layout import partition_dir, raw_key
from telelake.lake.storage import LocalStore

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2025, 11, 24)
OTHER_DAY = date(2025, 11, 25)


def _update(update_id: int, text: str, day: date = DAY) -> bytes:
    when = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
    message = {"message_id": update_id, "date": when, "text": text,
               "chat": {"id": -100, "type": "group"},
               "from": {"id": 7, "is_bot": False, "first_name": "Ana"}}  # fmt: skip
    return orjson.dumps({"update_id": update_id, "message": message})


def _hand_placed(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    raw = LocalStore(lake / "raw")
    raw.create(raw_key(1, DAY), _update(1, "real one"))
    raw.create(raw_key(2, OTHER_DAY), _update(2, "real two", OTHER_DAY))
    folder = lake / "raw" / partition_dir("telegram", DAY)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_bytes(_update(66, "read from outside the lake"))
    os.symlink(outside / "secret.json", folder / "66.json")
    os.symlink(folder / "gone.json", folder / "67.json")
    os.mkfifo(folder / "68.json")
    # A name that is not UTF-8 (bytes 0xff 0xfe), holding a valid update.
    with open(os.fsencode(folder) + b"/\xff\xfe69.json", "wb") as handle:
        handle.write(_update(69, "badly named"))
    # A link to an object of the lake itself: read like any object.
    (lake / "raw" / "kept").mkdir()
    (lake / "raw" / "kept" / "70.json").write_bytes(_update(70, "linked inside"))
    os.symlink(lake / "raw" / "kept" / "70.json", folder / "70.json")
    # A whole partition folder that is a link out of the lake.
    elsewhere = outside / "context_date=2025-11-26"
    elsewhere.mkdir()
    (elsewhere / "71.json").write_bytes(_update(71, "a partition from outside"))
    os.symlink(elsewhere, lake / "raw" / "telegram" / "context_date=2025-11-26")
    return lake


def _etl(lake: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "telelake", "etl", "--all", "--lake", str(lake)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def test_etl_builds_the_real_updates_and_leaves_out_the_rest(tmp_path: Path) -> None:
    lake = _hand_placed(tmp_path)
    result = _etl(lake)
    assert result.returncode == 0, result.stderr
    texts = duckdb.sql(
        f"SELECT text FROM read_parquet('{lake}/enriched/telegram/*/*.parquet') ORDER BY 1"
    ).fetchall()
    assert [t for (t,) in texts] == ["linked inside", "real one", "real two"]
    leftout = [line for line in result.stderr.splitlines() if "left out" in line]
    assert leftout, result.stderr
    text = "\n".join(leftout)
    assert "4 entries" in text, text  # the link out, the dangling link, the FIFO, the name
    for reason in ("a link out of the layer", "a dangling link", "not a regular file",
                   "not UTF-8"):  # fmt: skip
        assert reason in text, text
    for path in (lake / "enriched").rglob("*"):
        if path.is_file():
            assert b"outside the lake" not in path.read_bytes()


def test_the_store_never_reads_through_a_link_out_of_the_layer(tmp_path: Path) -> None:
    lake = _hand_placed(tmp_path)
    raw = LocalStore(lake / "raw")
    listed = raw.list("telegram")
    assert raw_key(70, DAY) in listed
    assert not any(key.endswith(("/66.json", "/67.json", "/68.json", "69.json")) for key in listed)
    assert not any("2025-11-26" in key for key in listed)
    assert orjson.loads(raw.read(raw_key(70, DAY)))["update_id"] == 70
    with pytest.raises(StorageError, match="link out of the layer"):
        raw.read(raw_key(66, DAY))
    with pytest.raises(StorageError):
        raw.read_many([raw_key(66, DAY)])

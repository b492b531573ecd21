"""``telelake compact`` as a user meets it, and where its ``compact_after`` comes from."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from telelake.config import load_settings
from telelake.errors import ConfigError
from telelake.lake.segments import read_partition
from telelake.lake.storage import LocalStore


def telelake(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "telelake", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean,
        timeout=120,
    )


def fill(raw: LocalStore, day: date, count: int) -> None:
    sent = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
    for i in range(1, count + 1):
        update_id = int(day.strftime("%Y%m%d")) * 1000 + i
        body = orjson.dumps({"update_id": update_id, "message": {"date": sent, "text": "x"}})
        raw.create(f"telegram/context_date={day.isoformat()}/{update_id}.json", body)


def test_compact_packs_closed_days_and_says_what_it_did(tmp_path: Path) -> None:
    raw = LocalStore(tmp_path / "lake" / "raw")
    today = datetime.now(UTC).date()
    old, recent = today - timedelta(days=9), today - timedelta(days=2)
    fill(raw, old, 30)
    fill(raw, recent, 5)
    before = {day: read_partition(raw, day) for day in (old, recent)}
    done = telelake("compact", "--lake", "lake", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "compacted 1 of 1 day(s) visited" in done.stderr
    assert "objects packed: 30" in done.stderr
    folder = tmp_path / "lake" / "raw" / "telegram"
    assert [p.name[:8] for p in (folder / f"context_date={old}").iterdir()] == ["segment-"]
    assert len(list((folder / f"context_date={recent}").iterdir())) == 5
    # A day two days old is closed with --compact-after 1 (flag over default).
    done = telelake("compact", "--lake", "lake", "--compact-after", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [p.name[:8] for p in (folder / f"context_date={recent}").iterdir()] == ["segment-"]
    assert {day: read_partition(raw, day) for day in (old, recent)} == before
    # Nothing new: nothing to do, nothing written.
    again = telelake("compact", "--lake", "lake", "--compact-after", "1", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to compact" in again.stderr
    forced = telelake("compact", "--lake", "lake", "--date", today.isoformat(), cwd=tmp_path)
    assert forced.returncode == 0 and "compacted 0 of 1" in forced.stderr


@pytest.mark.parametrize(
    ("args", "env", "code", "needle"),
    [
        (["--date", "yesterday"], {}, 2, "is not a date"),
        (["--date", "2026-01-01", "--all"], {}, 2, "choose one of"),
        (["--compact-after", "-1"], {}, 2, "--compact-after"),
        ([], {"TELELAKE_COMPACT_AFTER": "soon"}, 1, "compact_after"),
        (["--timezone", "Europe/Berlin"], {}, 1, "partitioned in time zone UTC"),
    ],
)
def test_compact_errors_are_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], code: int, needle: str
) -> None:
    raw = LocalStore(tmp_path / "lake" / "raw")
    raw.create("_telelake/lake.json", b'{"timezone": "UTC"}')
    done = telelake("compact", "--lake", "lake", *args, cwd=tmp_path, env=env)
    assert done.returncode == code, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert needle in lines[0]


def test_compact_after_is_a_flag_then_the_environment_then_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "telelake.toml"
    toml.write_text("compact_after = 5\n", encoding="utf-8")
    assert load_settings(env={}).compact_after == 3
    assert load_settings(env={}, config_file=toml).compact_after == 5
    env = {"TELELAKE_COMPACT_AFTER": "7"}
    assert load_settings(env=env, config_file=toml).compact_after == 7
    assert load_settings({"compact_after": 0}, env=env, config_file=toml).compact_after == 0
    for bad in ("-2", "1.5", "three"):
        with pytest.raises(ConfigError, match="whole number of days"):
            load_settings(env={"TELELAKE_COMPACT_AFTER": bad})
    toml.write_text("compact_after = true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="whole number of days"):
        load_settings(env={}, config_file=toml)

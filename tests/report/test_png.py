"""``--png``: every chart of the page as a PNG drawn by Chromium; one clear line without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from telelake.config import load_settings
from telelake.errors import ConfigError
from telelake.report import png
from telelake.report.build import render_lake


@pytest.fixture
def needs_chromium() -> None:
    if png.chromium_path() is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    env.update(extra)
    return env


def test_each_chart_becomes_a_non_blank_png(
    needs_chromium: None, report_lake: Path, tmp_path: Path, png_spread: Any
) -> None:
    page = render_lake(load_settings(overrides={"lake": str(report_lake)}, env={}))
    written = png.write_pngs(page, tmp_path / "slides", scale=1)
    names = [path.name for path in written]
    # one per chart div of the page (the replies card holds two charts)
    assert names == [
        "01-messages-per-day.png",
        "02-messages-per-user-per-day.png",
        "03-messages-per-hour-weekday-week.png",
        "04-daily-active-users.png",
        "05-messages-by-content-type.png",
        "06-top-posters.png",
        "07-activity-heatmap.png",
        "08-replies-and-threads.png",
        "09-replies-and-threads-wait.png",
    ]
    assert sorted(p.name for p in (tmp_path / "slides").iterdir()) == names
    width, height, variance, colours = png_spread(written[0].read_bytes())
    assert width > 500 and height > 200 and variance > 50 and colours > 5
    for path in written[1:]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000


def test_cli_png_without_a_browser_fails_in_one_line(report_lake: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "telelake", "report", "--lake", str(report_lake),
         "--png", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env=_env(TELELAKE_CHROMIUM=str(tmp_path / "no-chromium")),
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: TELELAKE_CHROMIUM={tmp_path / 'no-chromium'} is not a file"
    ]


def test_missing_playwright_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    with pytest.raises(ConfigError) as caught:
        png.check_browser()
    assert "pip install playwright" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_browser_that_will_not_start_is_one_clear_line(
    needs_chromium: None, tmp_path: Path
) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(ConfigError) as caught:
        png.write_pngs(
            "<!DOCTYPE html><title>x</title>", tmp_path / "out", scale=1, chromium=str(fake)
        )
    message = str(caught.value)
    assert message.startswith("cannot draw the charts with Chromium") and "\n" not in message

"""`telelake demo` as a new user runs it: offline, real server, reports, HTML page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from telelake.analytics.engine import Engine


def demo(lake: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    # No proxy, no token: the demo must not need the network.
    env.update({"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"})
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return subprocess.run(
        [sys.executable, "-m", "telelake", "demo", "--lake", str(lake), *extra],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def test_demo_runs_the_whole_pipeline(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    result = demo(lake, "--days", "7", "--users", "40", "--per-day", "60")
    assert result.returncode == 0, result.stderr
    for title in ("Messages per day", "per user per day", "length", "hour"):
        assert title.lower() in result.stdout.lower()
    match = re.search(r"check: ([\d,]+) distinct messages sent = ([\d,]+) rows", result.stderr)
    assert match and match.group(1) == match.group(2)
    assert "every one acknowledged durably" in result.stderr
    days = {p.name for p in (lake / "raw" / "telegram").iterdir()}
    assert len(days) >= 7
    page = (lake / "report.html").read_text(encoding="utf-8")
    # Charts are drawn in the browser from the embedded data (tests/report/test_browser.py
    # checks the drawing); here: the page carries a chart per original report and the data.
    assert page.count('data-chart="') >= 4
    assert 'id="telelake-data"' in page
    assert not re.search(r"""(src|href)=["']?https?://""", page)
    # A daily member-count snapshot per chat, as `telelake run` takes them.
    with Engine(str(lake / "enriched")) as engine:
        counts = engine.query(
            "SELECT chat_id, count(1), min(member_count) FROM telegram_chat_stats GROUP BY 1"
        ).rows
    assert len(counts) == 2 and all(days == 7 and least > 0 for _, days, least in counts)

    # Running it again replaces the previous demo lake instead of adding to it.
    again = demo(lake, "--days", "7", "--users", "40", "--per-day", "60")
    assert again.returncode == 0, again.stderr
    assert again.stdout == result.stdout


def test_demo_refuses_a_lake_it_did_not_write(tmp_path: Path) -> None:
    lake = tmp_path / "mine"
    (lake / "raw").mkdir(parents=True)
    (lake / "raw" / "precious.json").write_text("{}")
    result = demo(lake)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:")
    assert (lake / "raw" / "precious.json").exists()

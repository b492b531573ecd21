"""``telelake report`` as a user runs it: --list, --name, --html."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from telelake.analytics.reports import REPORTS


def telelake(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    return subprocess.run(
        [sys.executable, "-m", "telelake", "report", *args],
        capture_output=True, text=True, timeout=60, cwd=cwd, env=env,
    )  # fmt: skip


def test_list_names_every_report_with_its_question(tmp_path: Path) -> None:
    done = telelake("--list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line.split("\t") for line in done.stdout.splitlines()]
    assert [line[0] for line in lines] == [report.name for report in REPORTS]
    assert lines[0][0] == "messages_per_day" and len(lines) >= 12
    assert all(len(line) == 3 and line[2].endswith("?") for line in lines)


def test_name_prints_one_report_and_html_still_holds_all(report_lake: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    done = telelake("--lake", str(report_lake), "--name", "top_posters", "--html", str(page),
                    cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.findall(r"^== (.*) ==$", done.stdout, re.M) == ["Top posters"]
    assert "O'Brien" in done.stdout
    sections = re.findall(r'<section class="card" id="r-([a-z_]+)"', page.read_text("utf-8"))
    assert sections == [report.name for report in REPORTS]


def test_unknown_name_is_a_usage_error(report_lake: Path, tmp_path: Path) -> None:
    done = telelake("--lake", str(report_lake), "--name", "nope", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: unknown report 'nope'")

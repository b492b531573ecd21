"""``telelake report`` as a user runs it: --list, --name, --html, --format, --since, --chat."""

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


def test_one_report_as_csv_or_json(report_lake: Path, tmp_path: Path) -> None:
    # Message 4 (user 2, chat -100) answers message 3 (user 1): the lake's one reply.
    csv = telelake("--lake", str(report_lake), "--name", "reply_pairs", "--format", "csv",
                   cwd=tmp_path)  # fmt: skip
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.splitlines() == ["chat_id,user_id,replied_to_user_id,replies", "-100,2,1,1"]
    json_lines = telelake("--lake", str(report_lake), "--name", "messages_per_day", "-f", "json",
                          "--since", "2024-05-08", cwd=tmp_path)  # fmt: skip
    assert json_lines.stdout.splitlines() == ['{"context_date":"2024-05-08","message_amount":3}']


def test_chat_and_dates_restrict_what_a_report_reads(report_lake: Path, tmp_path: Path) -> None:
    beta = telelake("--lake", str(report_lake), "--name", "chats", "-f", "csv", "--chat", "-200",
                    cwd=tmp_path)  # fmt: skip
    assert [line.split(",")[:2] for line in beta.stdout.splitlines()[1:]] == [["-200", "Beta"]]
    day = telelake("--lake", str(report_lake), "--name", "people", "-f", "csv",
                   "--until", "2024-05-06", cwd=tmp_path)  # fmt: skip
    # Up to May 6: user 2 in Beta (chat -200 sorts first), user 1 in Alpha; no May 8.
    people = [line.split(",")[:2] for line in day.stdout.splitlines()[1:]]
    assert people == [["-200", "2"], ["-100", "1"]]


def test_parameters_reach_the_sql(tmp_path: Path) -> None:
    done = telelake("--name", "inactive_members", "--days", "7", "--sql", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "7 AS silent_days" in done.stdout
    gap = telelake("--name", "conversations", "--gap", "10", "--sql", cwd=tmp_path)
    assert "600 AS gap_seconds" in gap.stdout


def test_bad_combinations_are_one_line(report_lake: Path, tmp_path: Path) -> None:
    two = telelake("--lake", str(report_lake), "-f", "json", "--name", "chats", "--name", "people",
                   cwd=tmp_path)  # fmt: skip
    assert two.returncode == 2
    assert two.stderr.strip() == "error: --format json prints one report: name it with --name"
    backwards = telelake("--lake", str(report_lake), "--since", "2024-05-09",
                         "--until", "2024-05-01", cwd=tmp_path)  # fmt: skip
    assert backwards.returncode == 2
    assert backwards.stderr.strip() == "error: --since 2024-05-09 is after --until 2024-05-01"

"""The command line as a user meets it: help with examples, one-line errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from telelake.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def telelake(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "telelake", *args],
        capture_output=True, text=True, cwd=cwd, env=clean, input=stdin, timeout=120,
    )  # fmt: skip


def test_the_fixed_command_names_exist() -> None:
    assert {"demo", "serve", "etl", "query", "report"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = telelake(command, "--help")
    assert result.returncode == 0, result.stderr
    example = [line for line in result.stdout.splitlines() if "Example:" in line]
    assert example, f"`telelake {command} --help` shows no example"
    assert f"telelake {command}" in example[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_in_the_readme(command: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"telelake {command}" in readme


def test_version_and_root_help() -> None:
    assert telelake("--version").stdout.startswith("telelake ")
    assert "Example:" in telelake("--help").stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["etl", "--date", "yesterday"], 2, "is not a date"),
        (["etl", "--since", "2026-01-05", "--until", "2026-01-01"], 2, "is after"),
        (["etl", "--all", "--date", "2026-01-01"], 2, "choose one of"),
        (["etl", "--no-such-option"], 2, "No such option"),
        (["etl", "--timezone", "Mars/Olympus"], 1, "unknown time zone"),
        (["query", "SELEC nonsense"], 1, "error:"),
        (["query", "SELECT * FROM no_such_table"], 1, "no_such_table"),
        (["query", "SELECT 1", "--format", "xml"], 2, "xml"),
        (["query", "SELECT 1", "--dialect", "oracle"], 2, "oracle"),
        (["report", "--name", "nope"], 2, "nope"),
    ],
)
def test_errors_are_one_line_with_the_right_exit_code(
    tmp_path: Path, args: list[str], code: int, needle: str
) -> None:
    result = telelake(*args, "--lake", str(tmp_path / "lake"))
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert needle.lower() in lines[0].lower()
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = telelake("--debug", "etl", "--timezone", "Mars/Olympus", "--lake", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_config_file_and_environment_precedence(tmp_path: Path) -> None:
    (tmp_path / "telelake.toml").write_text('timezone = "Mars/FromFile"\n')
    from_file = telelake("etl", "--lake", str(tmp_path / "lake"), cwd=tmp_path)
    assert "Mars/FromFile" in from_file.stderr
    from_env = telelake(
        "etl", "--lake", str(tmp_path / "lake"), cwd=tmp_path,
        env={"TELELAKE_TIMEZONE": "Mars/FromEnv"},
    )  # fmt: skip
    assert "Mars/FromEnv" in from_env.stderr
    from_flag = telelake(
        "etl", "--lake", str(tmp_path / "lake"), "--timezone", "UTC", cwd=tmp_path,
        env={"TELELAKE_TIMEZONE": "Mars/FromEnv"},
    )  # fmt: skip
    assert from_flag.returncode == 0, from_flag.stderr


def test_etl_on_an_empty_lake_says_there_is_nothing_to_do(tmp_path: Path) -> None:
    result = telelake("etl", "--lake", str(tmp_path / "lake"))
    assert result.returncode == 0
    assert "nothing to build" in result.stderr


def test_query_reads_sql_from_stdin(tmp_path: Path) -> None:
    result = telelake(
        "query", "-", "--format", "csv", "--lake", str(tmp_path / "lake"), stdin="SELECT 1 AS one"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["one", "1"]


TOKEN = "123456789:AAHk-examplesecretexamplesecret_abc12"


def test_queries_never_reach_for_the_network(tmp_path: Path) -> None:
    result = telelake("query", "SELECT * FROM 'https://example.org/x.parquet'", "--lake",
                      str(tmp_path))  # fmt: skip
    assert result.returncode == 1
    # DuckDB refuses at once instead of trying to download its httpfs extension.
    assert "requires the extension httpfs" in result.stderr
    assert "trying to automatically install" not in result.stderr


def test_the_token_never_reaches_the_terminal_at_debug_level(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN}
    lake = str(tmp_path / "lake")
    runs = [
        # An error whose message quotes the token (as a Bot API URL would).
        telelake("--debug", "query", f'SELECT * FROM "bot{TOKEN}"', "--lake", lake, env=env),
        telelake("--debug", "etl", "--date", f"bot{TOKEN}", "--lake", lake, env=env),
        telelake("--debug", "etl", "--timezone", TOKEN, "--lake", lake, env=env),
    ]  # fmt: skip
    for result in runs:
        assert result.returncode != 0
        assert "<redacted>" in result.stderr, result.stderr
        secret_part = TOKEN.split(":", 1)[1]
        assert secret_part not in result.stderr + result.stdout


def test_a_lake_keeps_the_time_zone_it_was_partitioned_in(tmp_path: Path) -> None:
    from telelake.lake.manifest import ensure_zone
    from telelake.lake.storage import LocalStore

    lake = tmp_path / "lake"
    ensure_zone(LocalStore(lake / "raw"), "America/Sao_Paulo")
    result = telelake("etl", "--lake", str(lake), "--timezone", "Europe/Berlin")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: the lake at {lake / 'raw'} is partitioned in time zone America/Sao_Paulo, "
        "not Europe/Berlin: pass --timezone America/Sao_Paulo "
        "(or set TELELAKE_TIMEZONE=America/Sao_Paulo)"
    ]
    ok = telelake("etl", "--lake", str(lake), "--timezone", "America/Sao_Paulo")
    assert ok.returncode == 0, ok.stderr


def test_serve_refuses_to_mix_time_zones_in_one_lake(tmp_path: Path) -> None:
    from telelake.lake.manifest import ensure_zone
    from telelake.lake.storage import LocalStore

    lake = tmp_path / "lake"
    ensure_zone(LocalStore(lake / "raw"), "UTC")
    result = telelake("serve", "--lake", str(lake), "--timezone", "Asia/Tokyo", "--port", "1")
    assert result.returncode == 1
    assert "partitioned in time zone UTC, not Asia/Tokyo" in result.stderr.splitlines()[-1]

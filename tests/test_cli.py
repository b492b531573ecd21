"""The command line as a user meets it: help with examples, one-line errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer

from telelake.cli import app
from telelake.lake.storage import LocalStore

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def a_lake(root: Path) -> Path:
    """An existing, empty lake: both layer folders (a missing lake is an error)."""
    (root / "raw").mkdir(parents=True, exist_ok=True)
    (root / "enriched").mkdir(parents=True, exist_ok=True)
    return root


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
    result = telelake(*args, "--lake", str(a_lake(tmp_path / "lake")))
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
    a_lake(tmp_path / "lake")
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
    result = telelake("etl", "--lake", str(a_lake(tmp_path / "lake")))
    assert result.returncode == 0
    assert "nothing to build" in result.stderr


def test_query_reads_sql_from_stdin(tmp_path: Path) -> None:
    result = telelake(
        "query", "-", "--format", "csv", "--lake", str(a_lake(tmp_path)), stdin="SELECT 1 AS one"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["one", "1"]


TOKEN = "123456789:AAHk-examplesecretexamplesecret_abc12"


def test_queries_never_reach_for_the_network(tmp_path: Path) -> None:
    result = telelake("query", "SELECT * FROM 'https://example.org/x.parquet'", "--lake",
                      str(a_lake(tmp_path)))  # fmt: skip
    assert result.returncode == 1
    # DuckDB refuses at once instead of trying to download its httpfs extension.
    assert "requires the extension httpfs" in result.stderr
    assert "trying to automatically install" not in result.stderr


def test_the_token_never_reaches_the_terminal_at_debug_level(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN}
    lake = str(a_lake(tmp_path / "lake"))
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


def _status_rows(stderr: str) -> dict[str, list[str]]:
    """The per-table rows of `etl --status`: name -> [version, partitions, outdated]."""
    rows = {}
    for line in stderr.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 4 and cells[0].startswith("telegram"):
            rows[cells[0]] = cells[1:]
    return rows


def test_etl_status_says_what_is_changed_and_outdated(tmp_path: Path) -> None:
    import io

    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    from telelake.config import load_settings
    from telelake.etl.layers import Layers
    from telelake.etl.runner import run
    from telelake.ingest.core import Ingestor
    from telelake.lake.tables import TABLES

    lake = tmp_path / "lake"
    settings = load_settings({"lake": str(lake)}, env={})
    ingestor = Ingestor(settings, LocalStore(lake / "raw"))
    chat = {"id": -100, "type": "group", "title": "G"}

    def send(update_id: int, day: int) -> None:
        when = int(datetime(2025, 11, day, 12, tzinfo=UTC).timestamp())
        message = {"message_id": update_id, "chat": chat, "date": when, "text": "hi",
                   "from": {"id": 7, "is_bot": False, "first_name": "Ana"}}  # fmt: skip
        ingestor.accept(orjson.dumps({"update_id": update_id, "message": message}))

    for day in (20, 21, 22):
        send(day, day)
    run(Layers.open(settings), workers=1)
    # 2025-11-21 as a telelake from before table versions wrote it (no version, no record),
    sink = io.BytesIO()
    pq.write_table(pa.table({"message_id": pa.array([21], pa.int64()), "text": ["hi"]}), sink)
    enriched = LocalStore(lake / "enriched")
    enriched.replace("telegram/context_date=2025-11-21/part-00000.parquet", sink.getvalue())
    for key in enriched.list("_telelake/built/context_date=2025-11-21"):
        enriched.delete(key)
    send(23, 22)  # and 2025-11-22 changed since its build.

    status = telelake("etl", "--status", "--lake", str(lake))
    assert status.returncode == 0, status.stderr
    rows = _status_rows(status.stderr)
    # The version column is the contract's (tables.py); partitions and outdated are counted here.
    version = {name: str(table.version) for name, table in TABLES.items()}
    assert rows["telegram"] == [version["telegram"], "3", "1"]
    assert rows["telegram_updates"] == [version["telegram_updates"], "3", "0"]
    assert "changed since their last build: 1 date(s), 2025-11-22" in status.stderr
    assert "outdated (built with older table versions): 1 date(s), 2025-11-21" in status.stderr
    assert "builds 2 date(s), 2025-11-21 .. 2025-11-22, oldest first" in status.stderr

    built = telelake("etl", "--lake", str(lake))
    assert built.returncode == 0, built.stderr
    assert "ETL: 2 partition(s)" in built.stderr
    after = telelake("etl", "--status", "--lake", str(lake))
    outdated_after = _status_rows(after.stderr)
    assert set(outdated_after) == set(TABLES), "one row per table of the contract"
    assert [row[2] for row in outdated_after.values()] == ["0"] * len(TABLES)
    assert "has nothing to build" in after.stderr
    again = telelake("etl", "--lake", str(lake))
    assert "nothing to build" in again.stderr


def test_etl_status_builds_nothing_and_takes_no_dates(tmp_path: Path) -> None:
    result = telelake("etl", "--status", "--all", "--lake", str(tmp_path / "lake"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --status reports on the whole lake: drop --date, --since/--until, --all"
    ]
    missing = telelake("etl", "--status", "--lake", str(tmp_path / "lake"))
    assert missing.returncode == 1, missing.stderr
    assert missing.stderr.startswith("error: no raw layer at")
    assert not (tmp_path / "lake").exists()
    empty = telelake("etl", "--status", "--lake", str(a_lake(tmp_path / "lake")))
    assert empty.returncode == 0, empty.stderr
    assert "has nothing to build" in empty.stderr


# -- what a careless user types (issue 14) -------------------------------------------------


def _one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# Every command that takes a layer, with what else it needs to get that far.
LAYER_COMMANDS = [
    ["serve", "--host", "203.0.113.1"],
    ["etl"],
    ["query", "SELECT 1"],
    ["report", "-q"],
    ["import", "result.json"],
    ["forget", "--user-id", "1", "--yes"],
    ["compact"],
    ["poll"],
    ["run"],
    ["demo", "--days", "1"],
]
NOT_A_LAYER = ["s3://", "s3:/bucket/x", "S3://bucket", "s3:bucket", "http://host/lake",
               "s3://bucket//x", "s3://Bad_Bucket/x"]  # fmt: skip


@pytest.mark.parametrize("command", LAYER_COMMANDS, ids=lambda c: c[0])
def test_a_malformed_s3_url_is_a_usage_error_everywhere(command: list[str], tmp_path: Path) -> None:
    value = NOT_A_LAYER[LAYER_COMMANDS.index(command) % len(NOT_A_LAYER)]
    by_flag = telelake(*command, "--lake", value, cwd=tmp_path,
                       env={"TELEGRAM_BOT_TOKEN": TOKEN})  # fmt: skip
    assert value in _one_error_line(by_flag, 2)
    if command[0] != "demo":  # the demo takes its lake from its own flag only
        variable = ("TELELAKE_LAKE", "TELELAKE_RAW", "TELELAKE_ENRICHED")[len(command) % 3]
        by_env = telelake(
            *command, cwd=tmp_path, env={variable: value, "TELEGRAM_BOT_TOKEN": TOKEN}
        )
        assert variable in _one_error_line(by_env, 2)
    assert list(tmp_path.iterdir()) == [], "a folder was made for a URL"


@pytest.mark.parametrize("value", NOT_A_LAYER)
def test_every_malformed_layer_value_is_refused_by_the_settings(value: str) -> None:
    from telelake.config import load_settings
    from telelake.errors import UsageError
    from telelake.lake.storage import open_store

    for name in ("lake", "raw", "enriched"):
        with pytest.raises(UsageError, match="s3://bucket/prefix"):
            load_settings({name: value}, env={})
        with pytest.raises(UsageError):
            load_settings({}, env={f"TELELAKE_{name.upper()}": value})
    with pytest.raises(UsageError):
        open_store(value)


@pytest.mark.parametrize("port", ["99999", "0", "-1", "65536"])
def test_an_invalid_port_is_a_usage_error(port: str, tmp_path: Path) -> None:
    for command in ("serve", "run"):
        result = telelake(command, "--port", port, "--lake", str(tmp_path / "lake"),
                          env={"TELEGRAM_BOT_TOKEN": TOKEN})  # fmt: skip
        assert "--port" in _one_error_line(result, 2)
        assert "listening" not in result.stderr


def test_a_port_in_use_fails_before_listening_with_exit_1(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = telelake("serve", "--port", port, "--lake", str(tmp_path / "lake"),
                          env={"TELELAKE_WEBHOOK_SECRET": "a-fine-secret-123"})  # fmt: skip
    line = _one_error_line(result, 1)
    assert "address already in use" in line and port in line
    assert "listening" not in result.stderr


@pytest.mark.parametrize(
    ("how", "env"),
    [
        (["--secret", ""], {}),
        (["--secret", " "], {}),
        (["--secret", "has space"], {}),
        (["--secret", "ünïcode-secret"], {}),
        (["--secret", "x" * 257], {}),
        ([], {"TELELAKE_WEBHOOK_SECRET": ""}),
        ([], {"TELELAKE_WEBHOOK_SECRET": "semi;colon"}),
    ],
    ids=["empty", "space", "inner-space", "non-ascii", "257", "env-empty", "env-bad"],
)
def test_a_secret_outside_telegrams_rules_is_a_usage_error(
    how: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    result = telelake(
        "serve", "--host", "203.0.113.1", "--lake", str(tmp_path / "lake"), *how, env=env
    )
    line = _one_error_line(result, 2)
    assert "secret" in line
    assert "listening" not in result.stderr
    for value in [*how[1:], *env.values()]:
        if len(value) > 2:
            assert value not in result.stderr  # the value tried is never echoed


def test_secret_limits_are_telegrams() -> None:
    from telelake.config import secret_problem

    # setWebhook: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and - are allowed."
    assert secret_problem("a") is None
    assert secret_problem("A-z_09" + "x" * 250) is None  # 256
    assert secret_problem("x" * 257) is not None
    assert secret_problem("") is not None
    assert all(secret_problem(c) is not None for c in " +/=.:é")


def test_the_help_and_a_warning_steer_secrets_away_from_the_command_line(tmp_path: Path) -> None:
    shown = " ".join(telelake("serve", "--help").stdout.replace("│", " ").split())
    assert "Prefer TELELAKE_WEBHOOK_SECRET" in shown and "process list" in shown
    # 203.0.113.1 (TEST-NET-3) is no address of this machine: serve stops after the settings.
    serve = ("serve", "--host", "203.0.113.1", "--lake", str(tmp_path / "lake"))
    flag = telelake(*serve, "--secret", "a-fine-secret-123")
    assert flag.returncode == 1, flag.stderr
    assert "prefer TELELAKE_WEBHOOK_SECRET" in flag.stderr
    quiet = telelake(*serve, env={"TELELAKE_WEBHOOK_SECRET": "a-fine-secret-123"})
    assert quiet.returncode == 1, quiet.stderr
    assert "process list" not in quiet.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["etl"], "no raw layer at"),
        (["etl", "--all"], "no raw layer at"),
        (["etl", "--status"], "no raw layer at"),
        (["query", "SELECT 1"], "no enriched layer at"),
        (["report", "-q"], "no enriched layer at"),
    ],
)
def test_a_lake_that_does_not_exist_is_an_error(
    args: list[str], needle: str, tmp_path: Path
) -> None:
    result = telelake(*args, "--lake", str(tmp_path / "typo"))
    line = _one_error_line(result, 1)
    assert needle in line and "typo" in line
    assert not (tmp_path / "typo").exists()


def test_import_of_a_folder_or_a_broken_export_says_what_is_wrong(tmp_path: Path) -> None:
    export = tmp_path / "ChatExport_2026-11-29"
    export.mkdir()
    lake = str(tmp_path / "lake")
    line = _one_error_line(telelake("import", str(export), "--lake", lake), 2)
    assert "is a folder" in line and "no such file" not in line
    (export / "result.json").write_text('{"name": "G", "type": "private_group", "id": 1, "mess')
    line = _one_error_line(telelake("import", str(export), "--lake", lake), 2)
    assert f"import {export / 'result.json'}" in line  # it names the file inside
    line = _one_error_line(telelake("import", str(export / "result.json"), "--lake", lake), 2)
    assert "not a complete JSON export" in line and "unexpected" not in line
    (export / "result.json").write_bytes(b"\xff\xfe garbage")
    line = _one_error_line(telelake("import", str(export / "result.json"), "--lake", lake), 2)
    assert "not a complete JSON export" in line


def test_an_unwritable_html_folder_is_one_line(tmp_path: Path) -> None:
    lake = a_lake(tmp_path / "lake")
    for target in (tmp_path / "missing" / "r.html", tmp_path, Path("/proc/r.html")):
        result = telelake("report", "-q", "--lake", str(lake), "--html", str(target))
        line = _one_error_line(result, result.returncode)
        assert result.returncode in (1, 2)
        assert str(target) in line and "unexpected" not in line


def test_exit_codes_are_only_0_1_and_2(tmp_path: Path) -> None:
    assert telelake("no-such-command").returncode == 2
    assert telelake("etl", "--lake", str(a_lake(tmp_path / "lake"))).returncode == 0
    assert telelake("etl", "--lake", str(tmp_path / "nope")).returncode == 1

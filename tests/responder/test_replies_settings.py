"""Turning replies on, and the command menu, as an operator does it: flag, environment, file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from telelake.config import load_settings
from telelake.errors import ConfigError


def telelake(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    clean.update(env)
    return subprocess.run([sys.executable, "-m", "telelake", *args], capture_output=True,
                          text=True, cwd=cwd, env=clean, timeout=120)  # fmt: skip


def test_replies_are_off_by_default_and_on_by_flag_environment_or_file(tmp_path: Path) -> None:
    assert load_settings({}, env={}, config_file=None).replies is False
    assert load_settings({}, env={"TELELAKE_REPLIES": "1"}, config_file=None).replies is True
    toml = tmp_path / "telelake.toml"
    toml.write_text('replies = true\nforgetme = true\ndigest_at = "08:00"\nalert_joins = 7\n')
    from_file = load_settings({}, env={}, config_file=toml)
    assert (from_file.replies, from_file.forgetme, from_file.digest_at) == (True, True, "08:00")
    assert from_file.alert_joins == 7
    # The flag wins: `run --no-replies` over the environment.
    flagged = load_settings({"replies": False}, env={"TELELAKE_REPLIES": "1"}, config_file=None)
    assert flagged.replies is False


@pytest.mark.parametrize("value", ["-1", "many", "2.5"])
def test_a_bad_alert_threshold_is_one_clear_line(value: str) -> None:
    with pytest.raises(ConfigError, match="alert_joins from \\$TELELAKE_ALERT_JOINS"):
        load_settings({}, env={"TELELAKE_ALERT_JOINS": value}, config_file=None)


def test_run_with_replies_refuses_a_bad_digest_time_at_once(tmp_path: Path, fake: Any) -> None:
    result = telelake("run", "--replies", "--lake", str(tmp_path / "lake"), cwd=tmp_path,
                      env={"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.url,
                           "TELELAKE_DIGEST_AT": "25:00"})  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: digest_at must be a local time as HH:MM (24 h), e.g. 09:00; got '25:00'"
    ]


def test_commands_set_registers_the_three_menus(tmp_path: Path, fake: Any) -> None:
    env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.url}
    result = telelake("bot", "commands-set", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "default: /stats /top /me /words /help",
        "all_chat_administrators: /stats /top /me /words /help /digest /alerts",
        "all_private_chats: /me /help",
    ]
    menus = fake.commands()
    assert [c["command"] for c in menus["all_private_chats"]] == ["me", "help"]
    # With /forgetme allowed, private chats list it too.
    telelake("bot", "commands-set", cwd=tmp_path, env={**env, "TELELAKE_FORGETME": "1"})
    assert [c["command"] for c in fake.commands()["all_private_chats"]] == [
        "me",
        "help",
        "forgetme",
    ]
    assert fake.token.split(":")[1] not in result.stdout + result.stderr

"""``telelake bot …`` as a user runs it, against the fake Bot API server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fake_bot_api import FakeBotApi

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_KINDS = ["message", "edited_message", "channel_post", "edited_channel_post",
                 "my_chat_member"]  # fmt: skip


def telelake(
    fake: FakeBotApi, *args: str, cwd: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    clean.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.url,
                 PYTHONPATH=str(REPO_ROOT))  # fmt: skip
    clean.update(env)
    return subprocess.run([sys.executable, "-m", "telelake", *args], capture_output=True,
                          text=True, cwd=cwd, env=clean, timeout=60)  # fmt: skip


def test_me_says_who_the_bot_is_and_explains_privacy_mode(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    result = telelake(fake_api, "bot", "me", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "@fake_lake_bot" in result.stdout
    assert "privacy mode: on" in result.stdout and "/setprivacy" in result.stdout


def test_webhook_set_generates_a_secret_and_prints_it_once(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    result = telelake(fake_api, "bot", "webhook-set", "https://bot.example.org/webhook",
                      cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    sent = fake_api.state()["webhook"]
    assert sent["url"] == "https://bot.example.org/webhook"
    assert sent["allowed_updates"] == DEFAULT_KINDS
    secret = sent["secret_token"]
    assert len(secret) >= 40  # token_urlsafe(32): 256 bits
    assert result.stdout.count(secret) == 1
    assert f"TELELAKE_WEBHOOK_SECRET={secret}" in result.stdout
    assert secret not in result.stderr
    again = telelake(fake_api, "bot", "webhook-set", "https://bot.example.org/webhook",
                     cwd=tmp_path)  # fmt: skip
    assert fake_api.state()["webhook"]["secret_token"] != secret, "a fresh secret each time"
    assert again.returncode == 0


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--with-members"], [*DEFAULT_KINDS, "chat_member"]),
        (["--with-reactions"], [*DEFAULT_KINDS, "message_reaction", "message_reaction_count"]),
        (["--allowed-updates", "message,callback_query", "--with-members"],
         ["message", "callback_query", "chat_member"]),
    ],
)  # fmt: skip
def test_webhook_set_asks_for_what_the_flags_say(
    fake_api: FakeBotApi, tmp_path: Path, flags: list[str], expected: list[str]
) -> None:
    result = telelake(fake_api, "bot", "webhook-set", "https://h.example/x", *flags,
                      "--max-connections", "5", "--drop-pending", cwd=tmp_path,
                      TELELAKE_WEBHOOK_SECRET="configured-secret-1234")  # fmt: skip
    assert result.returncode == 0, result.stderr
    sent = fake_api.calls("setWebhook")[-1]["params"]
    assert sent["allowed_updates"] == expected
    assert sent["max_connections"] == 5 and sent["drop_pending_updates"] is True
    assert sent["secret_token"] == "configured-secret-1234"
    assert "configured-secret-1234" not in result.stdout


def test_webhook_info_and_delete(fake_api: FakeBotApi, tmp_path: Path) -> None:
    fake_api.set_webhook("https://bot.example.org/hook")
    info = telelake(fake_api, "bot", "webhook-info", cwd=tmp_path)
    assert info.returncode == 0 and "url: https://bot.example.org/hook" in info.stdout
    deleted = telelake(fake_api, "bot", "webhook-delete", cwd=tmp_path)
    assert deleted.returncode == 0 and "webhook deleted" in deleted.stdout
    assert fake_api.state()["webhook"] == {}


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["bot", "webhook-set", "ftp://x"], 2, "must start with https://"),
        (["bot", "webhook-set", "https://x", "--max-connections", "0"], 2, "between 1 and 100"),
        (["bot", "webhook-set", "https://x", "--allowed-updates", "Message!"], 2, "not an update"),
        (["poll", "--poll-timeout", "99"], 2, "between 0 and 50"),
    ],
)
def test_bad_options_are_one_line(
    fake_api: FakeBotApi, tmp_path: Path, args: list[str], code: int, needle: str
) -> None:
    result = telelake(fake_api, *args, cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code and len(lines) == 1 and needle in lines[0], result.stderr
    assert fake_api.calls("setWebhook") == []

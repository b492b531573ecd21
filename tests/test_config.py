"""Settings resolution (DESIGN §7): explicit > environment > telelake.toml > default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from telelake.config import Settings, load_settings
from telelake.errors import ConfigError
from telelake.redaction import redact


@pytest.fixture(autouse=True)
def clean_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder so a developer's ./telelake.toml is never read."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# name, env var, (explicit value, env text, toml literal), expected for each source, default
PRECEDENCE: list[tuple[str, str, tuple[Any, str, str], tuple[Any, Any, Any], Any]] = [
    ("lake", "TELELAKE_LAKE", ("/o", "/e", '"/f"'), ("/o", "/e", "/f"), "./lake"),
    ("raw", "TELELAKE_RAW", ("/o/r", "/e/r", '"/f/r"'), ("/o/r", "/e/r", "/f/r"), ""),
    (
        "enriched",
        "TELELAKE_ENRICHED",
        ("/o/e", "/e/e", '"/f/e"'),
        ("/o/e", "/e/e", "/f/e"),
        "",
    ),
    (
        "timezone",
        "TELELAKE_TIMEZONE",
        ("Asia/Tokyo", "Europe/Berlin", '"America/Sao_Paulo"'),
        ("Asia/Tokyo", "Europe/Berlin", "America/Sao_Paulo"),
        "UTC",
    ),
    (
        "chat_ids",
        "TELELAKE_CHAT_IDS",
        ([1, 2], "-100123,-100456", "[7, 8]"),
        (frozenset({1, 2}), frozenset({-100123, -100456}), frozenset({7, 8})),
        frozenset(),
    ),
    (
        "secret",
        "TELELAKE_WEBHOOK_SECRET",
        ("override-secret", "env-secret-xyz", '"file-secret-abc"'),
        ("override-secret", "env-secret-xyz", "file-secret-abc"),
        None,
    ),
    (
        "token",
        "TELEGRAM_BOT_TOKEN",
        ("111:override-token", "222:env-token", '"333:file-token"'),
        ("111:override-token", "222:env-token", "333:file-token"),
        None,
    ),
    (
        "api_url",
        "TELEGRAM_API_URL",
        ("http://o:1", "http://e:2", '"http://f:3"'),
        ("http://o:1", "http://e:2", "http://f:3"),
        "https://api.telegram.org",
    ),
    (
        "max_body",
        "TELELAKE_MAX_BODY",
        (4096, "8192", "16384"),
        (4096, 8192, 16384),
        1024 * 1024,
    ),
]


@pytest.mark.parametrize(
    ("name", "var", "given", "expected", "default"),
    PRECEDENCE,
    ids=[row[0] for row in PRECEDENCE],
)
@pytest.mark.parametrize("sources", ["", "f", "e", "ef", "o", "of", "oe", "oef"])
def test_precedence(
    tmp_path: Path,
    name: str,
    var: str,
    given: tuple[Any, str, str],
    expected: tuple[Any, Any, Any],
    default: Any,
    sources: str,
) -> None:
    explicit, env_text, toml_literal = given
    overrides = {name: explicit} if "o" in sources else {}
    env = {var: env_text} if "e" in sources else {}
    config = write_toml(tmp_path / "t.toml", f"{name} = {toml_literal}\n" if "f" in sources else "")

    settings = load_settings(overrides=overrides, env=env, config_file=config)

    winner = next((i for i, source in enumerate("oef") if source in sources), None)
    want = default if winner is None else expected[winner]
    assert getattr(settings, name) == want
    # Other settings keep their defaults.
    others = {f for f in Settings.__dataclass_fields__ if f != name}
    assert all(getattr(settings, f) == getattr(Settings(), f) for f in others)


def test_none_and_empty_overrides_do_not_hide_lower_sources(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "t.toml", 'timezone = "Asia/Tokyo"\nchat_ids = [5]\n')
    settings = load_settings(
        overrides={"timezone": None, "chat_ids": [], "lake": None},
        env={"TELELAKE_LAKE": "/from/env"},
        config_file=config,
    )
    assert (settings.timezone, settings.chat_ids, settings.lake) == (
        "Asia/Tokyo",
        frozenset({5}),
        "/from/env",
    )


def test_telelake_section_is_read(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "t.toml", '[telelake]\nlake = "/sectioned"\n')
    assert load_settings(env={}, config_file=config).lake == "/sectioned"


def test_layer_urls_follow_the_lake(tmp_path: Path) -> None:
    settings = load_settings(overrides={"lake": "/data/lake/"}, env={}, config_file=None)
    assert (settings.raw_url, settings.enriched_url) == ("/data/lake/raw", "/data/lake/enriched")
    split = load_settings(env={"TELELAKE_LAKE": "/x", "TELELAKE_RAW": "s3://bucket-a/raw"})
    assert (split.raw_url, split.enriched_url) == ("s3://bucket-a/raw", "/x/enriched")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-1001234567890", {-1001234567890}),
        (" 1, -2 ,,3 ", {1, -2, 3}),
        ("1,1", {1}),
        ("", set()),
    ],
)
def test_chat_ids_from_environment(value: str, expected: set[int]) -> None:
    assert load_settings(env={"TELELAKE_CHAT_IDS": value}).chat_ids == frozenset(expected)


@pytest.mark.parametrize(
    ("literal", "expected"), [("-100", {-100}), ("[1, -2]", {1, -2}), ('["3", 4]', {3, 4})]
)
def test_chat_ids_from_file(tmp_path: Path, literal: str, expected: set[int]) -> None:
    config = write_toml(tmp_path / "t.toml", f"chat_ids = {literal}\n")
    assert load_settings(env={}, config_file=config).chat_ids == frozenset(expected)


@pytest.mark.parametrize("value", ["abc", "1;2", "1,x", "0x10"])
def test_bad_chat_ids_from_environment(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TELELAKE_CHAT_IDS": value})
    assert "TELELAKE_CHAT_IDS" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("literal", ["true", "{a = 1}", '["x"]', "[[1]]"])
def test_bad_chat_ids_from_file(tmp_path: Path, literal: str) -> None:
    config = write_toml(tmp_path / "t.toml", f"chat_ids = {literal}\n")
    with pytest.raises(ConfigError):
        load_settings(env={}, config_file=config)


def test_unknown_toml_key_is_an_error(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "t.toml", 'lake = "/x"\ntimezon = "UTC"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, config_file=config)
    message = str(info.value)
    assert "timezon" in message and str(config) in message
    assert "\n" not in message


@pytest.mark.parametrize("text", ['lake = "unterminated\n', "lake = /x\n", "= 1\n"])
def test_invalid_toml_is_one_line(tmp_path: Path, text: str) -> None:
    config = write_toml(tmp_path / "t.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, config_file=config)
    assert str(config) in str(info.value)
    assert "\n" not in str(info.value).strip()


def test_wrong_type_in_toml(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "t.toml", "timezone = 5\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, config_file=config)
    assert "timezone" in str(info.value)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "utc+3", "../../etc/passwd", "", "Europe/"])
def test_bad_timezone_is_one_config_error_line(zone: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides={"timezone": zone}, env={})
    message = str(info.value)
    assert "\n" not in message
    assert repr(zone) in message


def test_bad_timezone_from_environment() -> None:
    with pytest.raises(ConfigError):
        load_settings(env={"TELELAKE_TIMEZONE": "Nowhere/Land"})


@pytest.mark.parametrize("value", ["abc", "100", "-5", "1.5"])
def test_bad_max_body(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TELELAKE_MAX_BODY": value})
    assert "max_body" in str(info.value)


def test_telelake_config_names_the_file(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "elsewhere.toml", 'lake = "/from/named/file"\n')
    assert load_settings(env={"TELELAKE_CONFIG": str(config)}).lake == "/from/named/file"


def test_config_argument_beats_telelake_config(tmp_path: Path) -> None:
    named = write_toml(tmp_path / "named.toml", 'lake = "/named"\n')
    given = write_toml(tmp_path / "given.toml", 'lake = "/given"\n')
    settings = load_settings(env={"TELELAKE_CONFIG": str(named)}, config_file=given)
    assert settings.lake == "/given"


def test_missing_telelake_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TELELAKE_CONFIG": str(tmp_path / "absent.toml")})
    assert "absent.toml" in str(info.value)


def test_telelake_toml_in_the_working_folder_is_read(clean_cwd: Path, tmp_path: Path) -> None:
    write_toml(clean_cwd / "telelake.toml", 'lake = "/from/cwd"\n')
    assert load_settings(env={}).lake == "/from/cwd"
    named = write_toml(tmp_path / "named.toml", 'lake = "/named"\n')
    assert load_settings(env={"TELELAKE_CONFIG": str(named)}).lake == "/named"


def test_loaded_secrets_are_redacted_whatever_their_shape() -> None:
    load_settings(
        env={
            "TELEGRAM_BOT_TOKEN": "not-a-standard-token-shape-91",
            "TELELAKE_WEBHOOK_SECRET": "webhook_secret_value_77",
        }
    )
    text = "token not-a-standard-token-shape-91 and secret webhook_secret_value_77."
    cleaned = redact(text)
    assert "not-a-standard-token-shape-91" not in cleaned
    assert "webhook_secret_value_77" not in cleaned
    assert cleaned.startswith("token ")

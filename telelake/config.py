"""One typed place for every setting, with one precedence rule.

explicit argument (a CLI flag, a test's dict) > environment > ``telelake.toml``
> default. Nothing else in the package reads ``os.environ`` for settings, so a
test can build any configuration by passing a dict and an empty environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telelake.errors import ConfigError
from telelake.redaction import register_secret

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_MAX_BODY = 1024 * 1024
CONFIG_FILE = "telelake.toml"

# setting name -> environment variable
ENV_VARS: dict[str, str] = {
    "lake": "TELELAKE_LAKE",
    "raw": "TELELAKE_RAW",
    "enriched": "TELELAKE_ENRICHED",
    "timezone": "TELELAKE_TIMEZONE",
    "chat_ids": "TELELAKE_CHAT_IDS",
    "secret": "TELELAKE_WEBHOOK_SECRET",
    "token": "TELEGRAM_BOT_TOKEN",
    "api_url": "TELEGRAM_API_URL",
    "max_body": "TELELAKE_MAX_BODY",
    "etl_at": "TELELAKE_ETL_AT",
    "pseudonymize": "TELELAKE_PSEUDONYMIZE",
    "pseudonym_key": "TELELAKE_PSEUDONYM_KEY",
    "pseudonym_key_file": "TELELAKE_PSEUDONYM_KEY_FILE",
    "report_password": "TELELAKE_REPORT_PASSWORD",
    "chromium": "TELELAKE_CHROMIUM",
}
BOOL_SETTINGS = frozenset({"pseudonymize"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build it with :func:`load_settings`."""

    lake: str = "./lake"
    raw: str = ""
    enriched: str = ""
    timezone: str = "UTC"
    chat_ids: frozenset[int] = field(default_factory=frozenset)
    secret: str | None = None
    token: str | None = None
    api_url: str = DEFAULT_API_URL
    max_body: int = DEFAULT_MAX_BODY
    # local time (HH:MM, in ``timezone``) of the daily ETL of ``telelake run``
    etl_at: str = "00:30"
    # enriched layer carries keyed pseudonyms instead of user ids and names
    pseudonymize: bool = False
    pseudonym_key: str | None = None
    pseudonym_key_file: str | None = None
    # password of the ``/report`` page served by ``serve``/``run``
    report_password: str | None = None
    # the Chromium that draws ``report --png`` (default: the system's, else Playwright's)
    chromium: str | None = None

    @property
    def raw_url(self) -> str:
        return self.raw or _join(self.lake, "raw")

    @property
    def enriched_url(self) -> str:
        return self.enriched or _join(self.lake, "enriched")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_token(self) -> str:
        if not self.token:
            raise ConfigError(
                "no bot token: set TELEGRAM_BOT_TOKEN (from @BotFather) or `token` in telelake.toml"
            )
        return self.token


def _join(root: str, name: str) -> str:
    return root.rstrip("/") + "/" + name


def _parse_chat_ids(value: Any, source: str) -> frozenset[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return frozenset({value})
    items: list[Any]
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise ConfigError(f"chat_ids from {source} must be a list of integers, got {value!r}")
    ids: set[int] = set()
    for item in items:
        if isinstance(item, bool | float):
            raise ConfigError(f"chat_ids from {source}: {item!r} is not an integer chat id")
        try:
            ids.add(int(item))
        except (TypeError, ValueError):
            raise ConfigError(
                f"chat_ids from {source}: {item!r} is not an integer chat id"
            ) from None
    return frozenset(ids)


def _parse_bool(name: str, value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} from {source} must be true or false, got {value!r}")


def _coerce(name: str, value: Any, source: str) -> Any:
    if name in BOOL_SETTINGS:
        return _parse_bool(name, value, source)
    if name == "chat_ids":
        return _parse_chat_ids(value, source)
    if name == "max_body":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"max_body from {source} must be a number of bytes") from None
        if number < 1024:
            raise ConfigError(f"max_body from {source} must be at least 1024 bytes")
        return number
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} from {source} must be a string, got {value!r}")
    return value


def read_config_file(path: Path) -> dict[str, Any]:
    """Read ``telelake.toml``; unknown keys are an error so typos do not pass silently."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    section = data.get("telelake", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [telelake] must be a table")
    unknown = sorted(set(section) - set(ENV_VARS))
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(ENV_VARS))}"
        )
    return dict(section)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Resolve settings: ``overrides`` > ``env`` > config file > defaults.

    ``overrides`` holds only what was given explicitly (``None`` values are
    ignored). ``env`` defaults to ``os.environ``. The config file is
    ``config_file`` if given, else ``$TELELAKE_CONFIG``, else ``./telelake.toml``
    when it exists.
    """
    environ = os.environ if env is None else env
    if config_file is None:
        named = environ.get("TELELAKE_CONFIG")
        if named:
            config_file = Path(named)
        elif Path(CONFIG_FILE).is_file():
            config_file = Path(CONFIG_FILE)
    from_file = read_config_file(config_file) if config_file else {}

    values: dict[str, Any] = {}
    for name, var in ENV_VARS.items():
        explicit = (overrides or {}).get(name)
        if explicit is not None and explicit != () and explicit != []:
            values[name] = _coerce(name, explicit, "the command line")
        elif environ.get(var):
            values[name] = _coerce(name, environ[var], f"${var}")
        elif name in from_file:
            values[name] = _coerce(name, from_file[name], str(config_file))
    settings = Settings(**values)
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {settings.timezone!r}: use an IANA name such as "
            "'Europe/Berlin' or 'America/Sao_Paulo'"
        ) from None
    register_secret(settings.secret)
    register_secret(settings.token)
    register_secret(settings.pseudonym_key)
    register_secret(settings.report_password)
    return settings

"""One typed place for every setting, with one precedence rule.

explicit argument (a CLI flag, a test's dict) > environment > ``telelake.toml``
> default. Nothing else in the package reads ``os.environ`` for settings, so a
test can build any configuration by passing a dict and an empty environment.

A value that cannot work is refused here, with one line naming where it came
from, whatever the source: a layer that looks like a URL but is not a folder,
``file://…`` or ``s3://bucket[/prefix]`` (:func:`layer_problem`), and a webhook
secret outside Telegram's rules (:func:`secret_problem`). Those are usage
errors (exit 2); an empty secret or report password is one too, never "none".
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telelake.errors import ConfigError, UsageError
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
    "etl_queue_url": "TELELAKE_ETL_QUEUE_URL",
    "compact_after": "TELELAKE_COMPACT_AFTER",
    "replies": "TELELAKE_REPLIES",
    "forgetme": "TELELAKE_FORGETME",
    "me_in_group": "TELELAKE_ME_IN_GROUP",
    "digest_at": "TELELAKE_DIGEST_AT",
    "alert_joins": "TELELAKE_ALERT_JOINS",
    "responder_queue_url": "TELELAKE_RESPONDER_QUEUE_URL",
}
BOOL_SETTINGS = frozenset({"pseudonymize", "replies", "forgetme", "me_in_group"})
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
    # SQS queue the ETL Lambda posts to when its time runs out with dates left
    # (the queue invokes it again); set by the SAM template
    etl_queue_url: str | None = None
    # raw days older than this many days (in ``timezone``) are packed into one
    # segment each by ``run``'s daily ETL, the ETL Lambda and ``telelake compact``
    compact_after: int = 3
    # the bot answers commands in chats, posts digests and alerts (off: it only listens)
    replies: bool = False
    # people may erase themselves with /forgetme in a private chat with the bot
    forgetme: bool = False
    # /me from someone who never started the bot is answered in the group
    me_in_group: bool = True
    # local time (HH:MM, in ``timezone``) the digests are posted
    digest_at: str = "09:00"
    # default alert threshold: more joins than this within 10 minutes (0: no alerts)
    alert_joins: int = 20
    # SQS queue the ingest Lambda hands commands to (set by the SAM template)
    responder_queue_url: str | None = None

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


def _parse_days(value: Any, source: str) -> int:
    text = str(value).strip()
    # bool is an int to Python, not a number of days to a person.
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
        raise ConfigError(f"compact_after from {source} must be a whole number of days (0 or more)")
    return int(text)


# Telegram's setWebhook: "secret_token ... 1-256 characters. Only characters
# A-Z, a-z, 0-9, _ and - are allowed."
SECRET_ALPHABET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")
# S3 bucket naming rules: 3-63 characters, lower-case letters, digits, dots and
# hyphens, beginning and ending with a letter or digit, no two dots in a row.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
LAYER_SETTINGS = frozenset({"lake", "raw", "enriched"})
# Set to an empty value, these mean a mistake, never "none".
_NEVER_EMPTY = frozenset({"secret", "report_password"})


def layer_problem(location: str) -> str | None:
    """Why ``location`` is not a layer telelake can open (``None``: it is one).

    A folder path, ``file://path`` or ``s3://bucket[/prefix]``. Anything else
    that starts like a URL (``s3:/b``, ``S3://b``, ``s3://``, ``http://…``)
    is a mistake, never a folder of that name.
    """
    if not location.strip():
        return "it is empty"
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not _BUCKET.fullmatch(bucket) or ".." in bucket:
            return (
                f"{bucket!r} is not an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')"
                if bucket
                else "it names no bucket"
            )
        if "//" in ("/" + prefix).rstrip("/"):
            return "its prefix has an empty folder ('//')"
        if any(ord(c) < 32 for c in prefix):
            return "its prefix holds control characters"
        return None
    if location.startswith("file://"):
        return None if location[len("file://") :] else "it names no folder"
    if _SCHEME.match(location):
        return "it looks like a URL but is neither s3://bucket[/prefix] nor a folder"
    return None


def check_layer(location: str, what: str = "layer") -> str:
    """``location``, or a :class:`UsageError` saying why it cannot be a layer."""
    problem = layer_problem(location)
    if problem is not None:
        raise UsageError(
            f"{what} {location!r}: {problem}; use a folder (./lake) or s3://bucket/prefix"
        )
    return location


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` cannot be a webhook secret token (``None``: it can)."""
    if not secret:
        return "it is empty (unset it to run without a secret)"
    if not SECRET_ALPHABET.fullmatch(secret):
        found = f"it is {len(secret)} long" if len(secret) > 256 else "it holds others"
        return f"Telegram accepts 1-256 characters of A-Z a-z 0-9 _ - only, and {found}"
    return None


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
    if name == "compact_after":
        return _parse_days(value, source)
    if name == "alert_joins":
        text = str(value).strip()
        if isinstance(value, bool) or not (text.isascii() and text.isdigit()):
            raise ConfigError(f"alert_joins from {source} must be a whole number (0: no alerts)")
        return int(text)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} from {source} must be a string, got {value!r}")
    if name in LAYER_SETTINGS:
        check_layer(value, f"{name} from {source}:")
    elif name == "secret" and (problem := secret_problem(value)) is not None:
        raise UsageError(f"webhook secret from {source}: {problem}")
    elif name in _NEVER_EMPTY and not value:
        raise UsageError(f"{name} from {source} is empty: unset it or give it a value")
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
        elif name in _NEVER_EMPTY and var in environ:
            values[name] = _coerce(name, environ[var], f"${var}")  # set but empty: refused
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

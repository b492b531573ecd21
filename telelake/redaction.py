"""Keeps the bot token out of everything telelake prints or stores.

Bot API URLs embed the token (``/bot<id>:<secret>/getMe``), and HTTP
libraries happily log URLs and put them into exception messages. Every
message that leaves the process goes through :func:`redact`, and
:func:`install_log_redaction` adds a filter to the root logger so that third
party loggers (httpx, uvicorn) are covered too.

Every form a secret takes on its way out is redacted: a token raw, with its
colon percent-encoded (``%3A`` or ``%3a``, as a client that quotes the path
writes it), and its part after the colon alone (an error quoting a split
URL); any registered secret raw and percent-encoded in either case. Secrets
of any length: one of 8 characters or more wherever it appears, a shorter one
(Telegram allows a webhook secret of 1) wherever it stands alone, not inside
a longer word, so that "ok" in "token" stays readable.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, quote_plus

# A token is "<bot id>:<35 url-safe characters>" (the length has grown over
# the years, so accept 30+). With or without the "bot" prefix of API URLs,
# and whatever stands before it ("xbot<token>" in a mangled URL too); the
# colon may be percent-encoded.
_TOKEN = re.compile(r"(bot)?(?<!\d)(\d{5,})(:|%3[aA])[A-Za-z0-9_-]{30,}")
# Below this length a secret is redacted only where it stands alone.
_ANYWHERE = 8
# Characters that continue a word around a short secret (Telegram's secret alphabet).
_WORD = "A-Za-z0-9_-"

_extra_secrets: set[str] = set()
_short_secrets: set[str] = set()
_short_pattern: re.Pattern[str] | None = None


def _forms(value: str) -> set[str]:
    """``value`` as it may be written: raw and percent-encoded (upper or lower hex)."""
    quoted = quote(value, safe="")
    lower = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quoted)
    return {value, quoted, lower, quote_plus(value, safe="")}


def register_secret(value: str | None) -> None:
    """Also redact this string, in every form (a webhook secret, a password, a token).

    A token also registers its part after the colon, which identifies it alone.
    """
    global _short_pattern
    if not value:
        return
    values = {value}
    bot_id, colon, part = value.partition(":")
    if colon and bot_id.isdigit() and len(part) >= _ANYWHERE:
        values.add(part)
    for form in set().union(*(_forms(v) for v in values)):
        if len(form) >= _ANYWHERE:
            _extra_secrets.add(form)
        elif form not in _short_secrets:
            _short_secrets.add(form)
            alternatives = "|".join(re.escape(s) for s in sorted(_short_secrets, key=len)[::-1])
            _short_pattern = re.compile(f"(?<![{_WORD}])(?:{alternatives})(?![{_WORD}])")


def redact(text: str) -> str:
    """Return ``text`` with every bot token and registered secret replaced."""
    text = _TOKEN.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}{m.group(3)}<redacted>", text)
    # Longest first: a secret's encoded form may contain the raw one.
    for secret in sorted(_extra_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "<redacted>")
    if _short_pattern is not None:
        text = _short_pattern.sub("<redacted>", text)
    return text


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:
        return  # a bad format string: the handler reports it, as logging does
    cleaned = redact(message)
    if cleaned != message or record.args:
        record.msg = cleaned
        record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        # Format the traceback now, redacted, so handlers print that text.
        formatter = logging.Formatter()
        record.exc_text = redact(formatter.formatException(record.exc_info))
        record.exc_info = None


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


_factory_installed = False


def install_log_redaction() -> None:
    """Redact every log record as it is created, and at every root handler.

    The record factory covers handlers added later (by a library, or by a
    user's logging config) and loggers that do not propagate to the root; the
    handler filter covers records built by code that bypasses the factory.
    """
    global _factory_installed
    if not _factory_installed:
        base = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = base(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())

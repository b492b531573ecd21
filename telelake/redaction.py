"""Keeps the bot token out of everything telelake prints or stores.

Bot API URLs embed the token (``/bot<id>:<secret>/getMe``), and HTTP
libraries happily log URLs and put them into exception messages. Every
message that leaves the process goes through :func:`redact`, and
:func:`install_log_redaction` adds a filter to the root logger so that third
party loggers (httpx, uvicorn) are covered too.
"""

from __future__ import annotations

import logging
import re

# A token is "<bot id>:<35 url-safe characters>" (the length has grown over
# the years, so accept 30+). With or without the "bot" prefix of API URLs,
# and whatever stands before it ("xbot<token>" in a mangled URL too).
_TOKEN = re.compile(r"(bot)?(?<!\d)(\d{5,}):[A-Za-z0-9_-]{30,}")

_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Also redact this exact string (a webhook secret, a token of any shape)."""
    if value and len(value) >= 8:
        _extra_secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every bot token and registered secret replaced."""
    text = _TOKEN.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}:<redacted>", text)
    for secret in _extra_secrets:
        if secret in text:
            text = text.replace(secret, "<redacted>")
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

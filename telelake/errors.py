"""The one exception tree of telelake.

Every failure a user can meet is a ``TelelakeError``; adapters (CLI, webhook,
Lambda) translate it into an exit code or an HTTP status, so the core never
prints or exits. Each class says whether trying again can help:

    TelelakeError                 root; ``retryable`` says whether to try again
    ├── ConfigError               bad or missing setting (terminal)
    ├── UsageError                bad input from the user, e.g. a malformed date (terminal)
    ├── StorageError              the lake could not be read or written (retryable)
    ├── BadUpdateError            a request body that is not a Telegram update (terminal)
    │   └── BodyTooLargeError     over the body limit (terminal)
    ├── RawObjectError            one raw object the ETL cannot use (terminal, set aside)
    └── QueryError                SQL that the engine rejects (terminal)

Messages carry the ids a user needs (date, key, update_id). They pass
through :func:`telelake.redaction.redact` before anyone sees them.
"""

from __future__ import annotations


class TelelakeError(Exception):
    """Root of all telelake errors."""

    retryable: bool = False

    def __str__(self) -> str:
        # Imported here: redaction is a bottom-layer module too, and the
        # late import keeps this module importable on its own.
        from telelake.redaction import redact

        return redact(super().__str__())


class ConfigError(TelelakeError):
    """A setting is missing or invalid; fix the configuration and run again."""


class UsageError(TelelakeError):
    """The user's input (an argument, a date, a file) is invalid."""


class StorageError(TelelakeError):
    """Reading or writing the lake failed; the operation may succeed later."""

    retryable = True


class BadUpdateError(TelelakeError):
    """A webhook body that is not a well-formed Telegram update."""

    status_code = 400


class BodyTooLargeError(BadUpdateError):
    """A webhook body larger than the configured limit."""

    status_code = 413


class RawObjectError(TelelakeError):
    """A raw object that the ETL cannot turn into rows; it is set aside, never fatal."""


class QueryError(TelelakeError):
    """SQL that could not be translated or run."""

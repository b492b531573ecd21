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
    ├── QueryError                SQL that the engine rejects (terminal)
    ├── WorkerError               an ETL worker process died (retryable)
    └── BotApiError               the Bot API answered ok=false (terminal)
        ├── TokenRejectedError    401: the token is wrong or revoked
        ├── WebhookActiveError    409 on getUpdates: a webhook is set
        ├── OtherPollerError      409 on getUpdates: another process polls the same bot
        └── BotApiUnavailableError  network errors, 5xx, 429 after the retries (retryable)

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


class QueryError(TelelakeError):
    """SQL that could not be translated or run."""


class WorkerError(TelelakeError):
    """An ETL worker process ended without answering (killed, out of memory, failed to
    start); the dates it held stay changed, so another run builds them."""

    retryable = True


class BotApiError(TelelakeError):
    """The Bot API answered ``ok: false``; ``error_code`` and ``method`` say which call."""

    def __init__(self, message: str, *, method: str = "", error_code: int | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.error_code = error_code


class TokenRejectedError(BotApiError):
    """401 Unauthorized: the token is not a valid bot token."""


class WebhookActiveError(BotApiError):
    """409 on getUpdates because a webhook is set for the bot."""


class OtherPollerError(BotApiError):
    """409 on getUpdates because another getUpdates request took over."""


class BotApiUnavailableError(BotApiError):
    """Telegram could not be reached or kept failing; trying again later may work."""

    retryable = True

"""The bot token never leaks (DESIGN §3.8): text, URLs, error messages, logs and tracebacks."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telelake.errors import BadUpdateError, ConfigError, StorageError, TelelakeError
from telelake.redaction import RedactingFilter, install_log_redaction, redact

BOT_ID = "123456789"
SECRET_PART = "AAHk-examplesecretexamplesecret_ab1"  # 35 characters, as BotFather issues
TOKEN = f"{BOT_ID}:{SECRET_PART}"
LONG_TOKEN = "123456789:AAHk-examplesecretexamplesecret_abc12"  # tokens grow over time
API_URL = f"https://api.telegram.org/bot{TOKEN}/getMe"


def test_token_shape() -> None:
    assert len(SECRET_PART) == 35


@pytest.mark.parametrize(
    "text",
    [
        TOKEN,
        f"token is {TOKEN}.",
        f"TELEGRAM_BOT_TOKEN={TOKEN}",
        f'{{"token": "{TOKEN}"}}',
        API_URL,
        f"GET {API_URL}?offset=5 failed",
        f"https://api.telegram.org/file/bot{TOKEN}/photos/file_1.jpg",
        f"Client error '404 Not Found' for url '{API_URL}'",
        f"two: {TOKEN} and {TOKEN}\nsecond line {LONG_TOKEN}",
        f"({TOKEN})",
        f"bot{TOKEN}",
    ],
)
def test_tokens_are_redacted(text: str) -> None:
    cleaned = redact(text)
    assert SECRET_PART not in cleaned
    assert "examplesecret" not in cleaned


def test_redaction_keeps_the_rest_of_the_text() -> None:
    cleaned = redact(f"GET {API_URL} -> 401")
    assert cleaned.startswith("GET https://api.telegram.org/bot")
    assert cleaned.endswith("/getMe -> 401")


def test_ordinary_text_is_untouched() -> None:
    for text in ["update 815000001 at 12:30:45", "chat -1001234567890", "ratio 3:2", ""]:
        assert redact(text) == text


secret_chars = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    min_size=35,
    max_size=46,
)
separators = st.sampled_from([" ", "/", "/bot", "=", '"', "'", "\n", "(", ":", ",", "?x=", ""])


@given(
    bot_id=st.integers(min_value=10_000, max_value=99_999_999_999),
    secret=secret_chars,
    before=st.text(max_size=20),
    sep_before=separators,
    sep_after=st.sampled_from([" ", "/getMe", '"', "\n", ")", "", "?offset=1", "%"]),
    after=st.text(max_size=20),
)
def test_any_token_in_any_text_is_redacted(
    bot_id: int, secret: str, before: str, sep_before: str, sep_after: str, after: str
) -> None:
    # Whatever precedes the token ends in a separator, as it does in URLs and messages.
    text = f"{before} {sep_before}{bot_id}:{secret}{sep_after}{after}"
    assert secret not in redact(text)


def test_telelake_errors_are_redacted() -> None:
    for error in (
        StorageError(f"could not reach {API_URL}"),
        ConfigError(f"token {TOKEN} was refused"),
        BadUpdateError(TOKEN),
        TelelakeError(f"wrapped: {API_URL}"),
    ):
        assert SECRET_PART not in str(error)
        try:
            raise error
        except TelelakeError:
            printed = traceback.format_exc()
        assert SECRET_PART not in printed
        assert type(error).__name__ in printed


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("telelake.test_redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_log_messages_and_arguments_are_redacted(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logger.info(f"calling {API_URL}")
    logger.warning("calling %s with %r", API_URL, {"token": TOKEN})
    output = stream.getvalue()
    assert SECRET_PART not in output
    assert output.count("calling https://api.telegram.org/bot") == 2


def test_log_exception_traceback_is_redacted(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    def call_api(url: str) -> None:
        raise ConnectionError(f"cannot connect to {url}")

    try:
        call_api(API_URL)
    except ConnectionError:
        logger.exception("request to %s failed", API_URL)
    output = stream.getvalue()
    assert "Traceback (most recent call last)" in output
    assert "ConnectionError: cannot connect to https://api.telegram.org/bot" in output
    assert SECRET_PART not in output


def test_install_log_redaction_covers_third_party_loggers() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    third_party = logging.getLogger("httpx.test_redaction")
    old_level = third_party.level
    third_party.setLevel(logging.INFO)
    try:
        install_log_redaction()
        install_log_redaction()  # idempotent
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
        third_party.info('HTTP Request: POST %s "HTTP/1.1 200 OK"', API_URL)
        try:
            raise OSError(f"reset by peer while calling {API_URL}")
        except OSError:
            third_party.exception("failed")
    finally:
        root.removeHandler(handler)
        third_party.setLevel(old_level)
    output = stream.getvalue()
    assert "HTTP Request: POST https://api.telegram.org/bot" in output
    assert "OSError" in output
    assert SECRET_PART not in output


def test_a_handler_added_after_installation_is_covered_too() -> None:
    install_log_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("late.library")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("GET https://api.telegram.org/bot%s/getMe", TOKEN_FOR_LATE_HANDLER)
        logger.warning("bad format %d", "not a number")  # must not raise at the call
    finally:
        logger.removeHandler(handler)
    assert TOKEN_FOR_LATE_HANDLER.split(":")[1] not in stream.getvalue()
    assert "123456789:<redacted>" in stream.getvalue()


TOKEN_FOR_LATE_HANDLER = "123456789:" + "AAF" + "x" * 32

"""The Bot API client against a fake Telegram over real HTTP: semantics, retries, clear errors."""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING

import pytest
from fake_bot_api import TOKEN, make_update
from hypothesis import given
from hypothesis import strategies as st

from telelake.errors import (
    BotApiError,
    BotApiUnavailableError,
    OtherPollerError,
    TokenRejectedError,
    WebhookActiveError,
)
from telelake.telegram.botapi import (
    OTHER_POLLER,
    TOKEN_REJECTED,
    WEBHOOK_ACTIVE,
    BotApi,
    backoff_delay,
)

if TYPE_CHECKING:
    from fake_bot_api import FakeBotApi

SECRET_PART = TOKEN.split(":", 1)[1]


class Sleeps:
    """Records the waits the client asks for instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def client(fake: FakeBotApi, token: str = TOKEN, **kwargs: object) -> BotApi:
    return BotApi(token, fake.url, **kwargs)  # type: ignore[arg-type]


def test_get_me_uses_the_token_in_the_path(fake_api: FakeBotApi) -> None:
    with client(fake_api) as api:
        me = api.get_me()
    assert me["id"] == int(TOKEN.split(":")[0])
    assert me["username"] == "fake_lake_bot"
    calls = fake_api.calls("getMe")
    assert len(calls) == 1 and calls[0]["token_ok"]


def test_a_wrong_token_is_one_clear_line_without_the_token(fake_api: FakeBotApi) -> None:
    wrong = "987654321:AAwrongwrongwrongwrongwrongwrong_xyz"
    sleeps = Sleeps()
    with client(fake_api, token=wrong, sleep=sleeps) as api, pytest.raises(
        TokenRejectedError
    ) as caught:  # fmt: skip
        api.get_me()
    assert str(caught.value) == TOKEN_REJECTED
    assert wrong.split(":")[1] not in str(caught.value)
    assert not caught.value.retryable
    assert sleeps.delays == [], "a rejected token is not retried"


def test_429_waits_exactly_retry_after_then_succeeds(fake_api: FakeBotApi) -> None:
    fake_api.fail("getMe", 429, times=2, retry_after=7)
    sleeps = Sleeps()
    with client(fake_api, sleep=sleeps) as api:
        assert api.get_me()["is_bot"] is True
    assert sleeps.delays == [7.0, 7.0]
    assert len(fake_api.calls("getMe")) == 3


def test_5xx_is_retried_with_bounded_backoff(fake_api: FakeBotApi) -> None:
    fake_api.fail("getWebhookInfo", 502, times=3)
    sleeps = Sleeps()
    with client(fake_api, sleep=sleeps, backoff_base=0.5, backoff_cap=1.5) as api:
        info = api.get_webhook_info()
    assert info["url"] == ""
    assert len(sleeps.delays) == 3
    assert all(0 <= d <= 1.5 for d in sleeps.delays)


def test_persistent_5xx_gives_up_after_the_attempts_as_retryable(fake_api: FakeBotApi) -> None:
    fake_api.fail("getMe", 503, times=100)
    sleeps = Sleeps()
    with client(fake_api, sleep=sleeps, attempts=3) as api, pytest.raises(
        BotApiUnavailableError
    ) as caught:  # fmt: skip
        api.get_me()
    assert caught.value.retryable
    assert len(fake_api.calls("getMe")) == 3
    assert len(sleeps.delays) == 2
    assert SECRET_PART not in str(caught.value)
    assert "503" in str(caught.value)


def test_network_errors_are_retried_and_never_quote_the_url() -> None:
    sleeps = Sleeps()
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    api = BotApi(TOKEN, "http://127.0.0.1:9", sleep=sleeps, attempts=3)
    with api, pytest.raises(BotApiUnavailableError) as caught:
        api.get_me()
    assert len(sleeps.delays) == 2
    text = str(caught.value) + repr(caught.value.args)
    assert SECRET_PART not in text and "/bot" not in text
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_get_updates_offset_confirms_and_forgets(fake_api: FakeBotApi) -> None:
    fake_api.enqueue(make_update(i) for i in range(10, 15))
    with client(fake_api) as api:
        assert [u["update_id"] for u in api.get_updates()] == [10, 11, 12, 13, 14]
        # Not confirmed yet: asked again, the same updates come back.
        assert [u["update_id"] for u in api.get_updates(limit=2)] == [10, 11]
        assert [u["update_id"] for u in api.get_updates(offset=13)] == [13, 14]
        assert fake_api.state()["pending"] == [13, 14]
        assert api.get_updates(offset=15) == []
    assert fake_api.state()["confirmed"] == 15


def test_long_poll_returns_when_an_update_arrives(fake_api: FakeBotApi) -> None:
    def later() -> None:
        time.sleep(0.3)
        fake_api.enqueue([make_update(99)])

    sender = threading.Thread(target=later)
    sender.start()
    with client(fake_api) as api:
        updates = api.get_updates(timeout=20)
    sender.join()
    # Had the server not held the request, this would be empty.
    assert [u["update_id"] for u in updates] == [99]


def test_long_poll_times_out_empty(fake_api: FakeBotApi) -> None:
    started = time.monotonic()
    with client(fake_api) as api:
        assert api.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9


def test_polling_while_a_webhook_is_set_says_what_to_do(fake_api: FakeBotApi) -> None:
    fake_api.set_webhook("https://example.org/hook")
    with client(fake_api) as api, pytest.raises(WebhookActiveError) as caught:
        api.get_updates()
    assert str(caught.value) == WEBHOOK_ACTIVE
    assert "telelake bot webhook-delete" in str(caught.value)


def test_a_second_poller_ends_the_first_with_a_clear_error(fake_api: FakeBotApi) -> None:
    errors: list[BaseException] = []

    def first() -> None:
        with client(fake_api) as api:
            try:
                api.get_updates(timeout=10)
            except BotApiError as exc:
                errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    deadline = time.monotonic() + 5
    while not fake_api.calls("getUpdates") and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    with client(fake_api) as api:
        api.get_updates(timeout=0)
    thread.join(timeout=10)
    assert len(errors) == 1 and isinstance(errors[0], OtherPollerError)
    assert str(errors[0]) == OTHER_POLLER


def test_webhook_set_info_delete_round_trip(fake_api: FakeBotApi) -> None:
    fake_api.enqueue([make_update(1), make_update(2)])
    with client(fake_api) as api:
        assert api.set_webhook(
            "https://bot.example.org/webhook",
            secret_token="s3cr3t-token-value",
            allowed_updates=["message", "chat_member"],
            max_connections=7,
            ip_address="203.0.113.9",
        )
        info = api.get_webhook_info()
        assert info["url"] == "https://bot.example.org/webhook"
        assert info["allowed_updates"] == ["message", "chat_member"]
        assert info["max_connections"] == 7
        assert info["pending_update_count"] == 2
        assert fake_api.state()["webhook"]["secret_token"] == "s3cr3t-token-value"
        assert api.delete_webhook(drop_pending_updates=True)
        info = api.get_webhook_info()
    assert info["url"] == "" and info["pending_update_count"] == 0


def test_set_webhook_drop_pending(fake_api: FakeBotApi) -> None:
    fake_api.enqueue([make_update(5)])
    with client(fake_api) as api:
        api.set_webhook("https://bot.example.org/x", drop_pending_updates=True)
    assert fake_api.state()["pending"] == []
    assert fake_api.calls("setWebhook")[0]["params"]["drop_pending_updates"] is True


def test_a_refusal_names_the_method_and_telegrams_reason(fake_api: FakeBotApi) -> None:
    with client(fake_api) as api, pytest.raises(BotApiError) as caught:
        api.set_webhook("ftp://nope")
    assert "setWebhook" in str(caught.value) and "HTTPS URL" in str(caught.value)
    assert caught.value.error_code == 400


def test_a_malformed_token_fails_before_any_request() -> None:
    with pytest.raises(TokenRejectedError):
        BotApi("123/../x", "http://127.0.0.1:9")


@given(
    attempt=st.integers(min_value=0, max_value=60),
    base=st.floats(min_value=0.01, max_value=5),
    cap=st.floats(min_value=0.1, max_value=120),
    seed=st.integers(),
)
def test_backoff_is_bounded_and_never_negative(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    delay = backoff_delay(attempt, base, cap, random.Random(seed))
    assert 0 <= delay <= min(cap, base * 2**attempt)

"""Fixtures of the Bot API tests: a fake Telegram Bot API server on 127.0.0.1.

The server lives in ``fake_bot_api.py`` beside this file (importable from
here, and runnable on its own). Tests in other folders load it by path with
:func:`load_fake_bot_api` semantics (see their module headers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import fake_bot_api
import pytest

if TYPE_CHECKING:
    from fake_bot_api import FakeBotApi


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeBotApi]:
    """One fake server per module; use ``fake_api`` to get it reset."""
    with fake_bot_api.running_fake_bot_api() as fake:
        yield fake


@pytest.fixture
def fake_api(fake_server: FakeBotApi) -> FakeBotApi:
    """The module's fake server, emptied (no updates, webhook, failures or calls)."""
    fake_server.reset()
    return fake_server

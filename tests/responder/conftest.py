"""Fixtures of the responder tests: the fake Bot API, with the test group described."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fake_bot_api
import pytest
from responder_helpers import GROUP, OPENED, OTHER_GROUP


@pytest.fixture(autouse=True)
def close_responders() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()


@pytest.fixture
def fake() -> Iterator[Any]:
    with fake_bot_api.running_fake_bot_api() as server:
        server.set_chat(GROUP, admins=[{"id": 1, "first_name": "Olga", "status": "creator"},
                                       {"id": 2, "first_name": "Paulo"},
                                       {"id": 99, "first_name": "HelperBot", "is_bot": True}],
                        member_count=120)  # fmt: skip
        server.set_chat(OTHER_GROUP, admins=[{"id": 3, "first_name": "Rui", "status": "creator"}])
        yield server

"""Fuzzing ``serve`` over real HTTP: never a 5xx, never a partial or stray write.

Three kinds of body: arbitrary bytes, arbitrary JSON, and real update fixtures
(tests/events) with arbitrary extra fields at the top and inside the payload.
Every answer must be below 500 (a 5xx makes Telegram retry forever). A 2xx
must leave the exact bytes in the raw layer; anything else must leave the
lake untouched. Valid updates with extra fields are always taken.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from conftest import Server

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
EVENTS = {path.name: json.loads(path.read_bytes()) for path in sorted(EVENTS_DIR.glob("*.json"))}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_ids = itertools.count(800_000_000)

# Integers within 2**53: a valid update with extra fields must be taken by any parser.
json_values = strategies.json_values(
    max_int=2**53, max_text=40, max_items=5, max_key=10, max_leaves=25
)
extra_fields = strategies.extra_fields(json_values, max_key=12)


@pytest.fixture(scope="module")
def served(
    serve_webhook_module: Callable[..., Server], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Server, Path]:
    lake = tmp_path_factory.mktemp("fuzz-lake")
    return serve_webhook_module(lake), lake


def files(lake: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for folder, _dirs, names in os.walk(lake):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, lake)] = handle.read()
    return found


def check(served: tuple[Server, Path], body: bytes, must_take: bool = False) -> None:
    server, lake = served
    before = files(lake)
    response = server.post(body)
    assert response.status_code < 500, (response.status_code, response.text, body[:200])
    added = {key: data for key, data in files(lake).items() if key not in before}
    if 200 <= response.status_code < 300:
        objects = [data for key, data in added.items() if key.startswith("raw/telegram/")]
        if response.json()["outcome"] in ("stored", "conflict"):
            assert objects == [body], "the stored object is not exactly the body"
        else:
            assert objects == []
        # Besides the object, at most the empty marker of a newly changed date.
        assert all(data == b"" for key, data in added.items() if "/_telelake/dirty/" in key)
    else:
        assert not must_take, (response.status_code, response.text, body[:200])
        assert added == {}, "a refused body left files behind"


@FUZZ
@given(body=st.binary(max_size=3000))
def test_arbitrary_bytes(served: tuple[Server, Path], body: bytes) -> None:
    check(served, body)


@FUZZ
@given(value=json_values, ascii_only=st.booleans())
def test_arbitrary_json(served: tuple[Server, Path], value: Any, ascii_only: bool) -> None:
    check(served, json.dumps(value, ensure_ascii=ascii_only).encode())


@FUZZ
@given(
    name=st.sampled_from(sorted(EVENTS)),
    top=extra_fields,
    inner=extra_fields,
    ascii_only=st.booleans(),
)
def test_valid_updates_with_extra_fields_are_taken(
    served: tuple[Server, Path],
    name: str,
    top: dict[str, Any],
    inner: dict[str, Any],
    ascii_only: bool,
) -> None:
    update = json.loads(json.dumps(EVENTS[name]))
    update["update_id"] = next(_ids)
    kind = next(key for key in update if key != "update_id")
    if isinstance(update[kind], dict):
        update[kind].update({k: v for k, v in inner.items() if k not in update[kind]})
    update.update({k: v for k, v in top.items() if k not in update})
    check(served, json.dumps(update, ensure_ascii=ascii_only).encode(), must_take=True)

"""The ingest core in-process: any bytes in, a Receipt or a BadUpdateError out, nothing else.

Hypothesis throws arbitrary bytes, arbitrary JSON and valid updates with
arbitrary extra fields at :meth:`Ingestor.accept` on a real folder. The
partition each update should land in is computed here from DESIGN §4.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telelake.config import Settings
from telelake.errors import BadUpdateError, BodyTooLargeError, StorageError
from telelake.ingest import receiver
from telelake.ingest.core import MAX_DEPTH, Ingestor, Receipt
from telelake.ingest.receiver import secret_matches
from telelake.lake.changes import dirty_dates
from telelake.lake.storage import LocalStore

NOW = datetime(2024, 11, 29, 12, 0, tzinfo=UTC).timestamp()
GROUP = -1001234567890
MESSAGE_KINDS = ["message", "edited_message", "channel_post", "edited_channel_post"]
ZONES = ["UTC", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Kiritimati", "Pacific/Pago_Pago"]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def files_below(root: Path) -> dict[str, bytes]:
    """Every file (dot-files too) with its bytes: a write of any kind changes this."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def make_ingestor(
    lake: Path, zone: str = "UTC", chat_ids: frozenset[int] = frozenset(), max_body: int = 1 << 20
) -> Ingestor:
    config = Settings(lake=str(lake), timezone=zone, chat_ids=chat_ids, max_body=max_body)
    return Ingestor(config, LocalStore(config.raw_url), clock=lambda: NOW)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("core-lake")


@pytest.fixture(scope="module")
def ingestor(lake: Path) -> Ingestor:
    return make_ingestor(lake)


def accept_checked(ingestor: Ingestor, lake: Path, body: bytes) -> Receipt | None:
    """Accept ``body``; enforce the two allowed outcomes and what each implies on disk."""
    before = files_below(lake)
    try:
        receipt = ingestor.accept(body)
    except BadUpdateError:
        assert files_below(lake) == before, "a refused body wrote something"
        return None
    assert isinstance(receipt, Receipt)
    if receipt.outcome == "filtered":
        assert receipt.key is None
        assert files_below(lake) == before
    else:
        assert receipt.key is not None
        assert ingestor.store.read(receipt.key) == body
    return receipt


# --- fuzz ------------------------------------------------------------------------------

# Integers beyond 64 bits too: the core must refuse or keep them, never crash.
json_values = strategies.json_values(
    max_int=2**70, max_text=20, max_items=4, max_key=8, max_leaves=20
)


@FUZZ
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes(ingestor: Ingestor, lake: Path, body: bytes) -> None:
    accept_checked(ingestor, lake, body)


@FUZZ
@given(
    value=json_values
    | st.dictionaries(st.text(max_size=8), json_values, max_size=3).map(
        lambda d: {"update_id": d.pop("update_id", 1), **d}
    )
    | st.builds(lambda uid, rest: {"update_id": uid, **rest}, json_values, st.just({})),
    ascii_only=st.booleans(),
)
def test_arbitrary_json(ingestor: Ingestor, lake: Path, value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    receipt = accept_checked(ingestor, lake, body)
    is_update = (
        isinstance(value, dict)
        and type(value.get("update_id")) is int
        and -(2**63) <= value["update_id"] < 2**64
        and _depth(value) <= MAX_DEPTH
    )
    if receipt is None:
        assert not is_update, value
    else:
        assert is_update and receipt.update_id == value["update_id"]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _expected_day(payload: dict[str, Any], zone: str) -> date:
    when = payload.get("date")
    if isinstance(when, int) and not isinstance(when, bool) and when > 0:
        return datetime.fromtimestamp(when, ZoneInfo(zone)).date()
    return datetime.fromtimestamp(NOW, ZoneInfo(zone)).date()


extra_fields = strategies.extra_fields(
    json_values, max_key=10, reserved=frozenset({"date", "chat", "update_id"})
)
dates = st.none() | st.integers(min_value=-(2**31), max_value=2**34)


@FUZZ
@given(
    update_id=st.integers(min_value=0, max_value=2**53),
    kind=st.sampled_from([*MESSAGE_KINDS, "chat_member", "message_reaction", "brand_new_kind"]),
    when=dates,
    zone=st.sampled_from(ZONES),
    extra=extra_fields,
    top_extra=extra_fields,
    pretty=st.booleans(),
)
def test_valid_updates_with_extra_fields_are_stored_exactly(
    lake: Path,
    update_id: int,
    kind: str,
    when: int | None,
    zone: str,
    extra: dict[str, Any],
    top_extra: dict[str, Any],
    pretty: bool,
) -> None:
    payload: dict[str, Any] = {"chat": {"id": GROUP, "type": "supergroup"}, **extra}
    if when is not None:
        payload["date"] = when
    top_extra.pop(kind, None)
    data = {"update_id": update_id, kind: payload, **top_extra}
    body = json.dumps(data, indent=2 if pretty else None, ensure_ascii=False).encode()

    # A lake is partitioned in one zone (lake/manifest.py): one lake per zone.
    lake = lake / zone.replace("/", "-")
    receipt = accept_checked(make_ingestor(lake, zone), lake, body)
    assert receipt is not None
    assert receipt.outcome in {"stored", "duplicate", "conflict"}
    day = _expected_day(payload, zone)
    assert receipt.key is not None
    assert receipt.key.startswith(f"telegram/context_date={day.isoformat()}/{update_id}.")
    assert receipt.key.endswith(".json")
    if receipt.outcome == "stored":
        assert receipt.key == f"telegram/context_date={day.isoformat()}/{update_id}.json"
    assert day in dirty_dates(LocalStore(lake / "raw"))


@pytest.mark.parametrize("when", [10**12, 253402300800, 2**63 + 5, 253402300799])
def test_date_out_of_range_is_a_receipt_or_bad_update(tmp_path: Path, when: int) -> None:
    body = json.dumps({"update_id": 1, "message": {"chat": {"id": 1}, "date": when}}).encode()
    accept_checked(make_ingestor(tmp_path, "Pacific/Kiritimati"), tmp_path, body)


# --- deterministic cases ---------------------------------------------------------------


def _nested(depth: int) -> bytes:
    """An update whose containers (the top object included) nest ``depth`` levels."""
    inner = b"[" * (depth - 2) + b"]" * (depth - 2)
    return b'{"update_id": 7, "message": {"x": ' + inner + b"}}"


def test_depth_limit_boundary(tmp_path: Path) -> None:
    ingestor = make_ingestor(tmp_path)
    assert accept_checked(ingestor, tmp_path, _nested(MAX_DEPTH)) is not None
    assert accept_checked(ingestor, tmp_path, _nested(MAX_DEPTH + 1)) is None
    assert accept_checked(ingestor, tmp_path, b"[" * 200_000 + b"]" * 200_000) is None


def test_body_limit(tmp_path: Path) -> None:
    ingestor = make_ingestor(tmp_path, max_body=2048)
    head = b'{"update_id": 3, "message": {"text": "'
    fits = head + b"a" * (2048 - len(head) - 3) + b'"}}'
    assert len(fits) == 2048
    assert accept_checked(ingestor, tmp_path, fits) is not None
    with pytest.raises(BodyTooLargeError):
        ingestor.accept(fits[:-3] + b'a"}}')


def test_outcomes_duplicate_and_conflict(tmp_path: Path) -> None:
    ingestor = make_ingestor(tmp_path)
    first = b'{"update_id": 10, "message": {"date": 1718452800, "text": "a"}}'
    second = b'{"update_id": 10, "message": {"date": 1718452800, "text": "b"}}'
    stored = ingestor.accept(first)
    again = ingestor.accept(first)
    other = ingestor.accept(second)
    other_again = ingestor.accept(second)
    assert (stored.outcome, again.outcome) == ("stored", "duplicate")
    assert stored.key == again.key == "telegram/context_date=2024-06-15/10.json"
    assert other.outcome == "conflict" and other.key not in (None, stored.key)
    assert other_again.key == other.key
    store = LocalStore(tmp_path / "raw")
    assert store.read("telegram/context_date=2024-06-15/10.json") == first
    assert sorted(store.read(k) for k in store.list("telegram")) == [first, second]


def test_no_date_uses_receipt_time_in_zone(tmp_path: Path) -> None:
    ingestor = make_ingestor(tmp_path, "Asia/Tokyo")
    received = datetime(2024, 3, 9, 16, 30, tzinfo=UTC).timestamp()  # 01:30 on the 10th in Tokyo
    receipt = ingestor.accept(b'{"update_id": 11, "inline_query": {"id": "q"}}', received)
    assert receipt.key == "telegram/context_date=2024-03-10/11.json"
    receipt = ingestor.accept(b'{"update_id": 12, "message": {"date": 0}}', received)
    assert receipt.key == "telegram/context_date=2024-03-10/12.json"


def test_chat_filter(tmp_path: Path) -> None:
    ingestor = make_ingestor(tmp_path, chat_ids=frozenset({GROUP}))
    kept = [
        b'{"update_id": 1, "message": {"chat": {"id": %d}, "date": 1}}' % GROUP,
        b'{"update_id": 2, "callback_query": {"id": "c", "message": {"chat": {"id": %d}}}}' % GROUP,
        b'{"update_id": 3, "message_reaction": {"chat": {"id": %d}, "date": 5}}' % GROUP,
    ]
    dropped = [
        b'{"update_id": 4, "message": {"chat": {"id": 5}, "date": 1}}',
        b'{"update_id": 5, "inline_query": {"id": "q", "query": "x"}}',
        b'{"update_id": 6, "message": {"chat": {"id": "%d"}, "date": 1}}' % GROUP,
        b'{"update_id": 7}',
    ]
    for body in kept:
        receipt = accept_checked(ingestor, tmp_path, body)
        assert receipt is not None and receipt.outcome == "stored", body
    for body in dropped:
        receipt = accept_checked(ingestor, tmp_path, body)
        assert receipt is not None and receipt.outcome == "filtered", body
    assert len(LocalStore(tmp_path / "raw").list("telegram")) == len(kept)


def test_refused_and_filtered_leave_no_dirty_marker(tmp_path: Path) -> None:
    ingestor = make_ingestor(tmp_path, chat_ids=frozenset({1}))
    with pytest.raises(BadUpdateError):
        ingestor.accept(b'{"update_id": "1", "message": {"chat": {"id": 1}, "date": 1}}')
    ingestor.accept(b'{"update_id": 1, "message": {"chat": {"id": 2}, "date": 1}}')
    assert dirty_dates(LocalStore(tmp_path / "raw")) == []
    ingestor.accept(b'{"update_id": 1, "message": {"chat": {"id": 1}, "date": 1718452800}}')
    assert dirty_dates(LocalStore(tmp_path / "raw")) == [date(2024, 6, 15)]


def test_storage_failure_raises_storage_error(tmp_path: Path) -> None:
    (tmp_path / "raw").write_text("not a folder")
    with pytest.raises(StorageError):
        make_ingestor(tmp_path).accept(b'{"update_id": 1, "message": {"date": 1}}')


# --- the secret check ------------------------------------------------------------------


def test_secret_matches_cases() -> None:
    assert secret_matches(None, None)
    assert secret_matches(None, "anything")
    assert secret_matches("s3cr3t-token", "s3cr3t-token")
    assert not secret_matches("s3cr3t-token", None)
    assert not secret_matches("s3cr3t-token", "")
    assert not secret_matches("s3cr3t-token", "s3cr3t-tokeN")
    assert not secret_matches("s3cr3t-token", "s3cr3t")
    assert not secret_matches("s3cr3t-token", "s3cr3t-token ")
    assert not secret_matches("s3cr3t-token", "s3cr3t-tök")
    assert not secret_matches("s3cr3t-token", "\udcff\udcfe")


@given(expected=st.text(min_size=1, max_size=30), candidate=st.text(max_size=30))
def test_secret_matches_is_equality(expected: str, candidate: str) -> None:
    assert secret_matches(expected, candidate) == (expected == candidate)
    assert secret_matches(expected, expected)


@pytest.fixture
def compare_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any]]]:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(receiver.hmac, "compare_digest", spy)
    yield calls


def test_secret_is_compared_in_constant_time(compare_calls: list[tuple[Any, Any]]) -> None:
    assert secret_matches("right-secret", "right-secret")
    assert not secret_matches("right-secret", "wrong-secret")
    assert not secret_matches("right-secret", "right")
    # Every comparison of a given value went through hmac.compare_digest, never ==.
    assert len(compare_calls) == 3

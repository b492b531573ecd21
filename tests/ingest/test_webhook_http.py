"""The webhook over real HTTP: a ``telelake serve`` process, a real folder, DESIGN §3 and §4.

Every expectation is derived from the contract (partition = event date in the
configured zone, bytes as received, 2xx only once stored, 401/403/413/400
writing nothing), never from the code's own output.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from telelake.lake.storage import LocalStore

if TYPE_CHECKING:
    from conftest import Server

GROUP = -1001234567890
OTHER_GROUP = -1009999999999
MESSAGE_KINDS = {"message", "edited_message", "channel_post", "edited_channel_post"}
MIB = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


def load_event(name: str) -> bytes:
    return (EVENTS_DIR / name).read_bytes()


def event_names() -> list[str]:
    return sorted(path.name for path in EVENTS_DIR.glob("*.json"))


_ids = itertools.count(900_000_000)


def next_id() -> int:
    return next(_ids)


def update(update_id: int, kind: str = "message", **payload: Any) -> bytes:
    """A compact Telegram-style update; a message kind defaults to a text message in GROUP."""
    body: dict[str, Any] = {}
    if kind in MESSAGE_KINDS:
        body = {
            "message_id": update_id % 100_000,
            "from": {"id": 271828182, "is_bot": False, "first_name": "Ana"},
            "chat": {"id": GROUP, "type": "supergroup"},
            "date": 1718452800,
            "text": f"olá {update_id}",
        }
    body.update(payload)
    return json.dumps({"update_id": update_id, kind: body}, ensure_ascii=False).encode()


def raw_objects(lake: Path) -> dict[str, bytes]:
    """Every update object of the raw layer, read back through the lake's reader."""
    store = LocalStore(lake / "raw")
    return {key: store.read(key) for key in store.list("telegram")}


def keys_of(lake: Path, update_id: int) -> dict[str, bytes]:
    """Objects whose file name belongs to ``update_id`` (``<id>.json`` or ``<id>.<x>.json``)."""
    return {
        key: data
        for key, data in raw_objects(lake).items()
        if key.rsplit("/", 1)[-1].split(".", 1)[0] == str(update_id)
    }


def all_files(lake: Path) -> set[str]:
    """Every file below the lake, dot-files included, so stray temp files count too."""
    found: set[str] = set()
    for folder, _dirs, files in os.walk(lake):
        found.update(os.path.relpath(os.path.join(folder, name), lake) for name in files)
    return found


def expected_key(update_id: int, day: date) -> str:
    return f"telegram/context_date={day.isoformat()}/{update_id}.json"


def utc_today() -> date:
    return datetime.now(UTC).date()


def is_2xx(response: httpx.Response) -> bool:
    return 200 <= response.status_code < 300


def _corpus_lines(folder: Path) -> list[tuple[str, bytes]]:
    lines = []
    for path in sorted(folder.glob("*.jsonl")):
        lines += [(path.name, line) for line in path.read_bytes().split(b"\n") if line.strip()]
    return lines


def _contract_day(body: bytes, zone: ZoneInfo) -> date | None:
    """DESIGN §4: the payload's own `date` (a message's send date), else None (receipt)."""
    data = json.loads(body)
    kind = next(k for k in data if k != "update_id")
    payload = data[kind]
    when = payload.get("date") if isinstance(payload, dict) else None
    if isinstance(when, int) and not isinstance(when, bool) and when > 0:
        return datetime.fromtimestamp(when, zone).date()
    return None


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lake")


@pytest.fixture(scope="module")
def server(serve_webhook_module: Any, lake: Path) -> Server:
    """UTC, default secret, no chat filter; tests share it and use unique update_ids."""
    return serve_webhook_module(lake)


# --- where and how an update is stored ------------------------------------------------

# Partition dates of the fixtures, read off the `date` fields written in tests/events
# (None: the update has no date of its own, so it lands on the day it was received).
FIXTURE_DAYS: dict[str, date | None] = {
    "message_text.json": date(2024, 6, 15),
    "edited_message.json": date(2024, 3, 9),  # edit_date is on the 10th
    "channel_post.json": date(2024, 7, 1),
    "callback_query.json": None,
    "chat_member.json": date(2024, 2, 29),
    "message_reaction.json": date(2024, 6, 15),
    "new_chat_members.json": date(2024, 2, 29),
    "inline_query.json": None,
    "future_kind.json": date(2025, 1, 1),
}


def test_hand_derived_days_match_the_contract() -> None:
    assert set(FIXTURE_DAYS) <= set(event_names())
    for name, day in FIXTURE_DAYS.items():
        assert _contract_day(load_event(name), ZoneInfo("UTC")) == day, name


@pytest.mark.parametrize("name", event_names())
def test_fixture_stored_byte_exact_in_its_partition(server: Server, lake: Path, name: str) -> None:
    body = load_event(name)
    update_id = json.loads(body)["update_id"]
    before = utc_today()
    response = server.post(body)
    after = utc_today()

    assert is_2xx(response), response.text
    day = _contract_day(body, ZoneInfo("UTC"))
    candidates = {day} if day is not None else {before, after}
    stored = keys_of(lake, update_id)
    assert len(stored) == 1, stored.keys()
    ((key, data),) = stored.items()
    assert key in {expected_key(update_id, d) for d in candidates}
    # Pretty-printed, non-ASCII fixtures: any re-serialisation would show here.
    assert data == body


def test_edited_message_lands_with_the_original_not_the_edit(server: Server, lake: Path) -> None:
    update_id = next_id()
    sent = int(datetime(2023, 12, 31, 23, 59, 30, tzinfo=UTC).timestamp())
    edited = int(datetime(2024, 2, 1, 8, 0, tzinfo=UTC).timestamp())
    body = update(update_id, "edited_message", date=sent, edit_date=edited, text="fixed")
    assert is_2xx(server.post(body))
    assert keys_of(lake, update_id) == {expected_key(update_id, date(2023, 12, 31)): body}


def test_context_date_follows_the_configured_zone(serve_webhook: Any, tmp_path: Path) -> None:
    server = serve_webhook(tmp_path, timezone="America/Sao_Paulo")
    late_night = int(datetime(2024, 11, 29, 1, 30, tzinfo=UTC).timestamp())  # 22:30 on the 28th
    morning = int(datetime(2024, 11, 29, 3, 30, tzinfo=UTC).timestamp())  # 00:30 on the 29th
    ids = [next_id() for _ in range(3)]
    cases = {
        ids[0]: (update(ids[0], date=late_night), date(2024, 11, 28)),
        ids[1]: (update(ids[1], date=morning), date(2024, 11, 29)),
        ids[2]: (
            update(ids[2], "chat_member", chat={"id": GROUP}, date=late_night),
            date(2024, 11, 28),
        ),
    }
    for body, _day in cases.values():
        assert is_2xx(server.post(body))
    assert raw_objects(tmp_path) == {
        expected_key(uid, day): body for uid, (body, day) in cases.items()
    }


def test_update_without_date_lands_on_the_day_received(server: Server, lake: Path) -> None:
    update_id = next_id()
    body = json.dumps(
        {"update_id": update_id, "poll_answer": {"poll_id": "1", "option_ids": [0]}}
    ).encode()
    before = utc_today()
    assert is_2xx(server.post(body))
    after = utc_today()
    stored = keys_of(lake, update_id)
    assert set(stored.values()) == {body}
    assert set(stored) <= {expected_key(update_id, before), expected_key(update_id, after)}


# --- re-delivery ----------------------------------------------------------------------


def test_redelivery_keeps_one_object(server: Server, lake: Path) -> None:
    update_id = next_id()
    body = update(update_id)
    responses = [server.post(body) for _ in range(3)]
    assert all(is_2xx(r) for r in responses), [r.status_code for r in responses]
    assert keys_of(lake, update_id) == {expected_key(update_id, date(2024, 6, 15)): body}


def test_same_update_id_different_body_keeps_both_overwrites_nothing(
    server: Server, lake: Path
) -> None:
    update_id = next_id()
    first = update(update_id, text="first version")
    second = update(update_id, text="second version")
    other_day = update(update_id, date=1709232300, text="another day")
    for body in (first, second, other_day, first, second, other_day):
        assert is_2xx(server.post(body))

    stored = keys_of(lake, update_id)
    assert sorted(stored.values()) == sorted([first, second, other_day])
    # The first arrival keeps the deterministic name; later ones never replace it.
    assert stored[expected_key(update_id, date(2024, 6, 15))] == first
    assert stored[expected_key(update_id, date(2024, 2, 29))] == other_day
    assert all("context_date=2024-06-15/" in k for k, v in stored.items() if v == second)


# --- the secret ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "status"),
    [
        (None, 401),
        ("wrong", 403),
        ("test-secret-124", 403),  # same length, last character differs
        ("test-secret-12", 403),  # a prefix
        ("test-secret-1234", 403),  # the secret plus one character
        ("TEST-SECRET-123", 403),
        ("", 403),
        ("test_secret_123", 403),
    ],
)
def test_wrong_or_missing_secret_is_refused_and_writes_nothing(
    server: Server, lake: Path, given: str | None, status: int
) -> None:
    before = all_files(lake)
    response = server.post(update(next_id()), secret=given)
    assert response.status_code == status
    assert all_files(lake) == before


def test_non_ascii_secret_header_is_refused(server: Server, lake: Path) -> None:
    before = all_files(lake)
    response = server.client.post(
        server.webhook_url,
        content=update(next_id()),
        headers={SECRET_HEADER: "test-secret-12\xe9".encode("latin-1")},
    )
    assert response.status_code == 403
    assert all_files(lake) == before


def test_right_secret_is_accepted(server: Server, lake: Path) -> None:
    update_id = next_id()
    assert is_2xx(server.post(update(update_id), secret="test-secret-123"))
    assert len(keys_of(lake, update_id)) == 1


def test_without_a_configured_secret_any_request_is_taken(
    serve_webhook: Any, tmp_path: Path
) -> None:
    server = serve_webhook(tmp_path, secret=None)
    ids = [next_id(), next_id()]
    assert is_2xx(server.post(update(ids[0]), secret=None))
    assert is_2xx(server.post(update(ids[1]), secret="whatever"))
    assert all(len(keys_of(tmp_path, uid)) == 1 for uid in ids)


# --- bodies that are not updates ------------------------------------------------------


def _padded(update_id: int, size: int) -> bytes:
    head = f'{{"update_id":{update_id},"message":{{"chat":{{"id":{GROUP}}},"text":"'.encode()
    return head + b"x" * (size - len(head) - 3) + b'"}}'


def test_body_over_limit_with_content_length_is_413(server: Server, lake: Path) -> None:
    before = all_files(lake)
    body = _padded(next_id(), MIB + 1)
    assert len(body) == MIB + 1
    assert server.post(body).status_code == 413
    assert all_files(lake) == before


def test_body_over_limit_chunked_is_413(server: Server, lake: Path) -> None:
    before = all_files(lake)
    body = _padded(next_id(), 2 * MIB)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = server.post(chunks())
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413
    assert all_files(lake) == before


def test_body_just_under_limit_is_stored(server: Server, lake: Path) -> None:
    update_id = next_id()
    body = _padded(update_id, MIB - 64)
    assert is_2xx(server.post(body))
    assert list(keys_of(lake, update_id).values()) == [body]


NOT_UPDATES = {
    "truncated": b'{"update_id": 1, "message": {"text": "hi"',
    "not json": b"update_id=1",
    "empty": b"",
    "trailing garbage": b'{"update_id": 1} {"update_id": 2}',
    "invalid utf-8": b'{"update_id": 1, "message": {"text": "caf\xe9"}}',
    "array": b'[{"update_id": 1, "message": {}}]',
    "string": b'"update_id"',
    "null": b"null",
    "number": b"1",
    "nested 100 deep": b'{"update_id": 1, "message": ' + b"[" * 100 + b"]" * 100 + b"}",
    "nested 100000 deep": b"[" * 100_000 + b"]" * 100_000,
    "no update_id": b'{"message": {"chat": {"id": 1}, "date": 1718452800}}',
    "update_id string": b'{"update_id": "5", "message": {}}',
    "update_id float": b'{"update_id": 5.0, "message": {}}',
    "update_id true": b'{"update_id": true, "message": {}}',
    "update_id null": b'{"update_id": null, "message": {}}',
    "update_id list": b'{"update_id": [5], "message": {}}',
    "update_id exponent": b'{"update_id": 5e0, "message": {}}',
}


@pytest.mark.parametrize("body", NOT_UPDATES.values(), ids=NOT_UPDATES.keys())
def test_not_an_update_is_400_and_writes_nothing(server: Server, lake: Path, body: bytes) -> None:
    before = all_files(lake)
    response = server.post(body)
    assert response.status_code == 400, response.text
    assert all_files(lake) == before


# Odd bodies whose fate the contract leaves open (keep or refuse) but never a 5xx:
# a 5xx makes Telegram retry the same update forever and stalls the chat.
ODDITIES = {
    "lone surrogate": b'{"update_id": %d, "message": {"text": "\\ud800"}}',
    "byte order mark": b'\xef\xbb\xbf{"update_id": %d, "message": {}}',
    "only update_id": b'{"update_id": %d}',
    "payload is a number": b'{"update_id": %d, "message": 5}',
    "payload is null": b'{"update_id": %d, "message": null}',
    "date is a string": b'{"update_id": %d, "message": {"date": "yesterday"}}',
    "date is negative": b'{"update_id": %d, "message": {"date": -86400}}',
    "date is a float": b'{"update_id": %d, "message": {"date": 1718452800.5}}',
    "chat id is a string": b'{"update_id": %d, "message": {"chat": {"id": "-100"}}}',
    "duplicate keys": b'{"update_id": %d, "message": {"date": 1}, "message": {"date": 2}}',
}


@pytest.mark.parametrize("template", ODDITIES.values(), ids=ODDITIES.keys())
def test_odd_bodies_never_get_5xx(server: Server, lake: Path, template: bytes) -> None:
    update_id = next_id()
    body = template % update_id
    before = all_files(lake)
    response = server.post(body)
    assert response.status_code < 500, response.text
    if is_2xx(response):
        assert list(keys_of(lake, update_id).values()) == [body]
    else:
        assert all_files(lake) == before


@pytest.mark.parametrize("when", [10**12, 253402300800, 2**63 + 5])
def test_date_out_of_range_never_gets_5xx(server: Server, lake: Path, when: int) -> None:
    update_id = next_id()
    body = update(update_id, date=when)
    response = server.post(body)
    assert response.status_code < 500
    if is_2xx(response):
        assert list(keys_of(lake, update_id).values()) == [body]


def test_unknown_future_kind_is_accepted(server: Server, lake: Path) -> None:
    update_id = next_id()
    body = json.dumps(
        {"update_id": update_id, "teleport_request": {"from": {"id": 1}, "where": "mars"}}
    ).encode()
    assert is_2xx(server.post(body))
    assert list(keys_of(lake, update_id).values()) == [body]


def test_negative_corpus_lines_are_accepted_and_stored(
    serve_webhook: Any, tmp_path: Path, corpus_dir: Path
) -> None:
    lines = _corpus_lines(corpus_dir / "negative")
    assert lines, "no negative corpus lines found"
    server = serve_webhook(tmp_path)
    for _source, line in lines:
        response = server.post(line)
        assert is_2xx(response), (line, response.text)
    stored = set(raw_objects(tmp_path).values())
    assert {line for _source, line in lines} <= stored


# --- the chat filter -------------------------------------------------------------------


@pytest.fixture(scope="module")
def filtered(
    serve_webhook_module: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Server, Path]:
    lake = tmp_path_factory.mktemp("filtered-lake")
    return serve_webhook_module(lake, chat_ids=[GROUP, 42]), lake


def test_filter_keeps_an_allowed_chat(filtered: tuple[Server, Path]) -> None:
    server, lake = filtered
    for name in ("message_text.json", "callback_query.json", "chat_member.json"):
        body = load_event(name)
        assert is_2xx(server.post(body))
        assert list(keys_of(lake, json.loads(body)["update_id"]).values()) == [body], name
    update_id = next_id()
    body = update(update_id, chat={"id": 42, "type": "group"})
    assert is_2xx(server.post(body))
    assert list(keys_of(lake, update_id).values()) == [body]


@pytest.mark.parametrize(
    "body",
    [
        update(123, chat={"id": OTHER_GROUP, "type": "supergroup"}),
        update(124, "callback_query", message={"chat": {"id": OTHER_GROUP}, "date": 1}),
        load_event("inline_query.json"),
        load_event("channel_post.json"),  # a channel that is not in the list
        b'{"update_id": 125, "poll": {"id": "1", "question": "?"}}',
    ],
    ids=["other chat", "callback in other chat", "inline query", "other channel", "no chat"],
)
def test_filter_drops_other_chats_with_2xx(filtered: tuple[Server, Path], body: bytes) -> None:
    server, lake = filtered
    before = all_files(lake)
    assert is_2xx(server.post(body))
    assert all_files(lake) == before


# --- storage failures -----------------------------------------------------------------


def test_storage_failure_is_503_and_the_server_survives(serve_webhook: Any, tmp_path: Path) -> None:
    (tmp_path / "raw").write_bytes(b"a file where the raw folder should be")
    server = serve_webhook(tmp_path)
    for _ in range(2):
        response = server.post(update(next_id()))
        assert response.status_code == 503, response.text
    health = server.client.get(f"{server.url}/healthz")
    assert health.status_code == 503  # alive, and saying why it is not ready
    assert health.json()["status"] == "not ready"
    assert "not a directory" in health.json()["reason"].lower()
    assert server.process.poll() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_an_unwritable_lake_is_not_ready_from_the_start(serve_webhook: Any, tmp_path: Path) -> None:
    # Before any update arrives: a load balancer must not send traffic to it.
    (tmp_path / "raw").write_bytes(b"a file where the raw folder should be")
    server = serve_webhook(tmp_path)
    health = server.client.get(f"{server.url}/healthz")
    assert health.status_code == 503, health.text
    assert health.json()["status"] == "not ready"
    assert "raw layer" in health.json()["reason"]


# A full disk (a real tmpfs filled up, under 40 concurrent requests) is tested in
# tests/faults/test_disk_full.py.


# --- routes ---------------------------------------------------------------------------


def test_no_redirect_is_built_from_the_host_header(server: Server) -> None:
    # Starlette would answer "/webhook/" with a redirect to http://<Host>/webhook.
    for path in ("/webhook/", "/healthz/", "/report/"):
        for method in ("GET", "POST"):
            response = server.client.request(
                method, f"{server.url}{path}", headers={"Host": "evil.example"}, content=b"{}"
            )
            assert "evil.example" not in response.headers.get("location", ""), path
            assert not 300 <= response.status_code < 400, (path, response.status_code)


def test_routes(server: Server) -> None:
    assert server.client.get(f"{server.url}/healthz").status_code == 200
    assert server.client.get(server.webhook_url).status_code == 405
    assert server.client.get(f"{server.url}/nope").status_code == 404
    assert server.client.post(f"{server.url}/nope", content=b"{}").status_code == 404


# --- the shared corpus of real updates --------------------------------------------------


def test_corpus_is_acknowledged_and_stored_byte_exact(
    serve_webhook: Any, tmp_path: Path, corpus_dir: Path
) -> None:
    lines = _corpus_lines(corpus_dir / "updates")
    assert len(lines) > 100
    server = serve_webhook(tmp_path)
    first_day = utc_today()
    for source, line in lines:
        response = server.post(line)
        assert is_2xx(response), (source, line[:200], response.text)
    receipt_days = {first_day, utc_today()}

    objects = raw_objects(tmp_path)
    expected: set[tuple[date | None, int, bytes]] = set()
    for source, line in lines:
        update_id = json.loads(line)["update_id"]
        day = _contract_day(line, ZoneInfo("UTC"))
        expected.add((day, update_id, line))
        days = {day} if day is not None else receipt_days
        homes = [
            key
            for key, data in objects.items()
            if data == line
            and key.rsplit("/", 1)[-1].split(".", 1)[0] == str(update_id)
            and key.split("/")[1] in {f"context_date={d.isoformat()}" for d in days}
        ]
        assert len(homes) == 1, (source, update_id, homes)
    # Nothing lost and nothing extra: one object per distinct (partition, update, body).
    assert len(objects) == len(expected)

    # The corpus reuses two update_ids with different bodies in teloxide.jsonl; both stay.
    teloxide = [line for source, line in lines if source == "teloxide.jsonl"]
    for reused in (0, 71651297):
        bodies = {line for line in teloxide if json.loads(line)["update_id"] == reused}
        assert len(bodies) == 2
        assert bodies <= set(objects.values())


def _peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        pytest.skip("needs /proc to read the server's peak memory")
    line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1])


def test_oversized_chunked_body_is_not_buffered(server: Server, lake: Path) -> None:
    # DESIGN §3.3 via the webhook's promise: 413 without holding more than the limit.
    before = all_files(lake)
    peak_before = _peak_rss_kib(server.process.pid)
    chunk = b"x" * (64 * 1024)
    total = 96 * MIB

    def chunks() -> Iterator[bytes]:
        yield b'{"update_id": 1, "message": {"text": "'
        for _ in range(total // len(chunk)):
            yield chunk
        yield b'"}}'

    assert server.post(chunks()).status_code == 413
    grown_mib = (_peak_rss_kib(server.process.pid) - peak_before) / 1024
    assert grown_mib < 32, f"server peak memory grew {grown_mib:.0f} MiB for a refused body"
    assert all_files(lake) == before

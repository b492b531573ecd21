"""One answer per request: the webhook server and the ingest Lambda say the same thing.

Both adapters end in ``Receiver.answer``; these tests hold them to it by
sending the same requests through each (the ASGI app over HTTP, the Lambda
handler with an API Gateway event) to raw layers in real folders, and
comparing status, JSON body and what landed. The expected statuses are the
contract of DESIGN §3 (and the table in README "telelake serve"), not
whatever the code returns.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from telelake.aws import handlers
from telelake.config import Settings
from telelake.errors import StorageError
from telelake.ingest.core import Ingestor
from telelake.ingest.receiver import SECRET_HEADER, Receiver, whole_body
from telelake.ingest.webhook import create_app
from telelake.lake.storage import LocalStore

SECRET = "parity-secret-0123"
MAX_BODY = 2048
UPDATE = orjson.dumps(
    {
        "update_id": 41,
        "message": {
            "message_id": 1,
            "chat": {"id": -100, "type": "group", "title": "G"},
            "date": 1_764_000_000,
            "text": "olá",
        },
    }
)

# (name, header value or None, body) -> expected status, per DESIGN §3.
CASES: list[tuple[str, str | None, bytes, int]] = [
    ("stored", SECRET, UPDATE, 200),
    ("no secret", None, UPDATE, 401),
    ("wrong secret", "not-it", UPDATE, 403),
    ("over the limit", SECRET, b'{"update_id": 1, "x": "' + b"a" * MAX_BODY + b'"}', 413),
    ("not JSON", SECRET, b"{nope", 400),
    ("not an update", SECRET, b'{"message": {}}', 400),
    ("too deep", SECRET, b'{"update_id": 2, "m": ' + b"[" * 70 + b"]" * 70 + b"}", 400),
]


def settings(lake: Path) -> Settings:
    return Settings(lake=str(lake), secret=SECRET, max_body=MAX_BODY)


def through_webhook(lake: Path, secret: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
    app = create_app(Ingestor.open(settings(lake)))
    headers = {SECRET_HEADER: secret} if secret is not None else {}

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lake") as client:
            return await client.post("/webhook", content=body, headers=headers)

    response = asyncio.run(post())
    return response.status_code, response.json()


@pytest.fixture
def lambda_lake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The ingest Lambda's settings from the environment, its raw layer a folder."""
    for name in ("TELELAKE_RAW", "TELELAKE_ENRICHED", "TELELAKE_LAKE", "TELELAKE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    lake = tmp_path / "lambda"
    monkeypatch.setenv("TELELAKE_LAKE", str(lake))
    monkeypatch.setenv("TELELAKE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELELAKE_MAX_BODY", str(MAX_BODY))
    handlers.reset()
    yield lake
    handlers.reset()


def through_lambda(secret: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    event = {
        "version": "2.0",
        "rawPath": "/webhook",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/webhook"}},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    response = handlers.ingest_handler(event)
    return response["statusCode"], orjson.loads(response["body"])


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("name", "secret", "body", "status"), CASES, ids=[c[0] for c in CASES])
def test_the_webhook_and_the_lambda_answer_alike(
    tmp_path: Path, lambda_lake: Path, name: str, secret: str | None, body: bytes, status: int
) -> None:
    webhook = through_webhook(tmp_path / "webhook", secret, body)
    aws = through_lambda(secret, body)
    assert webhook == aws
    assert webhook[0] == status, name
    if status == 200:
        assert webhook[1] == {"ok": True, "outcome": "stored", "update_id": 41}
        # The same object, byte for byte, in both lakes.
        assert files(tmp_path / "webhook" / "raw") == files(lambda_lake / "raw")
    else:
        assert webhook[1]["ok"] is False and webhook[1]["error"]
        assert not any(k.startswith("telegram/") for k in files(tmp_path / "webhook" / "raw"))
        assert not (lambda_lake / "raw" / "telegram").exists()


class Unwritable(LocalStore):
    """A raw layer whose disk is gone: every write fails as a real one would."""

    def create(self, key: str, data: bytes) -> bool:
        raise StorageError(f"could not store {key} in {self.url}: No space left on device")


def answer(receiver: Receiver, secret: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
    result = asyncio.run(receiver.answer(secret, whole_body(body)))
    return result.status, result.payload


def test_a_storage_failure_is_503_so_telegram_retries(tmp_path: Path) -> None:
    receiver = Receiver(Ingestor(settings(tmp_path), Unwritable(tmp_path / "raw")))
    status, payload = answer(receiver, SECRET, UPDATE)
    assert status == 503 and payload["ok"] is False


def test_a_lake_of_another_zone_is_500_and_stores_nothing(tmp_path: Path) -> None:
    Ingestor.open(Settings(lake=str(tmp_path), timezone="Europe/Berlin"))
    receiver = Receiver(Ingestor(settings(tmp_path), LocalStore(tmp_path / "raw")))
    assert answer(receiver, SECRET, UPDATE) == (
        500,
        {"ok": False, "error": "server misconfigured"},
    )
    assert not (tmp_path / "raw" / "telegram").exists()


def test_the_body_is_not_read_when_the_secret_is_wrong(tmp_path: Path) -> None:
    receiver = Receiver(Ingestor(settings(tmp_path), LocalStore(tmp_path / "raw")))
    reads: list[int] = []

    async def read(limit: int) -> bytes:
        reads.append(limit)
        return UPDATE

    result = asyncio.run(receiver.answer("wrong", read))
    assert result.status == 403 and reads == []
    result = asyncio.run(receiver.answer(SECRET, read))
    assert result.status == 200 and reads == [MAX_BODY]


def test_a_transport_runs_the_core_its_own_way(tmp_path: Path) -> None:
    ingestor = Ingestor(settings(tmp_path), LocalStore(tmp_path / "raw"))
    ran: list[bytes] = []

    async def store(body: bytes) -> Any:
        ran.append(body)
        return ingestor.accept(body)

    receiver: Callable[..., Any] = Receiver(ingestor, store=store).answer
    result = asyncio.run(receiver(SECRET, whole_body(UPDATE)))
    assert result.status == 200 and ran == [UPDATE]

"""The Lambda handlers, fed recorded API Gateway, Function URL and EventBridge events.

Everything behind the handlers is real: settings from the environment, the
webhook secret read from SSM (moto's, over HTTP), raw objects written to and
the ETL reading from moto's S3, the enriched layer queried with DuckDB.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest

from telelake.analytics.engine import Engine
from telelake.aws import handlers

SECRET = "lambda-secret-42"  # what the recorded events carry
SECRET_PARAM = "/telelake/test/webhook-secret"
MESSAGE_KEY = "raw/telegram/context_date=2024-06-15/815000001.json"
EVENTS = Path(__file__).resolve().parents[1] / "events"

Event = Callable[[str], dict[str, Any]]


@dataclass
class FakeContext:
    """What the Lambda runtime passes as ``context`` (the parts handlers use)."""

    remaining_ms: float = 900_000
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> float:
        return self.remaining_ms


@pytest.fixture
def lambda_env(
    aws_env: dict[str, str],
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    moto_endpoint: str,
) -> Iterator[str]:
    """The environment template.yaml gives the functions, against moto."""
    monkeypatch.chdir(tmp_path)  # no telelake.toml of the developer's
    for name in (
        "TELELAKE_WEBHOOK_SECRET",
        "TELEGRAM_BOT_TOKEN",
        "TELELAKE_LAKE",
        "TELELAKE_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint)
    ssm.put_parameter(Name=SECRET_PARAM, Value=SECRET, Type="SecureString", Overwrite=True)
    monkeypatch.setenv("TELELAKE_RAW", f"s3://{bucket}/raw")
    monkeypatch.setenv("TELELAKE_ENRICHED", f"s3://{bucket}/enriched")
    monkeypatch.setenv("TELELAKE_WEBHOOK_SECRET_PARAM", SECRET_PARAM)
    handlers.reset()
    yield bucket
    handlers.reset()


def stored(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body


def raw_keys(s3: Any, bucket: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="raw/telegram/")
    return [item["Key"] for item in listed.get("Contents", [])]


def answer(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    assert response["headers"]["content-type"] == "application/json"
    assert response["isBase64Encoded"] is False
    return response["statusCode"], orjson.loads(response["body"])


def test_api_gateway_event_is_stored_as_sent(lambda_env: str, s3: Any, aws_event: Event) -> None:
    event = aws_event("apigw_v2_webhook")
    status, body = answer(handlers.ingest_handler(event, FakeContext()))
    # Answered like `telelake serve` answers, with the update's id (read from the event).
    update_id = orjson.loads(event["body"])["update_id"]
    assert (status, body) == (200, {"ok": True, "outcome": "stored", "update_id": update_id})
    assert stored(s3, lambda_env, MESSAGE_KEY) == event["body"].encode("utf-8")
    # Telegram re-delivers: acknowledged, nothing new.
    status, body = answer(handlers.ingest_handler(event, FakeContext()))
    assert (status, body["outcome"]) == (200, "duplicate")
    assert raw_keys(s3, lambda_env) == [MESSAGE_KEY]


def test_function_url_event_base64_body_is_stored_byte_for_byte(
    lambda_env: str, s3: Any, aws_event: Event
) -> None:
    event = aws_event("function_url_webhook")
    status, _ = answer(handlers.ingest_handler(event, FakeContext()))
    assert status == 200
    assert stored(s3, lambda_env, MESSAGE_KEY) == (EVENTS / "message_text.json").read_bytes()


@pytest.mark.parametrize(
    ("secret", "status"), [(None, 401), ("wrong", 403), (SECRET + " ", 403), ("", 403)]
)
def test_missing_or_wrong_secret_is_refused_and_writes_nothing(
    lambda_env: str, s3: Any, aws_event: Event, secret: str | None, status: int
) -> None:
    event = copy.deepcopy(aws_event("apigw_v2_webhook"))
    del event["headers"]["x-telegram-bot-api-secret-token"]
    if secret is not None:
        event["headers"]["X-Telegram-Bot-Api-Secret-Token"] = secret
    assert answer(handlers.ingest_handler(event, FakeContext()))[0] == status
    assert raw_keys(s3, lambda_env) == []


def test_header_names_in_any_case_are_accepted(lambda_env: str, aws_event: Event) -> None:
    event = copy.deepcopy(aws_event("apigw_v2_webhook"))
    event["headers"] = {k.title(): v for k, v in event["headers"].items()}
    assert answer(handlers.ingest_handler(event, FakeContext()))[0] == 200


@pytest.mark.parametrize(
    ("body", "base64_encoded", "status"),
    [
        ('{"update_id": 1, "message": ', False, 400),
        ("[1, 2]", False, 400),
        ('{"message": {}}', False, 400),
        ("not base64 at all!", True, 400),
        ("{" + '"pad": "' + "x" * (1 << 20) + '", "update_id": 9}', False, 413),
    ],
)
def test_bad_bodies_get_the_webhook_status_codes(
    lambda_env: str, s3: Any, aws_event: Event, body: str, base64_encoded: bool, status: int
) -> None:
    event = copy.deepcopy(aws_event("apigw_v2_webhook"))
    event["body"], event["isBase64Encoded"] = body, base64_encoded
    assert answer(handlers.ingest_handler(event, FakeContext()))[0] == status
    assert raw_keys(s3, lambda_env) == []


def test_other_methods(lambda_env: str, aws_event: Event) -> None:
    event = copy.deepcopy(aws_event("function_url_webhook"))
    event["requestContext"]["http"]["method"] = "GET"
    assert answer(handlers.ingest_handler(event))[0] == 200
    event["requestContext"]["http"]["method"] = "PUT"
    assert answer(handlers.ingest_handler(event))[0] == 405


def test_unwritable_raw_layer_answers_503(
    lambda_env: str, aws_event: Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELELAKE_RAW", f"s3://{lambda_env}-missing/raw")
    handlers.reset()
    status, body = answer(handlers.ingest_handler(aws_event("apigw_v2_webhook")))
    assert status == 503
    assert body == {"ok": False, "error": "storage unavailable, retry later"}


def test_missing_ssm_parameter_answers_500_naming_it(
    lambda_env: str, aws_event: Event, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setenv("TELELAKE_WEBHOOK_SECRET_PARAM", "/telelake/test/never-created")
    handlers.reset()
    assert answer(handlers.ingest_handler(aws_event("apigw_v2_webhook")))[0] == 500
    assert "/telelake/test/never-created" in caplog.text


def test_secret_from_secrets_manager(
    lambda_env: str, aws_event: Event, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    manager = boto3.client("secretsmanager", endpoint_url=moto_endpoint)
    arn = manager.create_secret(Name=f"telelake-{lambda_env}", SecretString=SECRET)["ARN"]
    monkeypatch.setenv("TELELAKE_WEBHOOK_SECRET_PARAM", arn)
    handlers.reset()
    event = copy.deepcopy(aws_event("apigw_v2_webhook"))
    assert answer(handlers.ingest_handler(event))[0] == 200
    event["headers"]["x-telegram-bot-api-secret-token"] = "wrong"
    assert answer(handlers.ingest_handler(event))[0] == 403


def test_the_token_resolved_from_ssm_is_redacted(
    lambda_env: str, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    token = "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint)
    ssm.put_parameter(Name="/telelake/test/token", Value=token, Type="SecureString", Overwrite=True)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_PARAM", "/telelake/test/token")
    handlers.reset()
    settings = handlers.settings()
    assert settings.token == token and settings.secret == SECRET
    from telelake.redaction import redact

    assert token not in redact(f"calling https://api.telegram.org/bot{token}/getMe")


def ingest_events(aws_event: Event) -> None:
    for name in ("apigw_v2_webhook",):
        assert answer(handlers.ingest_handler(aws_event(name)))[0] == 200
    edited = base64.b64encode((EVENTS / "edited_message.json").read_bytes()).decode()
    event = copy.deepcopy(aws_event("function_url_webhook"))
    event["body"] = edited
    assert answer(handlers.ingest_handler(event))[0] == 200


def test_scheduled_etl_builds_the_changed_dates_then_nothing(
    lambda_env: str, aws_event: Event
) -> None:
    ingest_events(aws_event)
    result = handlers.etl_handler(aws_event("eventbridge_scheduled"), FakeContext())
    assert result["built"] == ["2024-03-09", "2024-06-15"]
    assert result["left"] == []
    assert result["rows"]["telegram"] == 2
    assert result["raw_objects"] == 2
    with Engine(f"s3://{lambda_env}/enriched") as engine:
        rows = engine.query("SELECT message_id, text FROM telegram ORDER BY message_id").rows
    texts = {
        orjson.loads((EVENTS / name).read_bytes())[kind]["message_id"]: orjson.loads(
            (EVENTS / name).read_bytes()
        )[kind].get("text")
        for name, kind in (
            ("message_text.json", "message"),
            ("edited_message.json", "edited_message"),
        )
    }
    assert dict(rows) == texts
    again = handlers.etl_handler(aws_event("eventbridge_scheduled"), FakeContext())
    assert again["built"] == []


def test_backfill_event_builds_its_range_only(lambda_env: str, aws_event: Event) -> None:
    ingest_events(aws_event)
    result = handlers.etl_handler(aws_event("eventbridge_backfill"), FakeContext())
    assert result["built"] == ["2024-06-15"]
    direct = handlers.etl_handler({"date": "2024-03-09"}, FakeContext())
    assert direct["built"] == ["2024-03-09"]


def test_etl_stops_starting_builds_when_time_runs_short(lambda_env: str, aws_event: Event) -> None:
    ingest_events(aws_event)
    result = handlers.etl_handler(aws_event("eventbridge_scheduled"), FakeContext(10_000))
    assert result["built"] == []
    assert result["left"] == ["2024-03-09", "2024-06-15"]
    # Still marked as changed: the next schedule builds them.
    later = handlers.etl_handler(aws_event("eventbridge_scheduled"), FakeContext())
    assert later["built"] == ["2024-03-09", "2024-06-15"]


def test_bad_backfill_event_is_a_usage_error(lambda_env: str) -> None:
    from telelake.errors import UsageError

    with pytest.raises(UsageError, match="2024-13-01"):
        handlers.etl_handler({"date": "2024-13-01"}, FakeContext())
    with pytest.raises(UsageError):
        handlers.etl_handler({"detail": {"all": "yes"}}, FakeContext())


class ShrinkingContext:
    """A context whose remaining time is read from a list, one value per question."""

    def __init__(self, *remaining_ms: float) -> None:
        self.values = list(remaining_ms)

    def get_remaining_time_in_millis(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


@pytest.fixture
def continue_queue(lambda_env: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The continuation queue template.yaml gives the ETL function, in moto."""
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    url = sqs.create_queue(QueueName=f"etl-continue-{lambda_env}")["QueueUrl"]
    monkeypatch.setenv("TELELAKE_ETL_QUEUE_URL", url)
    handlers.reset()
    return sqs, url


def received(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return list(messages)


def as_sqs_event(aws_event: Event, message: dict[str, Any]) -> dict[str, Any]:
    """The recorded SQS event, carrying ``message`` as the runtime would hand it over."""
    event = aws_event("sqs_etl_continuation")
    event["Records"][0]["body"] = message["Body"]
    event["Records"][0]["messageId"] = message["MessageId"]
    return event


def test_a_run_out_of_time_queues_its_own_continuation_until_done(
    continue_queue: Any, aws_event: Event
) -> None:
    sqs, url = continue_queue
    ingest_events(aws_event)
    # Time for one date (15 min), then 10 s: under the 30 s reserve.
    first = handlers.etl_handler(
        aws_event("eventbridge_scheduled"), ShrinkingContext(900_000, 10_000)
    )
    assert (first["built"], first["left"], first["continued"]) == (
        ["2024-03-09"],
        ["2024-06-15"],
        True,
    )
    [message] = received(sqs, url)
    # A default run's continuation plans again: what it left is still marked changed.
    assert orjson.loads(message["Body"]) == {}
    second = handlers.etl_handler(as_sqs_event(aws_event, message), FakeContext())
    assert (second["built"], second["left"], second["continued"]) == (["2024-06-15"], [], False)
    assert received(sqs, url) == []


def test_a_backfill_continues_with_the_dates_it_left(continue_queue: Any, aws_event: Event) -> None:
    sqs, url = continue_queue
    ingest_events(aws_event)
    event = {"since": "2024-01-01", "until": "2024-12-31"}
    first = handlers.etl_handler(event, ShrinkingContext(900_000, 10_000))
    assert first["built"] == ["2024-03-09"] and first["continued"]
    [message] = received(sqs, url)
    assert orjson.loads(message["Body"]) == {"dates": ["2024-06-15"]}
    second = handlers.etl_handler(as_sqs_event(aws_event, message), FakeContext())
    assert second["built"] == ["2024-06-15"] and received(sqs, url) == []


def test_no_progress_queues_nothing_so_it_cannot_loop(
    continue_queue: Any, aws_event: Event, caplog: pytest.LogCaptureFixture
) -> None:
    sqs, url = continue_queue
    ingest_events(aws_event)
    result = handlers.etl_handler(aws_event("eventbridge_scheduled"), FakeContext(10_000))
    assert result["built"] == [] and not result["continued"]
    assert received(sqs, url) == []
    assert "raise the ETL function's Timeout or MemorySize" in caplog.text


def test_the_recorded_sqs_event_is_a_backfill_of_its_dates(
    lambda_env: str, aws_event: Event
) -> None:
    ingest_events(aws_event)
    result = handlers.etl_handler(aws_event("sqs_etl_continuation"), FakeContext())
    assert result["built"] == ["2024-06-15"]

"""The responder on AWS: ingest queues commands (SQS FIFO in moto), the responder Lambda answers.

Against the S3/SQS server of tests/moto_server.py and the fake Bot API, with
the events the Lambda runtime hands over (API Gateway, SQS, EventBridge).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import fake_bot_api
import orjson
import pytest

from telelake.aws import handlers, responder
from telelake.responder.records import record_key

SECRET = "lambda-secret-42"
GROUP = -1001234567890
Event = Callable[[str], dict[str, Any]]


@pytest.fixture
def fake() -> Iterator[Any]:
    with fake_bot_api.running_fake_bot_api() as server:
        server.set_chat(GROUP, admins=[{"id": 1, "first_name": "Olga", "status": "creator"}])
        yield server


@pytest.fixture
def queue(aws_env: dict[str, str], moto_endpoint: str, bucket: str) -> tuple[Any, str]:
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    url = sqs.create_queue(QueueName=f"responder-{bucket}.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    return sqs, url


@pytest.fixture
def env(
    aws_env: dict[str, str],
    bucket: str,
    fake: Any,
    queue: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[str]:
    """What template.yaml gives the ingest and responder functions, replies on."""
    monkeypatch.chdir(tmp_path)
    for name in ("TELELAKE_LAKE", "TELELAKE_CONFIG", "TELELAKE_WEBHOOK_SECRET_PARAM",
                 "TELEGRAM_BOT_TOKEN_PARAM"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELELAKE_RAW", f"s3://{bucket}/raw")
    monkeypatch.setenv("TELELAKE_ENRICHED", f"s3://{bucket}/enriched")
    monkeypatch.setenv("TELELAKE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    monkeypatch.setenv("TELEGRAM_API_URL", fake.url)
    monkeypatch.setenv("TELELAKE_REPLIES", "1")
    monkeypatch.setenv("TELELAKE_RESPONDER_QUEUE_URL", queue[1])
    handlers.reset()
    responder.reset()
    yield bucket
    handlers.reset()
    responder.reset()


def post(aws_event: Event, update: dict[str, Any]) -> dict[str, Any]:
    event = aws_event("apigw_v2_webhook")
    event["body"] = orjson.dumps(update).decode()
    event["headers"]["content-length"] = str(len(event["body"]))
    response = handlers.ingest_handler(event)
    assert response["statusCode"] == 200, response
    return dict(orjson.loads(response["body"]))


def update(update_id: int, text: str, date: int, user_id: int = 42) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": update_id,
        "from": {"id": user_id, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": GROUP, "title": "Clube", "type": "supergroup"},
        "date": date,
        "text": text,
    }
    return {"update_id": update_id, "message": body}


def drained(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        found.extend(batch)


def as_event(aws_event: Event, messages: list[dict[str, Any]]) -> dict[str, Any]:
    template = aws_event("sqs_responder_command")["Records"][0]
    records = []
    for message in messages:
        record = json.loads(json.dumps(template))
        record["body"] = message["Body"]
        record["messageId"] = message["MessageId"]
        records.append(record)
    return {"Records": records}


def test_a_command_goes_through_the_queue_and_is_answered(
    env: str, queue: tuple[Any, str], fake: Any, aws_event: Event, s3: Any
) -> None:
    sqs, url = queue
    now = int(time.time())
    for i in range(5):
        assert post(aws_event, update(100 + i, f"hello {i}", now - 60 + i))["outcome"] == "stored"
    post(aws_event, update(200, "/stats today", now))
    post(aws_event, update(200, "/stats today", now))  # Telegram re-delivers
    queued = drained(sqs, url)
    # Only the command, once (deduplicated by update_id), grouped by its chat.
    assert len(queued) == 1
    assert queued[0]["Attributes"]["MessageGroupId"] == str(GROUP)
    assert queued[0]["Attributes"]["MessageDeduplicationId"] == "200"
    result = responder.responder_handler(as_event(aws_event, queued))
    assert result["handled"] == 1 and result["delivered"] == 1
    [answer] = fake.sent(GROUP)
    # Five messages and the command itself, all of today, none built by an ETL yet.
    assert "Messages: 6 (" in answer["text"] and answer["reply_to"] == 200
    record = orjson.loads(s3.get_object(Bucket=env, Key=f"raw/{record_key(GROUP)}")["Body"].read())
    assert [h[0] for h in record["handled"]] == [200]
    # The same batch again (SQS redelivers after a timeout): answered once only.
    responder.reset()
    responder.responder_handler(as_event(aws_event, queued))
    assert len(fake.sent(GROUP)) == 1


def test_a_queue_that_is_down_costs_answers_not_the_acknowledgement(
    env: str, aws_event: Event, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    monkeypatch.setenv("TELELAKE_RESPONDER_QUEUE_URL", f"{moto_endpoint}/123456789012/missing.fifo")
    handlers.reset()
    started = time.monotonic()
    assert post(aws_event, update(300, "/stats", int(time.time())))["outcome"] == "stored"
    assert time.monotonic() - started < 5


def test_replies_off_queues_nothing(
    env: str, queue: tuple[Any, str], aws_event: Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELELAKE_REPLIES", "0")
    handlers.reset()
    post(aws_event, update(400, "/stats", int(time.time())))
    assert drained(*queue) == []


def test_the_recorded_event_is_read_and_a_stale_command_not_answered(
    env: str, fake: Any, aws_event: Event
) -> None:
    result = responder.responder_handler(aws_event("sqs_responder_command"))
    # The recorded command is from 2024: handled (so never answered late), not answered.
    assert result["handled"] == 1 and fake.sent() == []


def test_the_schedule_posts_a_due_digest(
    env: str, fake: Any, aws_event: Event, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    due = now - timedelta(minutes=3)
    monkeypatch.setenv("TELELAKE_DIGEST_AT", f"{due:%H:%M}")
    handlers.reset()
    responder.reset()
    yesterday = (due.date() - timedelta(days=1)).isoformat()
    record = {"chat_id": GROUP, "digest": "daily", "digest_last": yesterday}
    s3.put_object(Bucket=env, Key=f"raw/{record_key(GROUP)}", Body=orjson.dumps(record))
    responder.responder_handler(aws_event("eventbridge_scheduled"))
    [digest] = fake.sent(GROUP)
    assert digest["text"].startswith("🗓 Digest")
    # Posted once: the next tick finds it done.
    responder.reset()
    responder.responder_handler(aws_event("eventbridge_scheduled"))
    assert len(fake.sent(GROUP)) == 1


def test_the_ingest_side_of_the_responder_loads_nothing_heavy() -> None:
    """Run in a process that can import only what the ingest image installs."""
    command = orjson.dumps(update(1, "/stats", int(time.time())))
    code = (
        "from telelake.aws.handlers import ingest_handler\n"
        "from telelake.aws.responder import hand_over\n"
        f"queued = hand_over('http://127.0.0.1:9/q.fifo', {command!r}, 'stored')\n"
        "print(json.dumps([queued, sorted({m.split('.')[0] for m in sys.modules}\n"
        "                                 & {'pyarrow', 'duckdb', 'sqlglot', 'numpy'})]))"
    )
    allowed = sorted(image_modules("IngestFunction"))
    result = subprocess.run(
        [sys.executable, "-c", IMAGE_PROBE, json.dumps(allowed), code],
        capture_output=True, text=True, timeout=60, check=False,
        env={"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
             "AWS_SECRET_ACCESS_KEY": "x", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # Tried (the queue is unreachable: not queued, and no exception), and nothing heavy.
    assert json.loads(result.stdout.splitlines()[-1]) == [False, []]
    assert "could not hand the update to the responder (EndpointConnectionError)" in result.stderr


# The responder's image holds only what template.yaml installs in it: this runs the
# responder in a process that cannot import anything else, as the image would.
IMAGE_PROBE = r"""
import importlib.abc, importlib.machinery, json, sys, sysconfig

allowed = set(json.loads(sys.argv[1]))
installed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}


class OnlyTheImage(importlib.abc.MetaPathFinder):
    # Refuses what pip installed here and the image's FUNCTION_DEPS do not bring.

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if name != top or top in allowed or top == "telelake":
            return None
        spec = importlib.machinery.PathFinder.find_spec(top)
        origin = (spec.origin or "") if spec is not None else ""
        if spec is not None and spec.submodule_search_locations:
            origin = next(iter(spec.submodule_search_locations), origin)
        if any(origin.startswith(folder) for folder in installed):
            raise ModuleNotFoundError(f"No module named {top!r} in the image", name=top)
        return None


sys.meta_path.insert(0, OnlyTheImage())
exec(sys.argv[2])
"""
RESPONDER = (
    "from telelake.aws.responder import responder_handler\n"
    "print(json.dumps(responder_handler(json.loads(sys.argv[3]))))"
)


def image_modules(function: str) -> set[str]:
    """Top-level modules importable in ``function``'s image: its FUNCTION_DEPS and theirs."""
    from importlib.metadata import PackageNotFoundError, distribution

    from cfnlint.decode import decode
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    loaded, problems = decode(str(Path(__file__).resolve().parents[2] / "template.yaml"))
    assert not problems, problems
    metadata = loaded["Resources"][function]["Metadata"]["DockerBuildArgs"]["FUNCTION_DEPS"]
    wanted = [requirement.partition("==")[0] for requirement in metadata.split()]
    seen: set[str] = set()
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue  # an optional dependency not installed here: not importable either
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
    modules = set()
    for name in seen:
        try:
            files = distribution(name).files or []
        except PackageNotFoundError:
            continue
        for file in files:
            top = file.parts[0]
            if len(file.parts) > 1 and not top.endswith((".dist-info", ".data")):
                modules.add(top)
            elif file.suffix in (".py", ".so"):
                modules.add(top.partition(".")[0])
    return modules


def test_the_responder_image_holds_what_an_answer_needs(
    env: str, fake: Any, aws_event: Event, queue: tuple[Any, str], tmp_path: Path
) -> None:
    """Yesterday built (Parquet), today raw only (the ETL's transform, text stage included),
    a chart drawn: a /stats answered with its picture by the responder's image alone."""
    from telelake.config import load_settings
    from telelake.etl.layers import Layers
    from telelake.etl.runner import run

    now = int(time.time())
    for i in range(4):
        post(aws_event, update(500 + i, f"good morning, coffee {i}", now - 86_400 - 60 + i))
    run(Layers.open(load_settings({}, config_file=None)), workers=1)
    for i in range(3):
        post(aws_event, update(600 + i, f"o café acabou {i}", now - 60 + i))
    post(aws_event, update(700, "/stats week", now))
    event = as_event(aws_event, drained(*queue))
    allowed = sorted(image_modules("ResponderFunction"))
    assert "vl_convert" in allowed and "fasttext" in allowed
    result = subprocess.run(
        [sys.executable, "-c", IMAGE_PROBE, json.dumps(allowed), RESPONDER, json.dumps(event)],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1])["delivered"] == 1
    [answer] = fake.sent(GROUP)
    # Four messages yesterday, three today and the command: eight, one of them a picture.
    assert answer["method"] == "sendPhoto" and "Messages: 8 (" in answer["text"]

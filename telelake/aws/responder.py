"""The responder on AWS: ingest queues commands and joins, a function of its own answers them.

Ingest side (:func:`hand_over`, called by ``ingest_handler`` once the update
is stored and its answer decided): one ``SendMessage`` to the
``ResponderQueue``, a FIFO queue grouped by chat, so one chat's commands are
answered in order by one invocation at a time while other chats go on in
parallel, and Telegram's re-deliveries are dropped by SQS (deduplicated by
``update_id``). It is bounded (1 s to connect, 2 s to answer, one retry) and
never raises: a queue that is down costs answers, not the acknowledgement,
and never turns a stored update into a 5xx. It imports nothing heavy.

Responder side (:func:`responder_handler`): SQS batches of those updates,
and an EventBridge schedule every five minutes (the digests); both end in
the same :class:`~telelake.responder.core.Responder` as ``telelake run``,
which reads the enriched layer and today's raw on S3. Messages are sent as
Telegram's limits allow within the invocation's time; what cannot be sent
before it ends is given up and logged. The function's timeout (fifteen
minutes) is for a ``/forgetme`` erasure, which reads the raw layer twice;
answers need seconds, and one not sent within 15 minutes is not sent at all.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from telelake.responder.triggers import may_need_answer, trigger_of

if TYPE_CHECKING:
    from telelake.responder.core import Responder

log = logging.getLogger("telelake.aws")

# SQS's largest message; a command or a join is a few hundred bytes.
MAX_MESSAGE = 256 * 1024
# What an invocation keeps back from its timeout to save its records.
RESERVE_SECONDS = 10.0

_sqs: Any = None
_core: Responder | None = None


def _client() -> Any:
    global _sqs
    if _sqs is None:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}
        )
        _sqs = boto3.session.Session().client("sqs", config=config)
    return _sqs


def hand_over(queue_url: str, body: bytes, outcome: str) -> bool:
    """Queue an acknowledged update for the responder if it may need an answer; never raises."""
    if not may_need_answer(body):
        return False
    try:
        data = orjson.loads(body)
        trigger = trigger_of(data) if isinstance(data, dict) else None
        if trigger is None:
            return False
        message = orjson.dumps({"outcome": outcome, "update": data})
        if len(message) > MAX_MESSAGE:
            log.warning("update %s too large for the responder queue", trigger.update_id)
            return False
        _client().send_message(
            QueueUrl=queue_url,
            MessageBody=message.decode("utf-8"),
            MessageGroupId=str(trigger.chat_id),
            MessageDeduplicationId=str(trigger.update_id),
        )
    except Exception as exc:  # the acknowledgement must not depend on the queue
        log.error("could not hand the update to the responder (%s): %s", type(exc).__name__, exc)
        return False
    return True


def reset() -> None:
    """Forget cold-start state (tests)."""
    global _sqs, _core
    if _core is not None:
        _core.close()
    _sqs, _core = None, None


def _responder() -> Responder:
    global _core
    if _core is None:
        from telelake.aws.handlers import settings
        from telelake.etl.layers import Layers
        from telelake.responder.core import Responder
        from telelake.telegram.botapi import BotApi

        current = settings()

        def pause(seconds: float) -> None:
            if _core is not None:
                _core.limiter.pause(seconds)
            time.sleep(seconds)

        api = BotApi(current.require_token(), current.api_url, sleep=pause)
        _core = Responder(current, Layers.open(current), api)
    # Another container may have answered in these chats since: read records afresh.
    _core.records.forget_cache()
    return _core


def responder_handler(event: Any, context: Any = None) -> dict[str, Any]:
    """SQS records of commands and joins, or a schedule tick (digests); answers sent."""
    core = _responder()
    records = event.get("Records") if isinstance(event, dict) else None
    handled = 0
    if not core.settings.replies:
        if records:
            log.warning(
                "replies are off (TELELAKE_REPLIES): %d update(s) not answered", len(records)
            )
    elif isinstance(records, list):
        for record in records:
            try:
                message = orjson.loads(record["body"])
                core.handle(message["update"], str(message.get("outcome", "stored")))
                handled += 1
            except Exception:
                log.exception("a queued update could not be answered; going on")
    else:
        core.tick()
    dropped = _send(core, context)
    core.save()
    return {
        "batchItemFailures": [],
        "handled": handled,
        "delivered": core.outbox.delivered,
        "dropped": dropped,
    }


def _send(core: Responder, context: Any) -> int:
    """Send what is queued, as the limits allow, until done or the invocation's time is up."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    while True:
        wait = core.outbox.send_ready()
        if wait is None:
            return 0
        left = float(getter()) / 1000 if callable(getter) else float("inf")
        if left - wait < RESERVE_SECONDS:
            dropped = core.outbox.drop_all()
            log.warning("%d answer(s) given up: the invocation's time ran out", dropped)
            return dropped
        time.sleep(wait)

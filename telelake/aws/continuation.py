"""The ETL Lambda finishing what it starts: dates left at the end of an invocation.

An invocation has a time budget (15 minutes at most); rebuilding history
after an upgrade, or a long backfill, can take longer. When dates are left,
the handler posts one message to an SQS queue that is an event source of the
same function (``template.yaml``: ``EtlContinueQueue``, batch size 1), so the
next invocation starts at once and builds the rest, until nothing is left.
A queue, not an asynchronous self-invoke: its retries, dead-letter queue and
depth are visible in the console, and it needs no permission to invoke the
function from itself.

What the message says (:func:`telelake.aws.events.continuation_body`): for a
default run, nothing (the dates left are still marked changed or outdated,
so the next run plans them again); for a backfill, the dates it left.
"""

from __future__ import annotations

import logging
from typing import Any

from telelake.errors import StorageError

log = logging.getLogger("telelake.aws")


def _client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "total_max_attempts": 5})
    return boto3.session.Session().client("sqs", config=config)


def post(queue_url: str, body: str) -> None:
    """Queue the next invocation's event; :class:`StorageError` when SQS refuses."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        _client().send_message(QueueUrl=queue_url, MessageBody=body)
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(f"could not queue the ETL's continuation on {queue_url}: {exc}") from exc

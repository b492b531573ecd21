"""The Lambda entry points: thin adapters over the cores behind ``serve`` and ``etl``.

``ingest_handler`` reads an API Gateway / Function URL event and ends in the
same :meth:`Receiver.answer` as ``telelake serve``, so both answer every
request alike (DESIGN §3). ``etl_handler`` reads a schedule or backfill event
and ends in the same ETL driver as ``telelake etl``, with the invocation's
remaining time as its budget.

Settings come from the environment (:func:`telelake.config.load_settings`);
secrets named by ``*_PARAM`` variables are read from SSM at cold start
(:mod:`telelake.aws.parameters`). State built at cold start (settings, the
S3 client) lives in module globals, so warm invocations reuse it.

The ingest path imports no pyarrow and no DuckDB: the ETL modules are
imported inside :func:`etl_handler` only (``tests/aws`` checks this).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telelake.aws.events import etl_request, http_request, http_response
from telelake.aws.parameters import resolve
from telelake.config import Settings, load_settings
from telelake.errors import BadUpdateError, TelelakeError
from telelake.ingest.core import Ingestor
from telelake.ingest.receiver import SECRET_HEADER, Receiver
from telelake.redaction import install_log_redaction

log = logging.getLogger("telelake.aws")

_settings: Settings | None = None
_receiver: Receiver | None = None


def _setup_logging() -> None:
    # The Lambda runtime's root logger stops at WARNING; telelake's INFO lines
    # (what a run built, what it set aside) belong in CloudWatch.
    ours = logging.getLogger("telelake")
    if ours.level == logging.NOTSET:
        ours.setLevel(logging.INFO)
    install_log_redaction()


def settings() -> Settings:
    """Settings of this container, resolved once (SSM parameters included)."""
    global _settings
    if _settings is None:
        _setup_logging()
        _settings = load_settings(env=resolve(), config_file=None)
    return _settings


def reset() -> None:
    """Forget the cold-start state (tests; a container never needs it)."""
    global _settings, _receiver
    _settings, _receiver = None, None


def _ready_receiver() -> Receiver:
    global _receiver
    if _receiver is None:
        # Like `serve` at start-up: a lake of another zone is refused (500,
        # tried again on the next request); a store that is down fails only
        # the updates that arrive until it is back (503).
        _receiver = Receiver(Ingestor.open(settings()))
    return _receiver


def ingest_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """API Gateway HTTP API / Function URL event in, HTTP response out."""
    try:
        request = http_request(event)
    except BadUpdateError as exc:
        return http_response(exc.status_code, {"ok": False, "error": str(exc)})
    if request.method == "GET":
        return http_response(200, {"status": "ok"})
    if request.method != "POST":
        return http_response(405, {"ok": False, "error": "POST updates to this URL"})
    try:
        receiver = _ready_receiver()
    except TelelakeError as exc:
        log.error("not acknowledged, configuration is broken: %s", exc)
        return http_response(500, {"ok": False, "error": "server misconfigured"})
    answer = receiver.answer_now(request.headers.get(SECRET_HEADER), request.body)
    return http_response(answer.status, answer.payload)


def etl_handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Build the changed partitions (a schedule) or a date / range / all (a backfill).

    Stops starting dates when the invocation's time runs short; the answer
    lists what it left. Dates left from a default run stay marked as
    changed, so the next schedule builds them. A failure raises, so the
    invocation fails and EventBridge retries.
    """
    # Imported here, not at module level: the ingest path must not load pyarrow.
    from telelake.etl.layers import Layers
    from telelake.etl.runner import run

    selection = etl_request(event)
    # One process: Lambda has no /dev/shm, which a process pool needs.
    summary = run(Layers.open(settings()), selection, time_left=_time_left(context), workers=1)
    log.info("%s", summary.describe())
    rows: dict[str, int] = {}
    for partition in summary.partitions:
        for table, count in partition.rows.items():
            rows[table] = rows.get(table, 0) + count
    return {
        "built": [p.day.isoformat() for p in summary.partitions],
        "left": [day.isoformat() for day in summary.left],
        "rows": rows,
        "raw_objects": summary.raw_objects,
        "duplicates": summary.duplicates,
        "rejected": summary.rejected,
    }


def _time_left(context: Any) -> Callable[[], float] | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(getter):
        return None
    return lambda: float(getter()) / 1000

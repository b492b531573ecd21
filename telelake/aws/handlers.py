"""The Lambda entry points: thin adapters over the cores behind ``serve`` and ``etl``.

``ingest_handler`` reads an API Gateway / Function URL event and ends in the
same :meth:`Receiver.answer` as ``telelake serve``, so both answer every
request alike (DESIGN §3). ``etl_handler`` reads a schedule, backfill or
continuation event and ends in the same ETL driver as ``telelake etl``, with
the invocation's remaining time as its budget; what it leaves, it queues for
its next invocation (:mod:`telelake.aws.continuation`).

Settings come from the environment (:func:`telelake.config.load_settings`);
secrets named by ``*_PARAM`` variables are read from SSM at cold start
(:mod:`telelake.aws.parameters`). State built at cold start (settings, the
S3 client) lives in module globals, so warm invocations reuse it.

The ingest path imports no pyarrow and no DuckDB: the ETL modules are
imported inside :func:`etl_handler` only (``tests/aws`` checks this). With
replies on, ingest hands commands to the responder's queue after deciding
its answer (``telelake/aws/responder.py``, whose handler is the third function).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from telelake.aws.events import continuation_body, etl_request, http_request, http_response
from telelake.aws.parameters import resolve
from telelake.config import Settings, load_settings
from telelake.errors import BadUpdateError, TelelakeError
from telelake.ingest.core import Ingestor
from telelake.ingest.receiver import SECRET_HEADER, Receiver
from telelake.redaction import install_log_redaction

if TYPE_CHECKING:
    from telelake.etl.plan import Selection
    from telelake.etl.runner import EtlSummary

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
    current = settings()
    if answer.status == 200 and current.replies and current.responder_queue_url:
        # Stored and decided first; the responder function answers from its queue.
        from telelake.aws.responder import hand_over

        hand_over(current.responder_queue_url, request.body, str(answer.payload["outcome"]))
    return http_response(answer.status, answer.payload)


def etl_handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Build the changed and outdated partitions (a schedule), a date / range / all (a
    backfill), or what the last invocation left (a continuation from the queue).

    Stops starting dates when the invocation's time runs short and queues its
    own continuation, so a long rebuild finishes with nobody watching. A
    failure raises, so the invocation fails and is retried.
    """
    # Imported here, not at module level: the ingest path must not load pyarrow.
    from telelake.etl.layers import Layers
    from telelake.etl.plan import Selection
    from telelake.etl.runner import run

    current = settings()
    selection = etl_request(event)
    if selection == Selection():
        # The daily run: today's member counts first, so today's build has them.
        from telelake.ingest.snapshots import snapshot_lake

        snapshot_lake(current)
    # One process: Lambda has no /dev/shm, which a process pool needs.
    summary = run(
        Layers.open(current),
        selection,
        time_left=_time_left(context),
        workers=1,
        compact_after=current.compact_after,
    )
    log.info("%s", summary.describe())
    continued = bool(summary.left) and _continue(current, selection, summary)
    rows: dict[str, int] = {}
    for partition in summary.partitions:
        for table, count in partition.rows.items():
            rows[table] = rows.get(table, 0) + count
    return {
        "built": [p.day.isoformat() for p in summary.partitions],
        "left": [day.isoformat() for day in summary.left],
        "continued": continued,
        "compacted": summary.compacted,
        "rows": rows,
        "raw_objects": summary.raw_objects,
        "duplicates": summary.duplicates,
        "rejected": summary.rejected,
    }


def _continue(current: Settings, selection: Selection, summary: EtlSummary) -> bool:
    """Queue the next invocation for the dates left; ``False`` when it would not help."""
    first = summary.left[0].isoformat()
    if not summary.partitions:
        # Not one date fitted: another invocation of the same size would not either.
        log.error(
            "no date could be built in this invocation (first left: %s): raise the ETL "
            "function's Timeout or MemorySize; the dates stay marked for the next run",
            first,
        )
        return False
    if not current.etl_queue_url:
        log.warning(
            "%d date(s) left and no continuation queue (TELELAKE_ETL_QUEUE_URL): "
            "the next scheduled run goes on from %s",
            len(summary.left),
            first,
        )
        return False
    from telelake.aws.continuation import post

    post(current.etl_queue_url, continuation_body(selection, summary.left))
    log.info("queued the next invocation for %d date(s) left", len(summary.left))
    return True


def _time_left(context: Any) -> Callable[[], float] | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(getter):
        return None
    return lambda: float(getter()) / 1000

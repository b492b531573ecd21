"""The Lambda entry points: thin adapters over the cores behind ``serve`` and ``etl``.

``ingest_handler`` answers Telegram's webhook POST exactly as ``telelake serve``
does (DESIGN §3): secret first (401 missing, 403 wrong, compared in constant
time), 413 over the body limit, 400 for what is not an update, 503 when the
raw layer cannot be written (Telegram retries), 200 only once the object is
stored. ``etl_handler`` runs the same partition runner as ``telelake etl``.

Settings come from the environment (:func:`telelake.config.load_settings`);
secrets named by ``*_PARAM`` variables are read from SSM at cold start
(:mod:`telelake.aws.parameters`). State built at cold start (settings, the
S3 client) lives in module globals, so warm invocations reuse it.

The ingest path imports no pyarrow and no DuckDB: the ETL modules are
imported inside :func:`etl_handler` only (``tests/aws`` checks this).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from telelake.aws.events import etl_request, http_request, http_response
from telelake.aws.parameters import resolve
from telelake.config import Settings, load_settings
from telelake.errors import BadUpdateError, ConfigError, StorageError, TelelakeError
from telelake.ingest.core import SECRET_REFUSED, Ingestor, secret_refusal
from telelake.lake.manifest import ensure_zone
from telelake.lake.storage import open_store
from telelake.redaction import install_log_redaction

log = logging.getLogger("telelake.aws")

SECRET_HEADER = "x-telegram-bot-api-secret-token"
# Stop starting partition builds when less than this is left of the
# invocation's time (or twice the slowest build so far, if longer).
ETL_SAFETY_MS = 30_000

_settings: Settings | None = None
_ingestor: Ingestor | None = None
_zone_recorded = False


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
    global _settings, _ingestor, _zone_recorded
    _settings, _ingestor, _zone_recorded = None, None, False


def _ready_ingestor() -> Ingestor:
    global _ingestor, _zone_recorded
    if _ingestor is None:
        current = settings()
        _ingestor = Ingestor(current, open_store(current.raw_url))
    if not _zone_recorded:
        # Like `serve` at start-up, but retried on the next request when the
        # store is down: a ConfigError (another zone) refuses every update.
        ensure_zone(_ingestor.store, _ingestor.settings.timezone)
        _zone_recorded = True
    return _ingestor


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
        current = settings()
    except TelelakeError as exc:
        log.error("not acknowledged, configuration is broken: %s", exc)
        return http_response(500, {"ok": False, "error": "server misconfigured"})
    refusal = secret_refusal(current.secret, request.headers.get(SECRET_HEADER))
    if refusal is not None:
        return http_response(refusal, {"ok": False, "error": SECRET_REFUSED})
    if len(request.body) > current.max_body:
        return http_response(
            413, {"ok": False, "error": f"body over the {current.max_body} byte limit"}
        )
    try:
        receipt = _ready_ingestor().accept(request.body)
    except BadUpdateError as exc:
        return http_response(exc.status_code, {"ok": False, "error": str(exc)})
    except StorageError as exc:
        log.error("not acknowledged, Telegram will retry: %s", exc)
        return http_response(503, {"ok": False, "error": "storage unavailable, retry later"})
    except ConfigError as exc:
        log.error("not acknowledged, configuration is broken: %s", exc)
        return http_response(500, {"ok": False, "error": "server misconfigured"})
    log.debug("update %s (%s): %s", receipt.update_id, receipt.kind, receipt.outcome)
    return http_response(200, {"ok": True, "outcome": receipt.outcome})


def etl_handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Build the changed partitions (a schedule) or a date / range / all (a backfill).

    Builds one date at a time and stops starting new ones when the
    invocation's time runs short; the answer lists what it left. Dates left
    from a default run stay marked as changed, so the next schedule builds
    them. A failure raises, so the invocation fails and EventBridge retries.
    """
    # Imported here, not at module level: the ingest path must not load pyarrow.
    from telelake.etl.pseudonyms import from_settings as pseudonyms_from_settings
    from telelake.etl.runner import plan, run
    from telelake.lake.manifest import check_zone

    current = settings()
    request = etl_request(event)
    raw, enriched = open_store(current.raw_url), open_store(current.enriched_url)
    check_zone(raw, current.timezone)
    pseudonyms = pseudonyms_from_settings(current)
    days = plan(
        raw,
        enriched,
        day=request.day,
        since=request.since,
        until=request.until,
        everything=request.everything,
    )
    built: list[str] = []
    rows: dict[str, int] = {}
    totals = {"raw_objects": 0, "duplicates": 0, "rejected": 0}
    slowest_ms = 0.0
    left: list[str] = []
    for index, day in enumerate(days):
        remaining = _remaining_ms(context)
        if remaining is not None and remaining < max(ETL_SAFETY_MS, 2 * slowest_ms):
            left = [d.isoformat() for d in days[index:]]
            log.warning("time is short: left %d date(s) for the next run: %s", len(left), left)
            break
        started = time.monotonic()
        # One process: Lambda has no /dev/shm, which a process pool needs.
        summary = run(raw, enriched, [day], current.zone, workers=1, pseudonyms=pseudonyms)
        slowest_ms = max(slowest_ms, (time.monotonic() - started) * 1000)
        for partition in summary.partitions:
            built.append(partition.day.isoformat())
            for table, count in partition.rows.items():
                rows[table] = rows.get(table, 0) + count
            totals["raw_objects"] += partition.raw_objects
            totals["duplicates"] += partition.duplicates
            totals["rejected"] += partition.rejected
    log.info("etl built %d partition(s), %d raw objects", len(built), totals["raw_objects"])
    return {"built": built, "left": left, "rows": rows, **totals}


def _remaining_ms(context: Any) -> float | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return float(getter()) if callable(getter) else None

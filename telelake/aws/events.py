"""Lambda event shapes in and out: pure functions, no AWS calls.

API Gateway HTTP APIs (payload format 2.0) and Lambda Function URLs deliver
the same event shape; REST APIs (payload 1.0) differ in where the method
sits, and are accepted too. Header names arrive lower-cased from HTTP APIs
and Function URLs but as sent from REST APIs, so lookups ignore case. A body
arrives as text, or base64 when API Gateway considers it binary.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from telelake.errors import BadUpdateError, UsageError
from telelake.etl.plan import Selection
from telelake.lake.layout import parse_date


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP event the webhook needs; header names lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def http_request(event: Mapping[str, Any]) -> HttpRequest:
    """Read an API Gateway (v2 or v1) or Function URL event; 400 when it is not one."""
    if not isinstance(event, Mapping):
        raise BadUpdateError("event is not an HTTP request")
    context = event.get("requestContext") or {}
    http = context.get("http") if isinstance(context, Mapping) else None
    if isinstance(http, Mapping):
        method = str(http.get("method", ""))
        path = str(event.get("rawPath") or http.get("path") or "/")
    else:
        method = str(event.get("httpMethod", ""))
        path = str(event.get("path") or "/")
    raw_headers = event.get("headers") or {}
    headers = {str(k).lower(): str(v) for k, v in raw_headers.items()}
    return HttpRequest(method.upper(), path, headers, _body(event))


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise BadUpdateError("event body is not text")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadUpdateError("event body is not valid base64") from None
    # API Gateway decoded the UTF-8 Telegram sent; encoding again gives its bytes.
    return body.encode("utf-8", "surrogateescape")


def http_response(status: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A response both API Gateway HTTP APIs and Function URLs return as is."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": orjson.dumps(dict(payload)).decode("utf-8"),
        "isBase64Encoded": False,
    }


def etl_request(event: Any) -> Selection:
    """Read a schedule, backfill or continuation event.

    A plain EventBridge schedule (``"detail-type": "Scheduled Event"``) builds
    the changed and outdated dates. A backfill names ``date``, or
    ``since``/``until``, or ``all: true``, or ``dates: [...]``, at the top level
    (a rule's constant input, a direct ``aws lambda invoke``) or inside
    ``detail`` (a custom EventBridge event). An SQS event (the ETL's own
    continuation, see :mod:`telelake.aws.continuation`) carries the same
    fields as JSON in each record's body.
    """
    records = event.get("Records") if isinstance(event, Mapping) else None
    if isinstance(records, list) and records:
        return _merged([_selection(_sqs_body(record)) for record in records])
    return _selection(event)


def _sqs_body(record: Any) -> Any:
    if not isinstance(record, Mapping) or record.get("eventSource") != "aws:sqs":
        raise UsageError("an ETL event with Records must come from SQS (eventSource aws:sqs)")
    try:
        return orjson.loads(str(record.get("body") or "{}"))
    except orjson.JSONDecodeError:
        raise UsageError(f"SQS message {record.get('messageId')} is not JSON") from None


def _merged(selections: list[Selection]) -> Selection:
    """One selection for a batch of messages: the default run covers any dates."""
    if len(selections) == 1:
        return selections[0]
    if any(s == Selection() for s in selections):
        return Selection()
    if all(s.dates is not None for s in selections):
        return Selection(dates=tuple(sorted({d for s in selections for d in s.dates or ()})))
    raise UsageError("an SQS batch may hold one backfill range at a time (use batch size 1)")


def _selection(event: Any) -> Selection:
    if not isinstance(event, Mapping):
        return Selection()
    fields: dict[str, Any] = {}
    detail = event.get("detail")
    if isinstance(detail, Mapping):
        fields.update(detail)
    fields.update({k: v for k, v in event.items() if k in _FIELDS})

    def day(value: Any, name: str) -> date | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise UsageError(f"{name} in the event must be a YYYY-MM-DD string, got {value!r}")
        return parse_date(value)

    everything = fields.get("all", False)
    if not isinstance(everything, bool):
        raise UsageError(f"all in the event must be true or false, got {everything!r}")
    dates = fields.get("dates")
    if dates is not None and not isinstance(dates, list):
        raise UsageError(f"dates in the event must be a list of YYYY-MM-DD strings, got {dates!r}")
    return Selection(
        day(fields.get("date"), "date"),
        day(fields.get("since"), "since"),
        day(fields.get("until"), "until"),
        everything,
        None if dates is None else tuple(d for d in (day(v, "dates") for v in dates) if d),
    )


_FIELDS = ("date", "since", "until", "all", "dates")


def continuation_body(selection: Selection, left: list[date]) -> str:
    """The event that makes the next invocation build what this one ``left``.

    A default run needs none: the dates it left are still marked changed or
    outdated, and the next default run plans them (and anything newer) again.
    """
    if selection == Selection():
        return "{}"
    return orjson.dumps({"dates": [day.isoformat() for day in left]}).decode()

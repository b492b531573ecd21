"""``telelake run`` and ``telelake poll``: ingest (polling or webhook) beside a daily ETL.

One process, two activities:

- ingest in the main thread: the :class:`~telelake.ingest.poller.Poller`, or
  the webhook app served by uvicorn after ``setWebhook`` told Telegram where
  it is and which secret to send;
- the ETL in a background thread: the changed partitions at start, then
  every day at ``etl_at`` local time (:mod:`telelake.scheduler`). Ingest and
  ETL coordinate only through the raw layer's change markers, so neither
  waits for the other.

Stopping (SIGTERM, SIGINT) is graceful: a webhook request being stored
finishes (uvicorn's graceful shutdown), the poller stores the batch in hand
(a wait inside getUpdates is interrupted: nothing is in hand then), the ETL
finishes the partitions it is building, and the process exits 0.
"""

from __future__ import annotations

import logging
import secrets
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from types import FrameType

from starlette.routing import BaseRoute

from telelake.config import Settings
from telelake.errors import StorageError
from telelake.etl.pseudonyms import from_settings as pseudonyms_from_settings
from telelake.etl.runner import plan, run
from telelake.ingest.core import Ingestor
from telelake.ingest.poller import Poller
from telelake.lake.manifest import ensure_zone
from telelake.lake.storage import Store, open_store
from telelake.redaction import install_log_redaction, register_secret
from telelake.scheduler import DailySchedule, parse_hhmm
from telelake.telegram.botapi import BotApi

log = logging.getLogger("telelake.run")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Dates built between two looks at the stop flag (enough for every core).
ETL_CHUNK = 8


class _Interrupted(BaseException):
    """Raised by the signal handler to leave a getUpdates wait (nothing is in hand then)."""


@contextmanager
def stop_on_signals(stop: threading.Event, poller: Poller | None = None) -> Iterator[None]:
    """SIGTERM/SIGINT set ``stop``; a poller blocked in getUpdates is woken up."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            log.info("%s received: stopping gracefully", signal.Signals(signum).name)
        stop.set()
        if poller is not None and poller.waiting:
            raise _Interrupted

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class EtlWorker:
    """The ETL thread: changed partitions at start, then daily at ``settings.etl_at``."""

    def __init__(
        self, settings: Settings, raw: Store, enriched: Store, stop: threading.Event
    ) -> None:
        self.settings = settings
        self.raw = raw
        self.enriched = enriched
        self.stop = stop
        self.at = parse_hhmm(settings.etl_at)
        # Resolved now: a missing pseudonym key fails the start, not a nightly run.
        self.pseudonyms = pseudonyms_from_settings(settings)
        self.thread = threading.Thread(target=self._main, name="telelake-etl", daemon=True)
        self._at_start = True
        self.runs = 0

    def start(self, at_start: bool = True) -> None:
        self._at_start = at_start
        self.thread.start()

    def join(self) -> None:
        if self.thread.is_alive():
            log.info("waiting for the ETL to finish the partitions it is building")
        self.thread.join()

    def build_changed(self) -> None:
        """Build every date whose raw data changed, a chunk at a time, until stopped."""
        days = plan(self.raw, self.enriched)
        if not days:
            log.info("ETL: no partition changed since its last build")
            return
        built = messages = 0
        for first in range(0, len(days), ETL_CHUNK):
            if self.stop.is_set():
                # The dates left keep their change markers: the next run builds them.
                log.info("ETL stopped early; %d date(s) left for the next run", len(days) - built)
                break
            chunk = days[first : first + ETL_CHUNK]
            summary = run(
                self.raw, self.enriched, chunk, self.settings.zone, pseudonyms=self.pseudonyms
            )
            built += len(chunk)
            messages += summary.total("telegram")
        self.runs += 1
        log.info(
            "ETL built %d partition(s) (%s .. %s): %d message rows",
            built,
            days[0].isoformat(),
            days[min(built, len(days)) - 1].isoformat(),
            messages,
        )

    def _main(self) -> None:
        if self._at_start:
            try:
                self.build_changed()
            except Exception:
                log.exception("ETL at start failed; the daily run tries again")
        DailySchedule(self.build_changed, self.at, self.settings.zone, self.stop).run_forever()


def _open_raw(settings: Settings) -> Store:
    store = open_store(settings.raw_url)
    try:
        ensure_zone(store, settings.timezone)
    except StorageError as exc:
        # Start anyway: ingest fails (5xx / no offset advance) until storage is back.
        log.error("raw layer not writable yet, retrying until it is: %s", exc)
    return store


def _etl_worker(
    settings: Settings, raw: Store, stop: threading.Event, on: bool
) -> EtlWorker | None:
    return EtlWorker(settings, raw, open_store(settings.enriched_url), stop) if on else None


def serve_polling(
    settings: Settings,
    api: BotApi,
    *,
    allowed_updates: Sequence[str] | None,
    timeout: int = 25,
    etl: bool = True,
    etl_at_start: bool = True,
    report_every: float = 60.0,
) -> None:
    """Long polling until SIGTERM/SIGINT; with ``etl``, the ETL thread beside it."""
    stop = threading.Event()
    raw = _open_raw(settings)
    poller = Poller(
        api,
        Ingestor(settings, raw),
        allowed_updates=allowed_updates,
        timeout=timeout,
        report_every=report_every,
    )
    worker = _etl_worker(settings, raw, stop, etl)
    if worker is not None:
        worker.start(at_start=etl_at_start)
    log.info("polling for updates; raw layer %s", settings.raw_url)
    try:
        with stop_on_signals(stop, poller):
            try:
                poller.run(stop)
            except _Interrupted:
                poller.report(force=True)
            # Still under our handlers: a late signal must not kill the confirm.
            poller.confirm()
    finally:
        stop.set()
        if worker is not None:
            worker.join()
    log.info("stopped; everything acknowledged is in %s", settings.raw_url)


def serve_webhook(
    settings: Settings,
    api: BotApi,
    *,
    public_url: str,
    host: str,
    port: int,
    path: str,
    allowed_updates: Sequence[str] | None,
    max_connections: int | None = None,
    drop_pending: bool = False,
    etl: bool = True,
    etl_at_start: bool = True,
    extra_routes: Sequence[BaseRoute] = (),
) -> None:
    """Set the webhook, then serve it until SIGTERM/SIGINT, with the ETL thread beside it.

    ``extra_routes`` is where pages served beside the webhook plug in (the
    ``/report`` page): they share the server and its port.
    """
    from telelake.ingest.webhook import create_app, run_server

    if settings.secret is None:
        # Telegram sends back whatever secret we give it: a fresh one per
        # start needs no configuration and is never written anywhere.
        settings = replace(settings, secret=secrets.token_urlsafe(32))
        register_secret(settings.secret)
    raw = _open_raw(settings)
    app = create_app(Ingestor(settings, raw), path=path, extra_routes=extra_routes)
    stop = threading.Event()
    worker = _etl_worker(settings, raw, stop, etl)
    api.set_webhook(
        public_url,
        secret_token=settings.secret,
        allowed_updates=allowed_updates,
        max_connections=max_connections,
        drop_pending_updates=drop_pending,
    )
    log.info("webhook set; Telegram posts to the public URL, served on http://%s:%s%s",
             host, port, path)  # fmt: skip
    if worker is not None:
        worker.start(at_start=etl_at_start)
    try:
        # Ours under uvicorn's: it re-raises the signal it caught once it has
        # shut down, and that must land here (set stop), not kill the process.
        with stop_on_signals(stop):
            install_log_redaction()
            run_server(app, host, port)
    finally:
        stop.set()
        if worker is not None:
            worker.join()
    # The webhook stays set on purpose: Telegram keeps updates for 24 h and
    # delivers them when the next `telelake run` starts.
    log.info("stopped; everything acknowledged is in %s", settings.raw_url)

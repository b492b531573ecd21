"""``telelake run``, ``poll`` and ``serve``: ingest, polling or webhook, and a daily ETL.

One process, two activities:

- ingest in the main thread: the :class:`~telelake.ingest.poller.Poller`, or
  the webhook app served by uvicorn (after ``setWebhook`` told Telegram where
  it is and which secret to send, when a bot is given);
- the ETL in a background thread: the changed and outdated partitions at
  start, then every day at ``etl_at`` local time (:mod:`telelake.scheduler`),
  each time packing the closed raw days into segments (``compact_after``).
  Ingest and ETL coordinate only through the raw layer's change markers, so
  neither waits for the other;
- with replies on (``run --replies``), the responder thread
  (:mod:`telelake.responder.worker`): ingest hands it each update after
  acknowledging it, on a queue that never blocks ingest. It takes the ETL's
  build lock only for a ``/forgetme`` erasure.

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from types import FrameType

from starlette.routing import BaseRoute

from telelake.config import Settings
from telelake.etl.layers import Layers
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.ingest.poller import Poller
from telelake.ingest.snapshots import snapshot_lake
from telelake.redaction import install_log_redaction, register_secret
from telelake.scheduler import DailySchedule, parse_hhmm
from telelake.telegram.botapi import BotApi

log = logging.getLogger("telelake.run")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


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
    """The ETL thread: changed and outdated partitions at start, then daily at
    ``settings.etl_at``; closed raw days compacted after each build."""

    def __init__(
        self,
        settings: Settings,
        stop: threading.Event,
        lock: threading.Lock | None = None,
        *,
        snapshots: bool = False,
    ) -> None:
        self.settings = settings
        self.stop = stop
        # With a bot: each chat's member count, once a day, before the build.
        self.snapshots = snapshots
        # Held while building; a /forgetme erasure holds it too, so the two take turns.
        self.lock = lock or threading.Lock()
        self.at = parse_hhmm(settings.etl_at)
        # Opened now: a missing pseudonym key or another zone fails the start,
        # not a nightly run.
        self.layers = Layers.open(settings)
        self.thread = threading.Thread(target=self._main, name="telelake-etl", daemon=True)
        self._at_start = True

    def start(self, at_start: bool = True) -> None:
        self._at_start = at_start
        self.thread.start()

    def join(self) -> None:
        if self.thread.is_alive():
            log.info("waiting for the ETL to finish the partitions it is building")
        self.thread.join()

    def build_changed(self) -> None:
        """Build every date that changed or is outdated, until done or stopped.

        Dates not started when the stop comes keep their change markers: the
        next run builds them.
        """
        if self.snapshots:
            snapshot_lake(self.settings)
        with self.lock:
            summary = run(
                self.layers, stop=self.stop.is_set, compact_after=self.settings.compact_after
            )
        log.info("%s", summary.describe())

    def _main(self) -> None:
        if self._at_start:
            try:
                self.build_changed()
            except Exception:
                log.exception("ETL at start failed; the daily run tries again")
        DailySchedule(self.build_changed, self.at, self.settings.zone, self.stop).run_forever()


@contextmanager
def _with_etl(
    settings: Settings,
    stop: threading.Event,
    on: bool,
    at_start: bool,
    lock: threading.Lock | None = None,
    snapshots: bool = False,
) -> Iterator[None]:
    """The ETL thread (when ``on``) for the lifetime of the block; stopped and joined after."""
    worker = EtlWorker(settings, stop, lock, snapshots=snapshots) if on else None
    if worker is not None:
        worker.start(at_start=at_start)
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            worker.join()
        log.info("stopped; everything acknowledged is in %s", settings.raw_url)


@contextmanager
def _with_responder(
    settings: Settings, stop: threading.Event, on: bool, lock: threading.Lock
) -> Iterator[Callable[[bytes, str], None] | None]:
    """The responder thread (when ``on`` and replies are enabled); yields ingest's hand-over."""
    if not (on and settings.replies):
        yield None
        return
    from telelake.responder.worker import ResponderWorker

    worker = ResponderWorker(settings, stop, lock=lock)
    worker.start()
    try:
        yield worker.offer
    finally:
        stop.set()
        worker.join()


def serve_polling(
    settings: Settings,
    api: BotApi,
    *,
    allowed_updates: Sequence[str] | None,
    timeout: int = 25,
    etl: bool = True,
    etl_at_start: bool = True,
    report_every: float = 60.0,
    replies: bool = False,
) -> None:
    """Long polling until SIGTERM/SIGINT; with ``etl``, the ETL thread beside it, and with
    ``replies`` (and ``settings.replies``), the responder."""
    stop = threading.Event()
    lock = threading.Lock()
    ingestor = Ingestor.open(settings)
    with (
        _with_etl(settings, stop, etl, etl_at_start, lock, snapshots=True),
        _with_responder(settings, stop, replies, lock) as hand_over,
    ):
        poller = Poller(
            api,
            ingestor,
            allowed_updates=allowed_updates,
            timeout=timeout,
            report_every=report_every,
            after_store=hand_over,
        )
        log.info("polling for updates; raw layer %s", settings.raw_url)
        with stop_on_signals(stop, poller):
            try:
                poller.run(stop)
            except _Interrupted:
                poller.report(force=True)
            # Still under our handlers: a late signal must not kill the confirm.
            poller.confirm()


def serve_webhook(
    settings: Settings,
    api: BotApi | None,
    *,
    host: str,
    port: int,
    path: str,
    public_url: str | None = None,
    allowed_updates: Sequence[str] | None = None,
    max_connections: int | None = None,
    drop_pending: bool = False,
    etl: bool = True,
    etl_at_start: bool = True,
    extra_routes: Sequence[BaseRoute] = (),
    replies: bool = False,
) -> None:
    """Serve the webhook until SIGTERM/SIGINT, with the ETL thread beside it (``etl``).

    With ``api`` (``telelake run``), first tells Telegram the ``public_url``
    and a secret (``setWebhook``); without (``telelake serve``), only serves.
    ``extra_routes`` is where pages served beside the webhook plug in (the
    ``/report`` page): they share the server and its port. With ``replies`` (and
    ``settings.replies``) the responder answers commands (``telelake run``).
    """
    from telelake.ingest.webhook import bind, create_app, run_server

    if api is not None and settings.secret is None:
        # Telegram sends back whatever secret we give it: a fresh one per
        # start needs no configuration and is never written anywhere.
        settings = replace(settings, secret=secrets.token_urlsafe(32))
        register_secret(settings.secret)
    ingestor = Ingestor.open(settings)
    # Bound before Telegram is told the URL and before "listening" is logged:
    # a port in use fails the start with one line (exit 1), nothing else.
    sock = bind(host, port)
    stop = threading.Event()
    lock = threading.Lock()
    if api is not None and public_url is not None:
        api.set_webhook(
            public_url,
            secret_token=settings.secret,
            allowed_updates=allowed_updates,
            max_connections=max_connections,
            drop_pending_updates=drop_pending,
        )
        log.info("webhook set; Telegram posts to the public URL")
    log.info("raw layer %s; listening on http://%s:%s%s", settings.raw_url, host, port, path)
    # The webhook stays set when we stop, on purpose: Telegram keeps updates
    # for 24 h and delivers them when the next `telelake run` starts.
    with (
        _with_etl(settings, stop, etl, etl_at_start, lock, snapshots=api is not None),
        _with_responder(settings, stop, replies and api is not None, lock) as hand_over,
        stop_on_signals(stop),
    ):
        app = create_app(ingestor, path=path, extra_routes=extra_routes, after_ack=hand_over)
        # Ours under uvicorn's: it re-raises the signal it caught once it has
        # shut down, and that must land here (set stop), not kill the process.
        install_log_redaction()
        run_server(app, sock)

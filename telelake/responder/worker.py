"""The responder of ``telelake run``: a thread with its own queue, beside ingest.

Ingest calls :meth:`ResponderWorker.offer` after an update is stored and
acknowledged (the poller after storing it, the webhook after answering
Telegram). ``offer`` looks at the bytes and puts the few that may need an
answer on a bounded queue without waiting: it can neither block nor fail
ingest, and a full queue only costs answers (the updates are in the lake).

The thread registers the command menu, then answers what the last run left:
commands of the last 15 minutes in the raw layer that its records do not
list as handled (a crash mid-answer repeats at most that answer). Then it
loops: take what is queued, answer, send what the limits allow, post due
digests. Every failure is logged and the loop goes on; if the responder
cannot start at all (no token, a broken lake), collection goes on without it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from telelake.config import Settings
from telelake.errors import TelelakeError
from telelake.etl.layers import Layers
from telelake.responder.core import Responder
from telelake.responder.menu import register
from telelake.responder.outbox import STALE_SECONDS, Stopping
from telelake.responder.triggers import may_need_answer
from telelake.telegram.botapi import BotApi

log = logging.getLogger("telelake.responder")

QUEUE_SIZE = 10_000
# Longest wait for the next queued update, so digests and paused sends are not late.
NAP = 1.0
TICK_EVERY = 30.0
DRAIN = 200


class ResponderWorker:
    """The responder thread: :meth:`offer` from ingest, :meth:`start`, :meth:`join`."""

    def __init__(
        self,
        settings: Settings,
        stop: threading.Event,
        *,
        lock: threading.Lock | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.stop = stop
        self.lock = lock
        self.clock = clock
        self.queue: queue.Queue[tuple[bytes, str]] = queue.Queue(QUEUE_SIZE)
        self.thread = threading.Thread(target=self._main, name="telelake-responder", daemon=True)
        self.dropped = 0
        self.core: Responder | None = None

    def offer(self, body: bytes, outcome: str) -> None:
        """Hand over an acknowledged update; never blocks, never raises."""
        if not may_need_answer(body):
            return
        try:
            self.queue.put_nowait((body, outcome))
        except queue.Full:
            self.dropped += 1
            if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                log.warning("responder queue full: %d update(s) not answered", self.dropped)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float = 10.0) -> None:
        # A send in hand finishes or times out; the thread is a daemon either way.
        self.thread.join(timeout)

    def _pause(self, seconds: float) -> None:
        """The Bot API client's waits (a 429's ``retry_after``, a backoff): a stop ends them."""
        if self.core is not None:
            self.core.limiter.pause(seconds)
        if self.stop.wait(seconds):
            raise Stopping

    def _open(self) -> Responder:
        api = BotApi(self.settings.require_token(), self.settings.api_url, sleep=self._pause)
        return Responder(self.settings, Layers.open(self.settings), api, clock=self.clock,
                         lock=self.lock)  # fmt: skip

    def _main(self) -> None:
        try:
            core = self.core = self._open()
        except Exception as exc:
            log.error("the responder could not start (%s); collecting without answering", exc)
            return
        try:
            register(core.api, self.settings.forgetme)
            log.info("replies on: command menu registered")
        except (TelelakeError, Stopping) as exc:
            log.warning("could not register the command menu (%s); commands still work", exc)
        try:
            self._recover(core)
            self._loop(core)
        except Stopping:
            pass
        finally:
            core.api.close()

    def _recover(self, core: Responder) -> None:
        """Answer commands of the last minutes that no record lists as handled."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        today = now.astimezone(core.zone).date()
        for day in sorted({(now - timedelta(seconds=STALE_SECONDS)).astimezone(core.zone).date(),
                           today}):  # fmt: skip
            try:
                pairs = core.live.raw_pairs(day)
            except TelelakeError as exc:
                log.warning("could not look for unanswered commands of %s: %s", day, exc)
                continue
            for _, body in pairs:
                if may_need_answer(body):
                    self._handle(core, body, "stored")
        core.save()
        if core.outbox:
            log.info("answering %d command(s) left unanswered by the last run", len(core.outbox))

    def _handle(self, core: Responder, body: bytes, outcome: str) -> None:
        try:
            core.handle(orjson.loads(body), outcome)
        except Stopping:
            raise
        except Exception:
            log.exception("an update could not be answered; going on")

    def _loop(self, core: Responder) -> None:
        next_tick = 0.0
        while not self.stop.is_set():
            try:
                wait = core.outbox.send_ready()
            except Stopping:
                raise
            except Exception:
                log.exception("sending failed; going on")
                wait = NAP
            try:
                body, outcome = self.queue.get(timeout=min(NAP, wait if wait is not None else NAP))
            except queue.Empty:
                pass
            else:
                self._handle(core, body, outcome)
                for _ in range(DRAIN):
                    try:
                        body, outcome = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    self._handle(core, body, outcome)
            if self.clock() >= next_tick:
                next_tick = self.clock() + TICK_EVERY
                try:
                    core.tick()
                except Exception:
                    log.exception("digests could not be checked; trying again soon")
            try:
                core.save()
            except TelelakeError as exc:
                log.warning("responder records not saved (%s); trying again", exc)

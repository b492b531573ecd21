"""What the bot answers, and when: commands, joins and digests, decided once for every edge.

:class:`Responder` is the one core behind ``telelake run`` (a thread,
:mod:`telelake.responder.worker`) and the responder Lambda
(``telelake/aws/responder.py``). It is handed updates that ingest has
already stored and acknowledged, and the clock ticks for digests; it puts
messages in its :class:`~telelake.responder.outbox.Outbox`, which the edge
drains as Telegram's limits allow.

Rules a group would expect from a well-behaved bot:

- commands addressed to another bot (``/stats@other_bot``), unknown commands,
  edits and commands from chats the lake does not keep are ignored; a command
  older than 15 minutes (the bot was down) is not answered late;
- one answer per chat and command per minute (``/me``, ``/forgetme`` and the
  settings: per person); the rest of a burst is coalesced into that answer;
- a command is answered once: it counts as handled when its answer was sent
  (or given up), and the record of handled commands outlives restarts, so a
  crash mid-answer repeats at most that answer;
- settings (``/digest``, ``/alerts``) change only for administrators, checked
  with ``getChatMember`` each time (an anonymous administrator posts as the
  group itself and is one).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from telelake.config import Settings
from telelake.errors import BotApiError, ConfigError
from telelake.etl.layers import Layers
from telelake.responder import erasure, texts
from telelake.responder.charts import bars, chart_png
from telelake.responder.limits import RateLimiter
from telelake.responder.live import LiveLake
from telelake.responder.outbox import STALE_SECONDS, Outbox, Outgoing
from telelake.responder.records import ChatRecord, Records, tag
from telelake.responder.stats import (
    DEFAULT_PERIOD,
    PERIODS,
    TERMS,
    WANTED,
    Window,
    day_windows,
    my_chats,
    period_windows,
    posters,
    summary,
    words,
    words_available,
)
from telelake.responder.stats import mine as my_numbers
from telelake.responder.triggers import ANSWERED, Trigger, trigger_of
from telelake.scheduler import run_instant
from telelake.telegram.botapi import BotApi

log = logging.getLogger("telelake.responder")

COALESCE_SECONDS = 60.0
JOIN_WINDOW = 600
# A digest whose time passed longer ago than this (the bot was down) is skipped.
DIGEST_GRACE = timedelta(hours=6)
ADMINS = frozenset({"creator", "administrator"})
PERSONAL = frozenset({"me", "forgetme"})
SETTINGS = frozenset({"digest", "alerts"})
PSEUDONYMISED_WORD_PEOPLE = 3


def parse_digest_at(value: str) -> clock_time:
    from telelake.scheduler import parse_hhmm

    try:
        return parse_hhmm(value)
    except ConfigError:
        raise ConfigError(
            f"digest_at must be a local time as HH:MM (24 h), e.g. 09:00; got {value!r}"
        ) from None


class Responder:
    """Decides and composes answers for one bot and one lake."""

    def __init__(
        self,
        settings: Settings,
        layers: Layers,
        api: BotApi,
        *,
        clock: Callable[[], float] = time.time,
        lock: threading.Lock | None = None,
    ) -> None:
        self.settings = settings
        self.layers = layers
        self.api = api
        self.clock = clock
        self.lock = lock
        self.zone = settings.zone
        self.names = layers.pseudonyms is None
        self.digest_at = parse_digest_at(settings.digest_at)
        token = settings.require_token().encode()
        self.secret = hashlib.sha256(b"telelake responder\0" + token).digest()
        self.limiter = RateLimiter(clock=clock)
        self.outbox = Outbox(api, self.limiter, clock)
        self.records = Records(layers.raw)
        self.live = LiveLake(layers)
        self._username: str | None = None
        self._inflight: set[tuple[int | None, int]] = set()

    # -- what arrives --------------------------------------------------------

    def handle(self, data: Any, outcome: str = "stored") -> None:
        """One update ingest stored (``outcome`` from its receipt) that may need an answer."""
        trigger = trigger_of(data) if isinstance(data, dict) else None
        if trigger is None:
            return
        if outcome == "filtered" and not trigger.private:
            return  # a group the operator does not collect
        if trigger.joined:
            self._joins(trigger)
        elif trigger.command is not None:
            self._command(trigger)

    def username(self) -> str | None:
        if self._username is None:
            try:
                self._username = str(self.api.get_me().get("username") or "") or None
            except BotApiError as exc:
                log.warning(
                    "getMe failed (%s); answering only commands not addressed to a bot", exc
                )
        return self._username

    def _command(self, trigger: Trigger) -> None:
        command = trigger.command
        assert command is not None
        if command.name not in ANSWERED:
            return
        if command.bot is not None and command.bot.lower() != (self.username() or "").lower():
            return
        record = self._record(trigger.chat_id)
        ident = (record.chat_id, trigger.update_id)
        if trigger.update_id in record.handled or ident in self._inflight:
            return  # a re-delivery, or recovered after a restart and already in hand
        now = self.clock()
        self._inflight.add(ident)

        def finished(_: bool = True) -> None:
            self._inflight.discard(ident)
            record.handled[trigger.update_id] = self.clock()
            self.records.changed(record)

        if now - trigger.date > STALE_SECONDS:
            finished()
            return
        key = self._coalesce_key(trigger)
        last = record.answered.get(key)
        # The same update again (recovered after a crash mid-answer) is answered again.
        if last is not None and now - last[0] < COALESCE_SECONDS and last[1] != trigger.update_id:
            finished()
            return
        record.answered[key] = (now, trigger.update_id)
        self.records.changed(record)
        try:
            message = self._answer(trigger)
        except Exception:
            log.exception("/%s in chat %s could not be answered", command.name, trigger.chat_id)
            message = None
        if message is None:
            finished()
            return
        message.done = finished
        self.outbox.put(message)

    def _coalesce_key(self, trigger: Trigger) -> str:
        command = trigger.command
        assert command is not None
        key = command.name
        if command.name in SETTINGS:
            # A setting is not a question: nobody's request may swallow an admin's.
            key += ":" + " ".join(command.args).lower()
        if command.name in PERSONAL | SETTINGS and trigger.user_id is not None:
            key += ":" + tag(self.secret, trigger.user_id)
            if command.name == "forgetme":
                key += ":" + ("confirm" if command.args else "ask")
        return key

    # -- commands ------------------------------------------------------------

    def _reply(self, trigger: Trigger, text: str, png: bytes | None = None) -> Outgoing:
        return Outgoing(
            trigger.chat_id,
            text,
            png,
            reply_to=trigger.message_id,
            thread_id=trigger.thread_id,
            created=self.clock(),
        )

    def _period(self, trigger: Trigger) -> str | None:
        command = trigger.command
        assert command is not None
        if not command.args:
            return DEFAULT_PERIOD
        wanted = command.args[0].lower()
        return wanted if wanted in PERIODS else None

    def _answer(self, trigger: Trigger) -> Outgoing | None:
        command = trigger.command
        assert command is not None
        name = command.name
        if name in ("help", "start"):
            text = texts.help_text(self.settings.forgetme, self.settings.digest_at, self.zone)
            return self._reply(trigger, text)
        if name == "forgetme":
            return self._forgetme(trigger)
        if name in SETTINGS:
            return self._settings(trigger)
        period = self._period(trigger)
        if period is None:
            return self._reply(trigger, f"Use /{name} today, /{name} week or /{name} month.")
        if name == "me":
            return self._me(trigger, period)
        if trigger.private:
            return self._reply(trigger, f"/{name} works in a group; here, /me gives your numbers.")
        now = datetime.fromtimestamp(self.clock(), UTC)
        current, before = period_windows(period, now, self.zone)
        label = texts.period_label(period, current, self.zone)
        if name == "stats":
            return self._stats(trigger, current, before, label)
        if name == "top":
            with self.live.session(current.days, WANTED) as con:
                people = posters(con, trigger.chat_id, current, 10, self.names)
            return self._reply(trigger, texts.top(people, trigger.chat_title, label[0], self.names))
        if name == "words":
            if not words_available():
                return self._reply(trigger, texts.WORDS_UNAVAILABLE)
            wanted = {TERMS: ("chat_id", "user_id", "kind", "term", "n")}
            # Words are people's text: a pseudonymised lake lists only words several
            # people used, so one person's name typed by one person does not come up.
            shared = 1 if self.names else PSEUDONYMISED_WORD_PEOPLE
            with self.live.session(current.days, wanted) as con:
                found = words(con, trigger.chat_id, current, min_people=shared)
            return self._reply(trigger, texts.words(found, trigger.chat_title, label[0]))
        return None

    def _stats(
        self, trigger: Trigger, current: Window, before: Window, label: tuple[str, str]
    ) -> Outgoing:
        with self.live.session(before.days + current.days, WANTED) as con:
            found = summary(con, trigger.chat_id, current, before, self.names)
        found.title = found.title or trigger.chat_title
        text = texts.stats(found, label, self.names, self.zone)
        return self._reply(trigger, text, self._chart(found.series, label[0]))

    def _chart(self, series: list[tuple[str, int]], label: str) -> bytes | None:
        hourly = len(series) == 24 and all(len(name) == 2 for name, _ in series)
        shown = series if hourly else [(day[5:], n) for day, n in series]
        x_title = f"hour ({self.zone.key})" if hourly else "day"
        return chart_png(bars(shown, f"Messages, {label}", x_title))

    def _asker(self, trigger: Trigger) -> int | None:
        """The asker as the enriched layer knows them (their pseudonym in a pseudonymised lake)."""
        if trigger.user_id is None or trigger.as_chat:
            return None
        if self.layers.pseudonyms is not None:
            return self.layers.pseudonyms.pseudonym(trigger.user_id)
        return trigger.user_id

    def _me(self, trigger: Trigger, period: str) -> Outgoing:
        asker = self._asker(trigger)
        if asker is None or trigger.user_id is None:
            return self._reply(trigger, "Anonymous administrators have no numbers of their own.")
        now = datetime.fromtimestamp(self.clock(), UTC)
        current, _ = period_windows(period, now, self.zone)
        label = texts.period_label(period, current, self.zone)[0]
        with self.live.session(current.days, WANTED) as con:
            chats = [trigger.chat_id] if not trigger.private else my_chats(con, asker, current)
            found = [my_numbers(con, chat, asker, current) for chat in chats]
        if not found:
            text = f"🙋 No messages from you in the groups I collect, {label}."
        else:
            text = "\n\n".join(texts.mine(numbers, label) for numbers in found)
        if trigger.private:
            return self._reply(trigger, text)
        # Privately first; Telegram refuses (403) when they never started the bot.
        in_group = text if self.settings.me_in_group else texts.ME_START_PRIVATELY
        fallback = self._reply(trigger, in_group)
        return Outgoing(trigger.user_id, text, fallback=fallback, created=self.clock())

    def _is_admin(self, trigger: Trigger) -> bool | None:
        if trigger.as_chat:
            return True
        if trigger.user_id is None:
            return False
        try:
            member = self.api.get_chat_member(trigger.chat_id, trigger.user_id)
        except BotApiError as exc:
            log.warning("getChatMember failed in chat %s: %s", trigger.chat_id, exc)
            return None
        return member.get("status") in ADMINS

    def _settings(self, trigger: Trigger) -> Outgoing:
        command = trigger.command
        assert command is not None
        name = command.name
        if trigger.private:
            return self._reply(trigger, f"Use /{name} in the group you administer.")
        record = self.records.get(trigger.chat_id)
        if not command.args:
            return self._reply(trigger, self._describe(name, record))
        choice = command.args[0].lower()
        if name == "digest":
            valid = choice in ("daily", "weekly", "off")
        else:
            valid = choice == "off" or (choice.isdigit() and 0 < int(choice) <= 100_000)
        if not valid:
            usage = "/digest daily|weekly|off" if name == "digest" else "/alerts N|off"
            return self._reply(trigger, f"Use {usage}.")
        admin = self._is_admin(trigger)
        if admin is None:
            return self._reply(trigger, "I could not check who is an administrator; try later.")
        if not admin:
            return self._reply(trigger, f"Only the group's administrators can change /{name}.")
        if name == "digest":
            record.digest = choice
            now = datetime.fromtimestamp(self.clock(), UTC)
            today = now.astimezone(self.zone).date()
            # Turned on after today's time: the first digest is tomorrow's, not one at once.
            if run_instant(today, self.digest_at, self.zone) <= now:
                record.digest_last = today.isoformat()
        else:
            record.alert_joins = 0 if choice == "off" else int(choice)
        self.records.changed(record)
        return self._reply(trigger, self._describe(name, record))

    def _describe(self, name: str, record: ChatRecord) -> str:
        at = f"{self.settings.digest_at} ({self.zone.key})"
        if name == "digest":
            return {
                "daily": f"Digest: daily at {at}, about the day before.",
                "weekly": f"Digest: every Monday at {at}, about the week before.",
                "off": "Digest: off. An administrator can send /digest daily or /digest weekly.",
            }[record.digest]
        threshold = self._threshold(record)
        if threshold == 0:
            return "Join alerts: off. An administrator can send /alerts N (e.g. /alerts 20)."
        return (
            f"Join alerts: when more than {threshold} people join within 10 minutes, I tell "
            "the administrators who have started me privately (else this group)."
        )

    def _threshold(self, record: ChatRecord) -> int:
        if record.alert_joins is not None:
            return record.alert_joins
        return self.settings.alert_joins

    def _forgetme(self, trigger: Trigger) -> Outgoing:
        command = trigger.command
        assert command is not None and trigger.user_id is not None
        if not trigger.private:
            return self._reply(trigger, erasure.ONLY_PRIVATE)
        if not self.settings.forgetme:
            return self._reply(trigger, erasure.NOT_ALLOWED.format(user_id=trigger.user_id))
        now = self.clock()
        if not command.args:
            code = erasure.code_for(self.secret, trigger.user_id, now)
            return self._reply(trigger, erasure.explain(code))
        if not erasure.code_matches(self.secret, trigger.user_id, command.args[0], now):
            return self._reply(trigger, erasure.WRONG_CODE)
        self.outbox.put(self._reply(trigger, erasure.STARTED))
        self.outbox.send_ready()
        try:
            erased = erasure.erase(self.layers, trigger.user_id, self.lock, self.clock)
        except Exception:
            log.exception("/forgetme failed; the lake keeps its change markers for the next ETL")
            return self._reply(trigger, erasure.FAILED)
        self.live.forget()
        self.records.scrub(tag(self.secret, trigger.user_id), self.clock())
        # Not a reply: the message it would quote was just erased.
        return Outgoing(trigger.chat_id, erasure.done(erased), created=self.clock())

    # -- joins and alerts ----------------------------------------------------

    def _joins(self, trigger: Trigger) -> None:
        now = self.clock()
        if now - trigger.date > JOIN_WINDOW:
            return
        record = self._record(trigger.chat_id)
        record.forget_old(now)
        seen = {who for _, who in record.joins}
        for user_id in trigger.joined:
            person = tag(self.secret, user_id)
            if person not in seen:
                record.joins.append((float(trigger.date), person))
                seen.add(person)
        self.records.changed(record)
        threshold = self._threshold(record)
        recent = sum(1 for when, _ in record.joins if when > trigger.date - JOIN_WINDOW)
        if threshold <= 0 or recent <= threshold:
            return
        if record.alert_last is not None and now - record.alert_last < JOIN_WINDOW:
            return
        record.alert_last = now
        self._alert(trigger, recent, threshold)

    def _alert(self, trigger: Trigger, count: int, threshold: int) -> None:
        try:
            admins = self.api.get_chat_administrators(trigger.chat_id)
        except BotApiError as exc:
            log.warning("getChatAdministrators failed in chat %s: %s", trigger.chat_id, exc)
            admins = []
        people = [
            user["id"]
            for member in admins
            if isinstance(user := member.get("user"), dict)
            and type(user.get("id")) is int
            and user.get("is_bot") is not True
        ]
        text = texts.alert(count, threshold, None, False)
        group = Outgoing(trigger.chat_id, text, created=self.clock())
        if not people:
            self.outbox.put(group)
            return
        outcome = {"left": len(people), "delivered": 0}

        def one(delivered: bool) -> None:
            outcome["left"] -= 1
            outcome["delivered"] += int(delivered)
            if outcome["left"] == 0 and outcome["delivered"] == 0:
                self.outbox.put(group)

        text = texts.alert(count, threshold, trigger.chat_title, True)
        for person in people:
            self.outbox.put(Outgoing(person, text, done=one, created=self.clock()))

    # -- digests -------------------------------------------------------------

    def tick(self) -> None:
        """Post every digest that is due now, and let the records forget what no rule needs
        any more (people's tags among it) even in a quiet chat. Call every few minutes."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        private = self.records.get(None)
        if private.forget_old(self.clock()):
            self.records.changed(private)
        for chat_id in self.records.groups():
            record = self._record(chat_id)
            if record.forget_old(self.clock()):
                self.records.changed(record)
            if record.digest == "off":
                continue
            day = self.digest_due(record, now)
            if day is None:
                continue
            record.digest_last = day.isoformat()
            self.records.changed(record)
            try:
                self.outbox.put(self._digest(chat_id, record.digest, day))
            except Exception:
                log.exception("the digest of chat %s could not be made", chat_id)

    def digest_due(self, record: ChatRecord, now: datetime) -> date | None:
        """The local day whose digest is due at ``now``, if any (DST: scheduler.run_instant)."""
        today = now.astimezone(self.zone).date()
        for day in (today - timedelta(days=1), today):
            if record.digest_last is not None and record.digest_last >= day.isoformat():
                continue
            if record.digest == "weekly" and day.weekday() != 0:
                continue
            due = run_instant(day, self.digest_at, self.zone)
            if due <= now < due + DIGEST_GRACE:
                return day
        return None

    def _digest(self, chat_id: int, mode: str, day: date) -> Outgoing:
        days = 7 if mode == "weekly" else 1
        current, before = day_windows(day - timedelta(days=1), days, self.zone)
        with self.live.session(before.days + current.days, WANTED) as con:
            found = summary(con, chat_id, current, before, self.names)
        heading = texts.digest_heading(mode, current)
        label = (heading, "the week before" if mode == "weekly" else "the day before")
        text = "🗓 Digest\n" + texts.stats(found, label, self.names, self.zone)
        return Outgoing(chat_id, text, self._chart(found.series, heading), created=self.clock())

    # -- housekeeping --------------------------------------------------------

    def _record(self, chat_id: int) -> ChatRecord:
        """A chat's record; a group's recent sends join the limiter (an earlier process's)."""
        record = self.records.get(chat_id)
        if record.chat_id is not None:
            self.limiter.seed(record.chat_id, record.sent)
        return record

    def save(self) -> None:
        """Write the records changed since the last save (with each group's recent sends)."""
        for record in self.records.cached():
            if record.chat_id is not None:
                recent = self.limiter.recent(record.chat_id)
                if recent != record.sent:
                    record.sent = recent
                    self.records.changed(record)
        self.records.save(self.clock())

    def close(self) -> None:
        self.api.close()

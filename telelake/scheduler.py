"""When the daily ETL of ``telelake run`` happens: a pure next-run rule and a small loop.

The rule is "once per local day, at ``etl_at`` wall time in the lake's zone".
Daylight saving time makes that subtle, so the computation is a pure function
(:func:`next_run`) tested across transitions:

- a wall time that does not exist that day (spring forward) runs at the
  same distance after the gap: 02:30 in Berlin on the last Sunday of March is
  03:30 CEST, still that day;
- a wall time that happens twice (fall back) runs once, at the first one;
- a day that does not exist at all (Samoa skipped 2011-12-30) is skipped.

:class:`DailySchedule` is the loop around it. It never sleeps more than a
minute at a time before looking at the clock again, so a suspended laptop or
a clock step is caught up within a minute, and a stop request ends the wait.
"""

from __future__ import annotations

import logging
import re
import threading
import time as _time
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telelake.errors import ConfigError

log = logging.getLogger("telelake.scheduler")

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Longest single wait: a clock step or suspend is noticed within this.
MAX_NAP = 60.0


def parse_hhmm(value: str) -> time:
    """``"HH:MM"`` (24 h) as a :class:`datetime.time`; :class:`ConfigError` otherwise."""
    match = _HHMM.match(value.strip())
    if match is None:
        raise ConfigError(
            f"etl_at must be a local time as HH:MM (24 h), e.g. 00:30 or 23:05; got {value!r}"
        )
    return time(int(match.group(1)), int(match.group(2)))


def run_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``at`` on local ``day`` (gap: shifted; repeat: first)."""
    # fold=0 maps a non-existent wall time with the offset in force before the
    # gap (so it lands after the gap by the same distance) and an ambiguous one
    # to its first occurrence: exactly the rule above (PEP 495).
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def next_run(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first daily run strictly after ``after`` (an aware datetime), in UTC."""
    if after.tzinfo is None:
        raise ValueError("next_run needs an aware datetime")
    day = after.astimezone(zone).date() - timedelta(days=1)
    # Yesterday's run may still be ahead of ``after`` when a gap shifted it
    # past midnight; a skipped calendar day can make two days map to one
    # instant: the first instant strictly after ``after`` is the answer.
    for offset in range(4):
        candidate = run_instant(day + timedelta(days=offset), at, zone)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a run exists within three days")  # pragma: no cover


class DailySchedule:
    """Calls ``job`` once per local day at ``at`` until ``stop`` is set.

    ``clock`` (aware ``datetime`` now) and ``wait`` (``Event.wait``-like:
    returns True when stopped) are injectable so tests drive time.
    """

    def __init__(
        self,
        job: Callable[[], None],
        at: time,
        zone: ZoneInfo,
        stop: threading.Event,
        *,
        clock: Callable[[], datetime] | None = None,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.job = job
        self.at = at
        self.zone = zone
        self.stop = stop
        self.clock = clock or (lambda: datetime.fromtimestamp(_time.time(), UTC))
        self.wait = wait or stop.wait

    def run_forever(self) -> None:
        due = next_run(self.clock(), self.at, self.zone)
        log.info("next daily ETL at %s", due.astimezone(self.zone).isoformat(timespec="minutes"))
        while not self.stop.is_set():
            remaining = (due - self.clock()).total_seconds()
            if remaining > 0:
                if self.wait(min(remaining, MAX_NAP)):
                    return
                continue
            try:
                self.job()
            except Exception:
                # A failed daily run must not end collection; the markers of
                # the dates it did not build stay, so the next run retries.
                log.exception("daily ETL failed; it runs again at the next scheduled time")
            due = next_run(max(self.clock(), due), self.at, self.zone)
            log.info(
                "next daily ETL at %s", due.astimezone(self.zone).isoformat(timespec="minutes")
            )

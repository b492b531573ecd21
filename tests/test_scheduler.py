"""The daily ETL time: once per local day at HH:MM, right across daylight saving transitions."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telelake.errors import ConfigError
from telelake.scheduler import DailySchedule, next_run, parse_hhmm

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",  # DST until 2019, switching at midnight
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "Asia/Kolkata",
    "America/St_Johns",
]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("zone", "after", "at", "expected_local"),
    [
        # An ordinary day: today's run is still ahead.
        ("Europe/Berlin", utc(2026, 6, 1, 10, 0), "23:15", "2026-06-01T23:15:00+02:00"),
        # Already past today's time: tomorrow.
        ("Europe/Berlin", utc(2026, 6, 1, 22, 0), "00:30", "2026-06-02T00:30:00+02:00"),
        # Spring forward (02:00 -> 03:00 on 2026-03-29): 02:30 does not exist, runs 03:30.
        ("Europe/Berlin", utc(2026, 3, 28, 23, 0), "02:30", "2026-03-29T03:30:00+02:00"),
        # Fall back (03:00 -> 02:00 on 2026-10-25): 02:30 happens twice, runs at the first.
        ("Europe/Berlin", utc(2026, 10, 24, 23, 0), "02:30", "2026-10-25T02:30:00+02:00"),
        # ... and not again at the second 02:30 (00:30 UTC is between the two).
        ("Europe/Berlin", utc(2026, 10, 25, 0, 45), "02:30", "2026-10-26T02:30:00+01:00"),
        # New York spring forward 2026-03-08 02:00 -> 03:00.
        ("America/New_York", utc(2026, 3, 8, 5, 0), "02:15", "2026-03-08T03:15:00-04:00"),
        # Sao Paulo 2018-11-04: midnight did not exist (00:00 -> 01:00).
        ("America/Sao_Paulo", utc(2018, 11, 3, 12, 0), "00:30", "2018-11-04T01:30:00-02:00"),
        # Lord Howe: 30-minute shift on 2026-10-04 02:00 -> 02:30.
        ("Australia/Lord_Howe", utc(2026, 10, 3, 12, 0), "02:10", "2026-10-04T02:40:00+11:00"),
        # Samoa jumped from 2011-12-29 to 2011-12-31: the missing day is skipped.
        ("Pacific/Apia", utc(2011, 12, 29, 20, 0), "09:00", "2011-12-31T09:00:00+14:00"),
    ],
)
def test_next_run_table(zone: str, after: datetime, at: str, expected_local: str) -> None:
    result = next_run(after, parse_hhmm(at), ZoneInfo(zone))
    assert result.tzinfo is UTC
    assert result == datetime.fromisoformat(expected_local)
    assert result > after


@given(
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2035, 1, 1)),
    at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)
def test_runs_are_once_per_local_day_at_the_wall_time(zone: str, start: datetime, at: time) -> None:
    tz = ZoneInfo(zone)
    after = start.replace(tzinfo=UTC)
    runs = []
    moment = after
    for _ in range(5):
        moment = next_run(moment, at, tz)
        runs.append(moment)
    assert runs[0] > after
    # Never more than a day and a DST shift (or Samoa's lost day) apart.
    assert runs[0] - after <= timedelta(hours=27)
    for earlier, later in itertools.pairwise(runs):
        assert timedelta(hours=20) <= later - earlier <= timedelta(hours=27)
    local_days = [r.astimezone(tz).date() for r in runs]
    assert local_days == sorted(set(local_days)), "two runs on one local day"
    for run in runs:
        wall = run.astimezone(tz)
        if wall.time() != at:
            # Only when ``at`` did not exist that day: then it is just after the gap.
            naive = datetime.combine(wall.date(), at)
            roundtrip = naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
            assert roundtrip.replace(tzinfo=None) != naive, (zone, run, at)


@pytest.mark.parametrize("value", ["24:00", "7", "12:60", "noon", "", "12:5", "-1:00"])
def test_bad_times_are_one_clear_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="HH:MM"):
        parse_hhmm(value)


@pytest.mark.parametrize(("value", "expected"), [("00:30", time(0, 30)), ("7:05", time(7, 5)),
                                                 ("23:59", time(23, 59))])  # fmt: skip
def test_good_times(value: str, expected: time) -> None:
    assert parse_hhmm(value) == expected


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        next_run(datetime(2026, 1, 1), time(0, 30), ZoneInfo("UTC"))


class FakeTime:
    """A clock that advances only when the schedule waits."""

    def __init__(self, now: datetime, stop_after: datetime) -> None:
        self.now = now
        self.stop_after = stop_after
        self.waits: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += timedelta(seconds=seconds)
        return self.now >= self.stop_after


def test_the_loop_runs_the_job_daily_and_survives_a_failing_run() -> None:
    zone = ZoneInfo("Europe/Berlin")
    # From Saturday noon over the spring-forward night to Tuesday noon.
    fake = FakeTime(utc(2026, 3, 28, 11, 0), stop_after=utc(2026, 3, 31, 10, 0))
    ran: list[datetime] = []

    def job() -> None:
        ran.append(fake.now)
        if len(ran) == 1:
            raise RuntimeError("first run fails")

    schedule = DailySchedule(job, time(2, 30), zone, threading.Event(), clock=fake.clock,
                             wait=fake.wait)  # fmt: skip
    schedule.run_forever()
    assert [r.astimezone(zone).isoformat() for r in ran] == [
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]
    assert max(fake.waits) <= 60.0, "never sleeps long without looking at the clock"


def test_a_stop_ends_the_wait() -> None:
    stop = threading.Event()
    stop.set()
    calls: list[int] = []
    DailySchedule(lambda: calls.append(1), time(0, 0), ZoneInfo("UTC"), stop).run_forever()
    assert calls == []

"""Object keys and partition dates (DESIGN §4): pure functions, checked across zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telelake.errors import UsageError
from telelake.lake.layout import context_date, date_of_key, parse_date, raw_key, table_key

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/Sao_Paulo",
    "America/St_Johns",  # -03:30 / -02:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "Pacific/Kiritimati",  # +14
    "Pacific/Pago_Pago",  # -11
]


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


@given(
    when=st.integers(min_value=0, max_value=utc(2100, 1, 1)),
    zone=st.sampled_from(ZONES),
    received=st.floats(min_value=0, max_value=4e9),
)
def test_context_date_is_the_local_date_of_the_event(when: int, zone: str, received: float) -> None:
    tz = ZoneInfo(zone)
    assert context_date(when, tz, received) == datetime.fromtimestamp(when, tz).date()


@given(received=st.floats(min_value=0, max_value=4e9), zone=st.sampled_from(ZONES))
def test_without_event_time_the_receipt_time_decides(received: float, zone: str) -> None:
    tz = ZoneInfo(zone)
    assert context_date(None, tz, received) == datetime.fromtimestamp(received, tz).date()


@pytest.mark.parametrize(
    ("zone", "when", "expected"),
    [
        # Berlin: 2024-03-31 02:00 CET jumps to 03:00 CEST; 2024-10-27 03:00 CEST back to 02:00.
        ("Europe/Berlin", utc(2024, 3, 30, 22, 59, 59), date(2024, 3, 30)),  # 23:59:59 CET
        ("Europe/Berlin", utc(2024, 3, 30, 23, 0, 0), date(2024, 3, 31)),  # 00:00 CET
        ("Europe/Berlin", utc(2024, 10, 26, 21, 59, 59), date(2024, 10, 26)),  # 23:59:59 CEST
        ("Europe/Berlin", utc(2024, 10, 26, 22, 0, 0), date(2024, 10, 27)),
        ("Europe/Berlin", utc(2024, 10, 27, 22, 59, 59), date(2024, 10, 27)),  # 23:59:59 CET
        # Sao Paulo has no DST since 2019: always UTC-3.
        ("America/Sao_Paulo", utc(2024, 11, 29, 1, 30), date(2024, 11, 28)),
        ("America/Sao_Paulo", utc(2024, 11, 29, 3, 0), date(2024, 11, 29)),
        # Sao Paulo in 2018 still had DST starting 2018-11-04 (midnight became 01:00).
        ("America/Sao_Paulo", utc(2018, 11, 4, 2, 59, 59), date(2018, 11, 3)),  # 23:59:59 -03
        ("America/Sao_Paulo", utc(2018, 11, 4, 3, 0, 0), date(2018, 11, 4)),  # 01:00 -02
        # Samoa skipped 30 December 2011: 23:59:59 on the 29th (-10) is followed by the 31st.
        ("Pacific/Apia", utc(2011, 12, 30, 9, 59, 59), date(2011, 12, 29)),
        ("Pacific/Apia", utc(2011, 12, 30, 10, 0, 0), date(2011, 12, 31)),
        ("Asia/Kathmandu", utc(2024, 1, 1, 18, 14, 59), date(2024, 1, 1)),  # 23:59:59 +05:45
        ("Asia/Kathmandu", utc(2024, 1, 1, 18, 15), date(2024, 1, 2)),
        ("Pacific/Kiritimati", utc(2024, 1, 1, 10, 0), date(2024, 1, 2)),
        ("Pacific/Pago_Pago", utc(2024, 1, 1, 10, 59), date(2023, 12, 31)),
        ("UTC", 0, date(1970, 1, 1)),
    ],
)
def test_context_date_edges(zone: str, when: int, expected: date) -> None:
    assert context_date(when, ZoneInfo(zone), 0.0) == expected


def test_raw_key_format() -> None:
    assert (
        raw_key(815000001, date(2024, 6, 15)) == "telegram/context_date=2024-06-15/815000001.json"
    )
    assert raw_key(0, date(999, 1, 2)) == "telegram/context_date=0999-01-02/0.json"


def test_table_key_format() -> None:
    assert (
        table_key("telegram_members", date(2024, 2, 29))
        == "telegram_members/context_date=2024-02-29/part-00000.parquet"
    )


@given(update_id=st.integers(min_value=0, max_value=2**63), day=st.dates())
def test_date_of_key_reads_back_raw_and_table_keys(update_id: int, day: date) -> None:
    assert date_of_key(raw_key(update_id, day)) == day
    assert date_of_key(table_key("telegram", day)) == day


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("telegram/context_date=2024-01-05/7.json", date(2024, 1, 5)),
        ("context_date=2024-01-05/7.json", date(2024, 1, 5)),
        ("_telelake/dirty/context_date=2024-01-05", date(2024, 1, 5)),
        ("s3prefix/telegram/context_date=2024-12-31/1700000000.json", date(2024, 12, 31)),
        ("telegram/7.json", None),
        ("telegram/context_date=2024-02-30/7.json", None),  # no such day
        ("telegram/context_date=2024-1-5/7.json", None),
        ("telegram/context_date=2024-01-05x/7.json", None),
        ("telegram/xcontext_date=2024-01-05/7.json", None),
        ("telegram/context_date=/7.json", None),
        ("", None),
    ],
)
def test_date_of_key(key: str, expected: date | None) -> None:
    assert date_of_key(key) == expected


@given(day=st.dates())
def test_parse_date_round_trip(day: date) -> None:
    assert parse_date(day.isoformat()) == day
    assert parse_date(f"  {day.isoformat()}\n") == day


@pytest.mark.parametrize(
    "text", ["2024-13-01", "2024-02-30", "yesterday", "", "29/11/2024", "2024-11-29T10:00:00+"]
)
def test_parse_date_errors_are_one_clear_line(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_date(text)
    message = str(info.value)
    assert "\n" not in message
    assert repr(text) in message
    assert "YYYY-MM-DD" in message

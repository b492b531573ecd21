"""The original design's four Athena queries return Athena's rows, on an adversarial group.

The group is built as raw Telegram updates, stored by the real ingest core
and compacted by the real ETL, twice: in a lake whose zone is west of UTC
(America/Sao_Paulo, UTC-3, no DST since 2019) and in one east of it
(Asia/Tokyo, UTC+9), so ``context_date`` falls on either side of the UTC
date. Each is queried by ``telelake query --dialect athena`` in a child
process whose ``TZ`` is the lake's zone, so a machine-zone leak would show.

Every expected row below is worked out by hand from Trino's documented rules:
- ``count(1)`` counts rows; ``length`` counts code points ("Returns the length
  of string in characters"); ``avg`` ignores NULLs, NULL if all are NULL.
- ``CAST(double AS INTEGER)`` rounds half away from zero (Trino "Conversion
  functions": "casting from double to integer rounds", 2.5 -> 3, 4.5 -> 5).
- ``from_unixtime`` is UTC on Athena (session zone UTC), ``date_format``'s
  ``%i`` is minutes; ``EXTRACT(dow)`` is ISO, 1 = Monday .. 7 = Sunday, and
  ``EXTRACT(week)`` is the ISO week ("day_of_week: Returns the ISO day of
  the week", "week: Returns the ISO week of the year").
- NULLs never affect ``ORDER BY`` here; rows tied on the ORDER BY key may
  come in any order, so they are compared as a multiset per key.
"""

from __future__ import annotations

import calendar
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from telelake.analytics.reports import REPORTS
from telelake.config import load_settings
from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore

WEST, EAST = "America/Sao_Paulo", "Asia/Tokyo"
CHAT = {"id": -1001, "type": "supergroup", "title": 'Grupo, "teste" 群'}
ANA = {"id": 101, "is_bot": False, "first_name": 'Ana, "la" Silva'}
TARO = {"id": 102, "is_bot": False, "first_name": "山田 太郎"}
OBRIEN = {"id": 103, "is_bot": False, "first_name": "O'Brien"}
BOT = {"id": 104, "is_bot": True, "first_name": "Bot"}
STICKER = {
    "file_id": "s", "file_unique_id": "u", "width": 512, "height": 512, "type": "regular",
    "is_animated": False, "is_video": False,
}  # fmt: skip
PHOTO = [{"file_id": "p", "file_unique_id": "q", "width": 90, "height": 90}]


def utc(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> int:
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


def update(
    update_id: int, message_id: int, user: dict[str, Any], sent: int, **content: Any
) -> bytes:
    kind = "edited_message" if "edit_date" in content else "message"
    payload = {"message_id": message_id, "from": user, "chat": CHAT, "date": sent, **content}
    return orjson.dumps({"update_id": update_id, kind: payload})


# (message_id, sender, UTC send time, content). Local time = UTC - 3 h.
BODIES = [
    # 2021-01-03 is a Sunday in ISO week 53 of 2020.
    update(1, 14, OBRIEN, utc(2021, 1, 3, 12), text="ok"),
    # Local Sunday 2024-01-07 (ISO week 1).
    update(10, 1, ANA, utc(2024, 1, 7, 13), text="hi"),  # 2 chars
    update(11, 2, ANA, utc(2024, 1, 7, 14), text="hey"),  # 3 chars -> avg 2.5 -> 3
    update(12, 3, TARO, utc(2024, 1, 7, 15), sticker=STICKER),  # no text
    update(13, 7, ANA, utc(2024, 1, 7, 16), photo=PHOTO, caption="foto"),  # no text
    update(14, 6, OBRIEN, utc(2024, 1, 7, 20), text="x"),
    update(15, 8, OBRIEN, utc(2024, 1, 7, 21), text="👨‍👩‍👧"),  # 5 code points
    # Sunday 22:30 and 23:59:59 local = Monday 01:30 and 02:59:59 UTC.
    update(16, 4, TARO, utc(2024, 1, 8, 1, 30), text="こんにちは！"),  # 6 chars
    update(17, 5, TARO, utc(2024, 1, 8, 2, 59, 59), text="日本語"),  # 3 -> avg 4.5 -> 5
    # An edit of message 6, delivered a day later: "hello!" (6) replaces "x".
    update(18, 6, OBRIEN, utc(2024, 1, 7, 20), text="hello!", edit_date=utc(2024, 1, 8, 18)),
    # Local Monday 2024-01-08 (ISO week 2).
    update(20, 9, ANA, utc(2024, 1, 8, 12), text="abcd"),
    update(21, 10, ANA, utc(2024, 1, 8, 12, 30), text="abcde"),  # avg 4.5 -> 5
    update(22, 15, BOT, utc(2024, 1, 8, 15), sticker=STICKER),  # only no-text: avg NULL
    update(23, 11, OBRIEN, utc(2024, 1, 9, 2), text="e\u0301"),  # Mon 23:00 local; 2 chars
    # Local Sunday 2024-01-14: one at noon UTC, one at Monday 01:00 UTC (week 3).
    update(30, 12, ANA, utc(2024, 1, 14, 12), text="w"),
    update(31, 13, TARO, utc(2024, 1, 15, 1), text="z"),
]
# Telegram re-delivers: the same bytes again must not count twice.
REDELIVERED = [BODIES[1], BODIES[7], BODIES[9]]
# A service message (someone joins) is not a message people wrote.
JOIN = orjson.dumps({"update_id": 40, "message": {
    "message_id": 16, "from": ANA, "chat": CHAT, "date": utc(2024, 1, 7, 13),
    "new_chat_members": [OBRIEN],
}})  # fmt: skip

D0, D1, D2, D3 = date(2021, 1, 3), date(2024, 1, 7), date(2024, 1, 8), date(2024, 1, 14)
A, T, OB, B = (101, ANA["first_name"]), (102, "山田 太郎"), (103, "O'Brien"), (104, "Bot")

# fmt: off
# São Paulo (UTC-3): the partition is the local date, three hours behind UTC.
WEST_EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    "messages_per_day": [(D3, 2), (D2, 4), (D1, 8), (D0, 1)],
    "messages_per_user_per_day": [
        (*A, D3, 1),
        (*T, D3, 1),
        (*A, D2, 2),
        (*OB, D2, 1),
        (*B, D2, 1),
        (*A, D1, 3),
        (*T, D1, 3),
        (*OB, D1, 2),
        (*OB, D0, 1),
    ],
    "average_length_per_user_per_day": [
        (*A, D3, 1),
        (*T, D3, 1),
        (*A, D2, 5),
        (*OB, D2, 2),
        (*B, D2, None),
        (*A, D1, 3),
        (*T, D1, 5),
        (*OB, D1, 6),  # 2.5 -> 3, 4.5 -> 5, 5.5 -> 6
        (*OB, D0, 2),
    ],
    # (UTC hour, ISO weekday, ISO week, count)
    "messages_per_hour_weekday_week": [
        (13, 7, 1, 1),
        (14, 7, 1, 1),
        (15, 7, 1, 1),
        (16, 7, 1, 1),
        (20, 7, 1, 1),
        (21, 7, 1, 1),
        (1, 1, 2, 1),
        (2, 1, 2, 1),
        (12, 1, 2, 2),
        (15, 1, 2, 1),
        (2, 2, 2, 1),
        (12, 7, 2, 1),
        (1, 1, 3, 1),
        (12, 7, 53, 1),
    ],
}
# Tokyo (UTC+9): a send time from 15:00 UTC on is the next local day. Sticker 12 (15:00 UTC),
# photo 13, messages 6 (edited to "hello!"), 8, 4 and 5 of 2024-01-07/08 UTC all fall on
# 2024-01-08 with 9 and 10; the bot's sticker (15:00 UTC on the 8th) and message 11 on the
# 9th; 12 and 13 on the 14th and 15th.
D9, D15 = date(2024, 1, 9), date(2024, 1, 15)
EAST_EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    "messages_per_day": [(D15, 1), (D3, 1), (D9, 2), (D2, 8), (D1, 2), (D0, 1)],
    "messages_per_user_per_day": [
        (*T, D15, 1),
        (*A, D3, 1),
        (*OB, D9, 1),
        (*B, D9, 1),
        (*A, D2, 3),
        (*T, D2, 3),
        (*OB, D2, 2),
        (*A, D1, 2),
        (*OB, D0, 1),
    ],
    "average_length_per_user_per_day": [
        (*T, D15, 1),
        (*A, D3, 1),
        (*OB, D9, 2),
        (*B, D9, None),
        (*A, D2, 5),  # NULL (photo), 4, 5 -> 4.5 -> 5
        (*T, D2, 5),  # NULL (sticker), 6, 3 -> 4.5 -> 5
        (*OB, D2, 6),  # 6, 5 -> 5.5 -> 6
        (*A, D1, 3),
        (*OB, D0, 2),
    ],
    # from_unixtime is UTC whatever the lake's zone: the same rows as in São Paulo.
    "messages_per_hour_weekday_week": WEST_EXPECTED["messages_per_hour_weekday_week"],
}
EXPECTED = {WEST: WEST_EXPECTED, EAST: EAST_EXPECTED}
# fmt: on
# The columns of each query's ORDER BY (all ascending except the dates).
ORDER_BY = {
    "messages_per_day": ("context_date",),
    "messages_per_user_per_day": ("context_date",),
    "average_length_per_user_per_day": ("context_date",),
    "messages_per_hour_weekday_week": ("parsed_date_weeknum", "parsed_date_weekday"),
}


@pytest.fixture(scope="module", params=[WEST, EAST])
def zone(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, zone: str) -> Path:
    root = tmp_path_factory.mktemp("adversarial") / "lake"
    settings = load_settings({"lake": str(root), "timezone": zone}, env={})
    raw, enriched = LocalStore(settings.raw_url), LocalStore(settings.enriched_url)
    ingestor = Ingestor(settings, raw)
    outcomes = Counter(ingestor.accept(body).outcome for body in [*BODIES, JOIN, *REDELIVERED])
    assert outcomes == {"stored": len(BODIES) + 1, "duplicate": len(REDELIVERED)}
    # The same update again under an older tool's file name: only the ETL can see it twice.
    raw.create("telegram/context_date=2024-01-07/1704636000123.json", BODIES[1])
    summary = run(Layers(raw, enriched, settings.zone), Selection(everything=True), workers=1)
    assert summary.duplicates == 1
    assert summary.total("telegram") == len(BODIES) - 1  # the edit replaces its message
    return root


def telelake_in(zone: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    env["TZ"] = zone
    done = subprocess.run(
        [sys.executable, "-m", "telelake", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("machine_zone", [WEST, EAST])
def test_the_child_processes_really_run_in_the_lake_zone(machine_zone: str) -> None:
    probe = "import duckdb; print(duckdb.connect().execute(\"SELECT current_setting('TimeZone')\").fetchone()[0])"  # noqa: E501
    env = {**os.environ, "TZ": machine_zone}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert out.strip() == machine_zone


def _typed(report: str, row: dict[str, Any]) -> tuple[Any, ...]:
    values = list(row.values())
    if report != "messages_per_hour_weekday_week":
        index = list(row).index("context_date")
        values[index] = date.fromisoformat(values[index])
    return tuple(values)


@pytest.mark.parametrize("report", list(WEST_EXPECTED))
def test_original_query_returns_athenas_rows(lake: Path, zone: str, report: str) -> None:
    [chosen] = [r for r in REPORTS if r.name == report]
    out = telelake_in(
        zone, "query", chosen.sql, "--dialect", "athena", "--format", "json", "--lake", str(lake)
    ).stdout
    objects = [json.loads(line) for line in out.splitlines() if line.strip()]
    rows = [_typed(report, o) for o in objects]
    columns = list(objects[0])
    keys = [columns.index(name) for name in ORDER_BY[report]]

    def key(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[i] for i in keys)

    expected = EXPECTED[zone][report]
    # The SQL's ORDER BY, exactly; within a tie, the same rows in any order.
    assert [key(r) for r in rows] == [key(r) for r in expected]
    assert Counter(rows) == Counter(expected)


def test_the_reports_come_sorted_in_full(lake: Path, zone: str) -> None:
    """run_report sorts every row in SQL (ORDER BY the SQL's keys, then the report's)."""
    from telelake.analytics.engine import Engine
    from telelake.analytics.reports import run_report, sort_rows

    with Engine(str(lake / "enriched")) as engine:
        for report in [r for r in REPORTS if r.name in WEST_EXPECTED]:
            result = run_report(engine, report)
            assert Counter(result.rows) == Counter(EXPECTED[zone][report.name])
            assert result.rows == sort_rows(result, report.sort_keys)


def test_the_data_set_is_adversarial(lake: Path, zone: str) -> None:
    """Plain sqlglot output (no semantic layer) gets at least three reports wrong here."""
    import sqlglot

    from telelake.analytics.engine import Engine

    wrong = 0
    with Engine(str(lake / "enriched")) as engine:
        for report in [r for r in REPORTS if r.name in WEST_EXPECTED]:
            plain = sqlglot.transpile(report.sql, read="athena", write="duckdb")[0]
            # The machine zone the plain SQL would see on a laptop in the lake's zone.
            engine.query(f"SET TimeZone = '{zone}'")
            rows = engine.query(plain).rows
            wrong += Counter(rows) != Counter(EXPECTED[zone][report.name])
    assert wrong >= 2

"""Small enriched lakes written with pyarrow, for the query-side tests.

``sample_lake`` is a hand-made group chat whose report values are computed by
hand in the tests (see SAMPLE_* below): two days, one of them a Sunday,
averages ending in .5 and a message sent just after midnight UTC, which is
still Sunday evening in São Paulo.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telelake.lake import tables


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Unix seconds of a UTC wall time (computed independently of the code under test)."""
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


class Lake:
    """An enriched layer in a folder; ``write`` adds one partition file of a table."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(
        self,
        day: str | date,
        rows: Iterable[dict[str, Any]],
        table: str = tables.MESSAGES,
        *,
        arrow_schema: pa.Schema | None = None,
        name: str = "part-00000.parquet",
    ) -> Path:
        """Write ``rows`` (missing columns are NULL) to ``<table>/context_date=<day>/<name>``."""
        chosen = arrow_schema if arrow_schema is not None else tables.arrow_schema(table)
        rows = list(rows)
        unknown = {key for row in rows for key in row} - set(chosen.names)
        assert not unknown, f"columns not in the schema: {unknown}"
        columns = {
            field.name: pa.array([row.get(field.name) for row in rows], type=field.type)
            for field in chosen
        }
        folder = self.root / table / f"context_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        pq.write_table(pa.table(columns, schema=chosen), path)
        return path


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "enriched")


def _message(
    message_id: int, user_id: int, name: str, text: str | None, sent: int
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "user_id": user_id,
        "user_is_bot": False,
        "user_first_name": name,
        "chat_id": -100,
        "chat_type": "supergroup",
        "text": text,
        "date": sent,
        "update_id": 1000 + message_id,
    }


# 2024-01-07 is a Sunday (ISO week 1 of 2024); 2024-01-08 a Monday (ISO week 2).
SAMPLE_SUNDAY = [
    _message(1, 1, "Ana", "hi", utc(2024, 1, 7, 10, 0)),  # length 2
    _message(2, 1, "Ana", "hey", utc(2024, 1, 7, 10, 30)),  # length 3 -> avg 2.5
    _message(3, 2, "Bo", None, utc(2024, 1, 7, 23, 59, 59)),  # a photo: no text
    _message(7, 3, "Cy", "x", utc(2024, 1, 7, 12, 0)),
]
SAMPLE_MONDAY = [
    _message(4, 2, "Bo", "😀é", utc(2024, 1, 8, 0, 30)),  # 2 code points; Sunday 21:30 in São Paulo
    _message(5, 1, "Ana", "abcd", utc(2024, 1, 8, 1, 0)),  # length 4
    _message(6, 1, "Ana", "abcde", utc(2024, 1, 8, 1, 45)),  # length 5 -> avg 4.5
]


@pytest.fixture
def sample_lake(lake: Lake) -> Lake:
    lake.write("2024-01-07", SAMPLE_SUNDAY)
    lake.write("2024-01-08", SAMPLE_MONDAY)
    return lake

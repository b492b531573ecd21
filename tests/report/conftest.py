"""A small known lake for the report page, a real Chromium, and a PNG reader.

``report_lake`` is a folder lake (``<root>/enriched``) whose numbers are
known by hand:

    chat -100 "Alpha <b>&" (supergroup)          chat -200 "Beta" (group)
    2024-05-06 (Mon)  3 messages by user 1 (a     1 message by user 2 (张伟)
                      name holding a script tag)
    2024-05-07        nothing                     nothing
    2024-05-08 (Wed)  2 messages by user 2, the    1 message by user 3 (O'Brien)
                      first a reply to message 3

so 7 messages, 5 in Alpha, 4 on the 6th and 3 on the 8th. Times are UTC and
the lake's zone is UTC, so local hours equal UTC hours.
"""

from __future__ import annotations

import calendar
import shutil
import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telelake.lake import tables

CHROMIUM = "/usr/bin/chromium"
# No background networking: this machine refuses it, and a test must not depend on it.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EVIL = '<script>alert("x")</script>'
ALPHA, BETA = -100, -200


def _msg(chat: int, mid: int, user: int, name: str, when: tuple[int, ...]) -> dict[str, Any]:
    sent = calendar.timegm((*when, 0, 0, 0, 0))
    wall = datetime.fromtimestamp(sent, UTC).replace(tzinfo=None)
    title, kind = ("Alpha <b>&", "supergroup") if chat == ALPHA else ("Beta", "group")
    return {"message_id": mid, "user_id": user, "user_first_name": name, "user_is_bot": False,
            "chat_id": chat, "chat_type": kind, "chat_title": title, "text": "x" * mid,
            "date": sent, "update_id": 100 * -chat + mid, "content_type": "text",
            "sent_at": wall, "sent_at_local": wall}  # fmt: skip


REPORT_MESSAGES = {
    "2024-05-06": [
        _msg(ALPHA, 1, 1, EVIL, (2024, 5, 6, 9, 0, 0)),
        _msg(ALPHA, 2, 1, EVIL, (2024, 5, 6, 9, 30, 0)),
        _msg(ALPHA, 3, 1, EVIL, (2024, 5, 6, 18, 0, 0)),
        _msg(BETA, 1, 2, "张伟", (2024, 5, 6, 20, 0, 0)),
    ],
    "2024-05-08": [
        {**_msg(ALPHA, 4, 2, "张伟", (2024, 5, 8, 9, 15, 0)), "reply_to_message_id": 3},
        _msg(ALPHA, 5, 2, "张伟", (2024, 5, 8, 10, 0, 0)),
        _msg(BETA, 2, 3, "O'Brien", (2024, 5, 8, 23, 0, 0)),
    ],
}


def write_table(enriched: Path, table: str, day: str, rows: list[dict[str, Any]]) -> None:
    """One partition file of ``table``; columns not given are NULL."""
    arrow_schema = tables.arrow_schema(table)
    columns = {
        field.name: pa.array([row.get(field.name) for row in rows], type=field.type)
        for field in arrow_schema
    }
    folder = enriched / table / f"context_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns, schema=arrow_schema), folder / "part-00000.parquet")


@pytest.fixture(scope="module")
def report_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake root (``<root>/enriched`` holds the tables)."""
    root = tmp_path_factory.mktemp("report-lake")
    for day, rows in REPORT_MESSAGES.items():
        write_table(root / "enriched", tables.MESSAGES, day, rows)
    return root


@pytest.fixture(scope="module")
def chromium() -> Any:
    """A headless Debian Chromium driven by Playwright, shared by a test module."""
    if not Path(CHROMIUM).is_file() and shutil.which("chromium") is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def _unfilter(raw: bytes, width: int, height: int, channels: int) -> list[bytearray]:
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    offset = 0
    for _ in range(height):
        kind, line = raw[offset], bytearray(raw[offset + 1 : offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa_, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                pred = left if pa_ <= pb and pa_ <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        previous = line
    return rows


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width, height and every 8th pixel (RGB) of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks, header = 8, [], b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    channels = 3 if color == 2 else 4
    rows = _unfilter(zlib.decompress(b"".join(chunks)), width, height, channels)
    pixels = [
        tuple(row[x * channels : x * channels + 3]) for row in rows[::8] for x in range(0, width, 8)
    ]
    return width, height, pixels


@pytest.fixture
def png_spread() -> Callable[[bytes], tuple[int, int, float, int]]:
    """PNG bytes -> (width, height, variance of grey levels, distinct colours)."""

    def spread(data: bytes) -> tuple[int, int, float, int]:
        width, height, pixels = read_png(data)
        greys = [sum(p) / 3 for p in pixels]
        mean = sum(greys) / len(greys)
        variance = sum((g - mean) ** 2 for g in greys) / len(greys)
        return width, height, variance, len(set(pixels))

    return spread

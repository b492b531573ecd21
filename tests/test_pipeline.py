"""End to end as a user runs it: HTTP to a real server, `telelake etl`, `telelake query`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from telelake.etl.messages import service_event
from telelake.telegram.update import MESSAGE_KINDS

if TYPE_CHECKING:
    from conftest import Server


def telelake(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELELAKE_", "TELEGRAM_"))}
    # Bytes, decoded by hand: text mode would turn CSV's CRLF into LF.
    raw = subprocess.run(
        [sys.executable, "-m", "telelake", *args], capture_output=True, env=env, timeout=120
    )
    result = subprocess.CompletedProcess(
        raw.args, raw.returncode, raw.stdout.decode("utf-8"), raw.stderr.decode("utf-8")
    )
    assert result.returncode == 0, result.stderr
    return result


def query_json(lake: Path, sql: str) -> list[dict[str, Any]]:
    out = telelake("query", sql, "--format", "json", "--lake", str(lake)).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


NAME = 'Ana, "%d"'
STICKER = {
    "file_id": "x", "file_unique_id": "y", "width": 512, "height": 512, "type": "regular",
    "is_animated": False, "is_video": False,
}  # fmt: skip


def group_message(update_id: int, message_id: int, text: str | None, date: int) -> bytes:
    payload: dict[str, Any] = {
        "message_id": message_id,
        "from": {"id": 500 + message_id % 7, "is_bot": False, "first_name": NAME % (message_id % 7)},  # noqa: E501
        "chat": {"id": -1009, "type": "supergroup", "title": "Grupo"},
        "date": date,
    }  # fmt: skip
    if text is None:
        payload["sticker"] = STICKER
    else:
        payload["text"] = text
    return orjson.dumps({"update_id": update_id, "message": payload})


def test_redelivered_three_times_over_http_counts_once(
    tmp_path: Path, serve_webhook: Callable[..., Server]
) -> None:
    lake = tmp_path / "lake"
    server = serve_webhook(lake, timezone="America/Sao_Paulo")
    day = 1_764_000_000  # 2025-11-24 16:00 UTC
    updates = [group_message(1000 + i, i, f"msg {i} 🎉" if i % 5 else None, day + 600 * i)
               for i in range(1, 41)]  # fmt: skip
    for _ in range(3):
        for body in updates:
            assert server.post(body).status_code == 200
    zone = ("--timezone", "America/Sao_Paulo")
    telelake("etl", "--lake", str(lake), *zone)
    telelake("etl", "--lake", str(lake), "--all", *zone)
    [row] = query_json(lake, "SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM telegram")
    assert row == {"n": 40, "d": 40}
    per_day = query_json(
        lake,
        "SELECT CAST(context_date AS VARCHAR) AS day, count(*) AS n "
        "FROM messages GROUP BY 1 ORDER BY 1",
    )
    # 16:00 UTC + up to 400 min: local (UTC-3) days 2025-11-24 only until 03:00 UTC.
    assert sum(r["n"] for r in per_day) == 40
    assert {r["day"] for r in per_day} <= {"2025-11-24", "2025-11-25"}
    stickers = query_json(lake, "SELECT count(*) AS n FROM chatbot WHERE text IS NULL")
    assert stickers == [{"n": 8}]


def test_csv_output_is_rfc4180_with_nulls_empty(
    tmp_path: Path, serve_webhook: Callable[..., Server]
) -> None:
    lake = tmp_path / "lake"
    server = serve_webhook(lake)
    texts = ['comma, "quote"', "line\nbreak", None]
    for i, text in enumerate(texts, start=1):
        assert server.post(group_message(i, i, text, 1_764_000_000)).status_code == 200
    telelake("etl", "--lake", str(lake))
    out = telelake(
        "query", "SELECT message_id, text FROM telegram ORDER BY message_id", "--format", "csv",
        "--lake", str(lake),
    ).stdout  # fmt: skip
    assert out.startswith("message_id,text\r\n")
    parsed = list(csv.reader(io.StringIO(out, newline="")))
    assert parsed == [["message_id", "text"], ["1", texts[0]], ["2", texts[1]], ["3", ""]]


def test_the_four_reports_and_the_html_page(
    tmp_path: Path, serve_webhook: Callable[..., Server]
) -> None:
    lake = tmp_path / "lake"
    server = serve_webhook(lake)
    for i in range(1, 11):
        assert (
            server.post(group_message(i, i, "x" * i, 1_764_000_000 + 3600 * i)).status_code == 200
        )
    telelake("etl", "--lake", str(lake))
    html = tmp_path / "report.html"
    out = telelake("report", "--lake", str(lake), "--html", str(html)).stdout
    for title in ("per day", "per user", "length", "hour"):
        assert title in out.lower()
    page = html.read_text(encoding="utf-8")
    assert "<svg" in page and "&quot;" in page  # names with quotes are escaped


def test_corpus_messages_land_in_the_table_with_their_text(
    tmp_path: Path, serve_webhook: Callable[..., Server], corpus_dir: Path
) -> None:
    """Every real update of the shared corpus, through HTTP and the ETL."""
    lake = tmp_path / "lake"
    server = serve_webhook(lake)
    expected: dict[tuple[int, int], list[tuple[tuple[int, int, int], str | None]]] = {}
    lines = [
        line
        for path in sorted((corpus_dir / "updates").glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]
    assert len(lines) == 175
    for line in lines:
        assert server.post(line).status_code == 200, line[:200]
        data = orjson.loads(line)
        kind = next(k for k in data if k != "update_id")
        message = data[kind]
        if kind in MESSAGE_KINDS and service_event(message) is None:
            rank = (message.get("edit_date", 0), kind.startswith("edited_"), data["update_id"])
            ident = (message["chat"]["id"], message["message_id"])
            expected.setdefault(ident, []).append((rank, message.get("text")))
    telelake("etl", "--lake", str(lake))
    rows = query_json(lake, "SELECT chat_id, message_id, text FROM telegram")
    got = {(r["chat_id"], r["message_id"]): r["text"] for r in rows}
    assert set(got) == set(expected)
    for ident, versions in expected.items():
        best = max(rank for rank, _ in versions)
        # The corpus re-uses ids across unrelated test messages; the row must be
        # one of the best-ranked versions, and exactly it when that is unique.
        assert got[ident] in {text for rank, text in versions if rank == best}, ident
    rejects = query_json(lake, "SELECT count(*) AS n FROM telegram_rejects")
    assert rejects == [{"n": 0}]


@pytest.mark.parametrize("name", ["teloxide_unknown_or_malformed.jsonl"])
def test_negative_corpus_is_acknowledged_and_set_aside_not_fatal(
    tmp_path: Path, serve_webhook: Callable[..., Server], corpus_dir: Path, name: str
) -> None:
    lake = tmp_path / "lake"
    server = serve_webhook(lake)
    for line in (corpus_dir / "negative" / name).read_bytes().splitlines():
        assert server.post(line).status_code == 200
    server.post(group_message(77, 77, "still here", 1_764_000_000))
    result = telelake("etl", "--lake", str(lake))
    assert "set aside: 1" in result.stderr
    assert query_json(lake, "SELECT text FROM telegram") == [{"text": "still here"}]
    kinds = query_json(lake, "SELECT update_kind FROM telegram_updates ORDER BY 1")
    assert [k["update_kind"] for k in kinds] == [
        "message",
        "new_update_kind",
        "something unknown to us",
    ]

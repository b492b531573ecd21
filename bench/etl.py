"""raw -> Parquet throughput, against the original design's algorithm and the I/O floor.

Writes N synthetic updates (one object per update, as ingest does), then in
one run measures: (a) the original design's ETL algorithm (one Arrow table
per message, concatenated in a loop) on the smaller size; (b) the floor:
reading every object and parsing its JSON; (c) telelake's partition build.

    python bench/etl.py [--sizes 10000,100000] [--baseline 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
from common import bodies, machine

from telelake.config import load_settings
from telelake.etl.runner import plan, run
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore


def write_raw(root: Path, n: int) -> tuple[LocalStore, LocalStore]:
    settings = load_settings({"lake": str(root)}, env={})
    raw, enriched = LocalStore(settings.raw_url), LocalStore(settings.enriched_url)
    ingestor = Ingestor(settings, raw)
    for body in bodies(n):
        ingestor.accept(body)
    return raw, enriched


def raw_paths(raw: LocalStore) -> list[Path]:
    return [raw.path(key) for key in raw.list("telegram")]


def original_algorithm(paths: list[Path]) -> int:
    """The seed design's ETL: parse each object, one-row table, concat in a loop."""
    table = None
    for path in paths:
        data = orjson.loads(path.read_bytes())
        message = data.get("message") or data.get("edited_message") or {}
        row = {
            "message_id": [message.get("message_id")],
            "user_id": [message.get("from", {}).get("id")],
            "user_is_bot": [message.get("from", {}).get("is_bot")],
            "user_first_name": [message.get("from", {}).get("first_name")],
            "chat_id": [message.get("chat", {}).get("id")],
            "chat_type": [message.get("chat", {}).get("type")],
            "text": [message.get("text")],
            "date": [message.get("date")],
        }
        one = pa.Table.from_pydict(row)
        table = one if table is None else pa.concat_tables([table, one])
    return 0 if table is None else table.num_rows


def floor(paths: list[Path]) -> int:
    return sum(len(orjson.loads(path.read_bytes())) for path in paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--baseline", type=int, default=10000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    utc = ZoneInfo("UTC")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(dir=".") as tmp:
            started = time.perf_counter()
            raw, enriched = write_raw(Path(tmp), n)
            write_s = time.perf_counter() - started
            paths = raw_paths(raw)
            started = time.perf_counter()
            floor(paths)
            floor_s = time.perf_counter() - started
            days = plan(raw, enriched, everything=True)
            started = time.perf_counter()
            summary = run(raw, enriched, days, utc)
            etl_s = time.perf_counter() - started
            line = (
                f"n={n:>8,}  ingest (in-process, fsync) {n / write_s:>8,.0f}/s | "
                f"floor read+parse {n / floor_s:>9,.0f}/s | telelake etl {n / etl_s:>9,.0f}/s "
                f"({etl_s:.2f} s, {len(days)} partitions, {summary.total('telegram'):,} rows) | "
                f"etl/floor {floor_s / etl_s:.2f}x"
            )
            if n <= args.baseline:
                started = time.perf_counter()
                original_algorithm(paths)
                base_s = time.perf_counter() - started
                line += (
                    f" | original {n / base_s:,.0f}/s, telelake is {base_s / etl_s:,.0f}x faster"
                )
            print(line, flush=True)


if __name__ == "__main__":
    main()

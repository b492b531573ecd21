"""Latency of the four original reports at 1M and 10M messages.

Builds an enriched ``telegram`` table of N synthetic messages over 90 days
(Hive-partitioned Parquet, the seed columns, written by DuckDB itself to keep
set-up fast), then times each report through the Athena dialect layer, as
``telelake report`` runs them: best of three, engine opened once.

    python bench/query.py [--sizes 1000000,10000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
from common import machine

from telelake.analytics.engine import Engine
from telelake.analytics.reports import REPORTS, run_report

DAYS = 90


def build(root: Path, n: int) -> None:
    target = root / "telegram"
    duckdb.execute(
        f"""
        COPY (
            SELECT i AS message_id,
                   (hash(i) % 3000)::BIGINT AS user_id,
                   false AS user_is_bot,
                   'Pessoa ' || (hash(i) % 3000)::VARCHAR AS user_first_name,
                   -1001234567890::BIGINT AS chat_id,
                   'supergroup' AS chat_type,
                   CASE WHEN i % 10 = 0 THEN NULL
                        ELSE repeat('olá ', (hash(i) % 30)::INT) END AS text,
                   (1760000000 + (i * {DAYS} * 86400) // {n})::BIGINT AS date,
                   CAST(to_timestamp(1760000000 + (i * {DAYS} * 86400) // {n}) AT TIME ZONE 'UTC'
                        AS DATE) AS context_date
            FROM range({n}) t(i)
        ) TO '{target}' (FORMAT parquet, PARTITION_BY (context_date), COMPRESSION snappy)
        """
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(dir=".") as tmp:
            started = time.perf_counter()
            build(Path(tmp), n)
            built = time.perf_counter() - started
            timings = []
            with Engine(tmp) as engine:
                for report in REPORTS:
                    best = float("inf")
                    for _ in range(3):
                        started = time.perf_counter()
                        rows = len(run_report(engine, report).rows)
                        best = min(best, time.perf_counter() - started)
                    timings.append(f"{report.name} {best * 1000:,.0f} ms ({rows:,} rows)")
            print(f"n={n:>11,} (lake built in {built:.1f} s): " + "; ".join(timings), flush=True)


if __name__ == "__main__":
    main()

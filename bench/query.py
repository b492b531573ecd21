"""Latency of the four original reports at 1M and 10M messages.

Builds an enriched ``telegram`` table of N synthetic messages over 90 days
(Hive-partitioned Parquet, the seed columns, written by DuckDB itself to keep
set-up fast), then times each report through the Athena dialect layer, as
``telelake report`` runs them: best of three, engine opened once. Each size
runs in a child process, so the peak memory printed is that size's own.

    python bench/query.py [--sizes 1000000,10000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from common import machine, self_peak_mb, verdict, workdir

from telelake.analytics.engine import Engine
from telelake.analytics.reports import REPORTS, run_report

DAYS = 90
# The first four reports are the original design's queries, verbatim (reports.py).
ORIGINAL_REPORTS = REPORTS[:4]
TARGET_SECONDS = 1.0


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


def child(n: int) -> None:
    with tempfile.TemporaryDirectory(dir=workdir()) as tmp:
        started = time.perf_counter()
        build(Path(tmp), n)
        built = time.perf_counter() - started
        reports = []
        with Engine(tmp) as engine:
            for report in ORIGINAL_REPORTS:
                best = float("inf")
                rows = 0
                for _ in range(3):
                    started = time.perf_counter()
                    rows = len(run_report(engine, report).rows)
                    best = min(best, time.perf_counter() - started)
                reports.append({"name": report.name, "seconds": best, "rows": rows})
    print(json.dumps({"built": built, "reports": reports, "peak_mb": self_peak_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"machine: {machine()}")
    print(f"{'N':>11}  {'report':<32} {'ms':>6} {'rows':>11} {'peak MB':>8}")
    verdicts = []
    for n in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--child", str(n)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        for report in result["reports"]:
            print(
                f"{n:>11,}  {report['name']:<32} {report['seconds'] * 1000:>6,.0f} "
                f"{report['rows']:>11,} {result['peak_mb']:>8.0f}",
                flush=True,
            )
            verdicts.append(
                verdict(
                    f"{report['name']} at {n:,} messages",
                    f"{report['seconds'] * 1000:,.0f} ms",
                    "< 1 s",
                    report["seconds"] < TARGET_SECONDS,
                )
            )
        print(f"{'':>11}  (lake of {n:,} messages built by DuckDB in {result['built']:.1f} s)")
    for line in verdicts:
        print(line)


if __name__ == "__main__":
    main()

"""Latency of the four original reports at 1M and 10M messages, against hand-written DuckDB.

Builds an enriched ``telegram`` table of N synthetic messages over 90 days
(Hive-partitioned Parquet, the seed columns, written by DuckDB itself to keep
set-up fast), then times each report through the Athena dialect layer, as
``telelake report`` runs them (rows sorted in full), and the same report
written by hand in DuckDB SQL with the same semantics and the same row
order, in the same process: best of three, engine opened once. Both give the
same rows (checked); the two are timed in turns. Each size runs in a child
process, so the peak memory printed is that size's own.

    python bench/query.py [--sizes 1000000,10000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from common import machine, self_peak_mb, verdict, workdir

from telelake.analytics.engine import Engine
from telelake.analytics.reports import REPORTS, run_report

DAYS = 90
# The first four reports are the original design's queries, verbatim (reports/original.py).
ORIGINAL_REPORTS = REPORTS[:4]
TARGET_SECONDS = 1.0
TARGET_RATIO = 1.3

# What a DuckDB user would write for each report, with Athena's semantics (ISO
# weekday, half-away-from-zero rounding, UTC) and run_report's full row order.
_ORDER_USER = (
    "context_date DESC, message_amount DESC, user_id NULLS LAST, user_first_name NULLS LAST"
)
HAND_WRITTEN = {
    "messages_per_day": """
        SELECT context_date, count(1) AS message_amount FROM telegram
        GROUP BY context_date ORDER BY context_date DESC""",
    "messages_per_user_per_day": f"""
        SELECT user_id, user_first_name, context_date, count(1) AS message_amount
        FROM telegram GROUP BY user_id, user_first_name, context_date
        ORDER BY {_ORDER_USER}""",
    "average_length_per_user_per_day": """
        SELECT user_id, user_first_name, context_date,
               CAST(round(avg(length(text))) AS INTEGER) AS average_message_length
        FROM telegram GROUP BY user_id, user_first_name, context_date
        ORDER BY context_date DESC, user_id NULLS LAST, user_first_name NULLS LAST""",
    "messages_per_hour_weekday_week": """
        WITH parsed AS (
            SELECT CAST(strftime(to_timestamp("date"), '%Y-%m-%d %H:%M:%S') AS TIMESTAMP) AS t
            FROM telegram)
        SELECT hour(t) AS parsed_date_hour, isodow(t) AS parsed_date_weekday,
               week(t) AS parsed_date_weeknum, count(1) AS message_amount
        FROM parsed GROUP BY ALL
        ORDER BY parsed_date_weeknum, parsed_date_weekday, parsed_date_hour""",
}


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


def best_of_three(
    *runs: Callable[[], list[tuple[object, ...]]],
) -> list[tuple[float, list[tuple[object, ...]]]]:
    """Best of three timings of each run, taken in turns so that load on a shared machine
    weighs on both figures of a ratio alike."""
    best = [float("inf")] * len(runs)
    rows: list[list[tuple[object, ...]]] = [[] for _ in runs]
    for _ in range(3):
        for index, run in enumerate(runs):
            started = time.perf_counter()
            rows[index] = run()
            best[index] = min(best[index], time.perf_counter() - started)
    return list(zip(best, rows, strict=True))


def child(n: int) -> None:
    with tempfile.TemporaryDirectory(dir=workdir()) as tmp:
        started = time.perf_counter()
        build(Path(tmp), n)
        built = time.perf_counter() - started
        reports = []
        with Engine(tmp) as engine:
            for report in ORIGINAL_REPORTS:
                hand = HAND_WRITTEN[report.name]
                (seconds, rows), (hand_seconds, hand_rows) = best_of_three(
                    lambda r=report: run_report(engine, r).rows,
                    lambda sql=hand: engine.query(sql).rows,
                )
                assert rows == hand_rows, f"{report.name}: the hand-written SQL disagrees"
                reports.append(
                    {
                        "name": report.name,
                        "seconds": seconds,
                        "hand": hand_seconds,
                        "rows": len(rows),
                    }
                )
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
    header = f"{'N':>11}  {'report':<32} {'athena ms':>9} {'duckdb ms':>9} {'ratio':>6}"
    print(f"{header} {'rows':>9} {'peak MB':>8}")
    verdicts = []
    for n in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--child", str(n)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        for report in result["reports"]:
            ratio = report["seconds"] / report["hand"]
            print(
                f"{n:>11,}  {report['name']:<32} {report['seconds'] * 1000:>9,.0f} "
                f"{report['hand'] * 1000:>9,.0f} {ratio:>6.2f} {report['rows']:>9,} "
                f"{result['peak_mb']:>8.0f}",
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
            verdicts.append(
                verdict(
                    f"{report['name']} at {n:,} messages vs hand-written DuckDB",
                    f"{ratio:.2f}x",
                    f"<= {TARGET_RATIO}x",
                    ratio <= TARGET_RATIO,
                )
            )
        print(f"{'':>11}  (lake of {n:,} messages built by DuckDB in {result['built']:.1f} s)")
    for line in verdicts:
        print(line)
    # Every other report, and the page, on a lake that has what they read (bench/reports.py).
    reports = str(Path(__file__).with_name("reports.py"))
    subprocess.run([sys.executable, reports, "--sizes", args.sizes], check=True)


if __name__ == "__main__":
    main()

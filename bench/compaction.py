"""Rebuilding history before and after ``telelake compact``, whole processes, on a real disk.

For each size (days × updates a day) it writes simulated traffic
(telelake.demo.simulator: messages, edits, media, service messages,
reactions, member updates), one raw object per update as ingest does, then
runs, each as its own ``telelake`` process (start-up included):

1. ``telelake etl --all`` on the objects;
2. ``telelake compact --all`` (one segment per day);
3. ``telelake etl --all`` again, on the segments; its tables must be the
   same bytes as those of step 1 (checked file by file).

Peak memory is that of the whole process tree (the ETL's worker processes
included). Two sizes with the same updates a day and four times the days
show whether memory grows with the number of days; ``BENCH_FULL=1`` adds the
target's size, 1M updates over 200 days (a few minutes, ~6 GB of disk).

    python bench/compaction.py [--sizes 50x1000,200x1000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from common import FULL, machine, verdict, workdir
from etl import SetupStore

from telelake.config import load_settings
from telelake.demo.simulator import simulate
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore

# Days simulated at once: the simulator keeps a run's messages in memory.
SPAN = 20
# Updates per message the simulator plans (edits, reactions, members, ...).
PER_MESSAGE = 1.25
END = date(2025, 12, 31)


def write_raw(lake: Path, days: int, per_day: int) -> int:
    """About ``per_day`` unique updates on each of ``days`` days; returns how many."""
    settings = load_settings({"lake": str(lake), "timezone": "UTC"}, env={})
    ingestor = Ingestor(settings, SetupStore(settings.raw_url))
    written = 0
    for start in range(0, days, SPAN):
        span = min(SPAN, days - start)
        traffic = simulate(
            seed=2000 + start,
            days=span,
            messages_per_day=max(1, round(per_day / PER_MESSAGE)),
            end=END - timedelta(days=start),
            timezone="UTC",
        )
        seen: set[bytes] = set()  # re-deliveries repeat bytes: ingest keeps one object
        for body in traffic.bodies:
            if body not in seen:
                seen.add(body)
                ingestor.accept(body, received_at=time.time())
        written += len(seen)
    return written


def telelake(*args: str) -> dict[str, float]:
    """One ``telelake`` command as its own process: seconds and peak MB of its tree."""
    script = (
        "import json, resource, subprocess, sys, time\n"
        "started = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
        "seconds = time.perf_counter() - started\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': seconds, 'peak_mb': peak}))\n"
    )
    command = [sys.executable, "-c", script, sys.executable, "-m", "telelake", *args]
    env = {**os.environ, "NO_COLOR": "1"}
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def tables_digest(lake: Path) -> dict[str, str]:
    root = lake / "enriched"
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.parquet"))
    }


def one_size(days: int, per_day: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=workdir()) as tmp:
        lake = Path(tmp)
        started = time.perf_counter()
        n = write_raw(lake, days, per_day)
        dates = len(LocalStore(lake / "raw").list_dirs("telegram"))
        setup = time.perf_counter() - started
        before = telelake("etl", "--all", "--lake", str(lake))
        built = tables_digest(lake)
        compact = telelake("compact", "--all", "--lake", str(lake))
        after = telelake("etl", "--all", "--lake", str(lake))
        same = tables_digest(lake) == built
    label = f"{days} days × {per_day:,}/day"
    print(f"{label}: {n:,} updates on {dates} dates (set-up {setup:.0f} s)", flush=True)
    for name, result in (
        ("etl --all, objects", before),
        ("compact --all", compact),
        ("etl --all, segments", after),
    ):
        print(
            f"  {name:<22} {result['seconds']:>7.2f} s {n / result['seconds']:>11,.0f} updates/s "
            f"{result['peak_mb']:>6.0f} MB peak",
            flush=True,
        )
    print(f"  tables after compaction byte-identical to before: {same}")
    return {
        "n": n,
        "days": dates,
        "speedup": before["seconds"] / after["seconds"],
        "compact_rate": n / compact["seconds"],
        "peak_mb": max(before["peak_mb"], compact["peak_mb"], after["peak_mb"]),
        "same": float(same),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "50x1000,200x1000" + (",200x5000" if FULL else "")
    parser.add_argument("--sizes", default=default, help="DAYSxPER_DAY,...")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    sizes = [tuple(int(x) for x in size.split("x")) for size in args.sizes.split(",")]
    figures = [one_size(days, per_day) for days, per_day in sizes]
    for figure in figures:
        what = f"{figure['n']:,.0f} updates over {figure['days']:.0f} days"
        print(
            verdict(
                f"`telelake etl --all` after compaction vs before, {what}",
                f"{figure['speedup']:.2f}× faster",
                "≥ 5×",
                figure["speedup"] >= 5,
            )
        )
        print(
            verdict(
                f"`telelake compact --all`, {what}",
                f"{figure['compact_rate']:,.0f} updates/s",
                "≥ 50,000/s",
                figure["compact_rate"] >= 50_000,
            )
        )
        print(
            verdict(
                f"peak memory of etl and compact, {what}",
                f"{figure['peak_mb']:.0f} MB",
                "< 300 MB",
                figure["peak_mb"] < 300,
            )
        )
        print(
            verdict(
                f"tables after compaction, {what}",
                "byte-identical" if figure["same"] else "DIFFERENT",
                "byte-identical",
                bool(figure["same"]),
            )
        )
    # The default sizes share their updates a day: only the number of days differs.
    if len(figures) >= 2 and sizes[0][1] == sizes[1][1]:
        low, high = figures[0], figures[1]
        growth = high["peak_mb"] / low["peak_mb"]
        print(
            verdict(
                f"peak memory, {high['days']:.0f} days vs {low['days']:.0f} days",
                f"{low['peak_mb']:.0f} → {high['peak_mb']:.0f} MB ({growth:.2f}×)",
                "not growing with days (≤ 1.2×)",
                growth <= 1.2,
            )
        )


if __name__ == "__main__":
    main()

"""raw -> Parquet: telelake's ETL against the original design's algorithm and the I/O floor.

For each size N (10k and 100k; 1M with ``BENCH_FULL=1``) it writes N
simulated updates (telelake.demo.simulator: a realistic mix of messages,
edits, media, service messages, reactions, member updates), one raw object
per update as ingest does, then measures, each in a fresh child process (so
its peak memory is its own), on the same warm files:

- floor: list, read every object's bytes and parse its JSON, in one process;
- telelake, in-process: ``etl.runner.run`` over every date (with four or more
  dates this process builds dates while a worker per other core starts, then
  takes dates from the same list: etl/workers.py);
- ``telelake etl --all``: the whole command, start-up included;
- original (at 10k only): the original design's algorithm, re-implemented
  faithfully: for each object read it, parse it, keep the eight seed columns
  (text null when absent), make a one-row Arrow table and concatenate it to
  the running table; one Parquet file at the end.

Then one day of ``--day`` updates (100k), the daily run's case: ``telelake
etl --all`` on a lake holding that single date (every core on one date:
etl/chunked.py) against the floor of the same objects, each best of three,
taken in turns.

    python bench/etl.py [--sizes 10000,100000] [--baseline 10000] [--day 100000]
    python bench/etl.py --child floor|telelake|cli|original LAKE   (internal)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from common import FULL, children_peak_mb, machine, self_peak_mb, verdict, workdir

from telelake.config import load_settings
from telelake.demo.simulator import simulate
from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.lake.storage import LocalStore

CHUNK_DAYS = 20
CHUNK_PER_DAY = 4800  # ~109k unique updates per 20-day chunk


class SetupStore(LocalStore):
    """Writes raw objects without fsync: setting up a benchmark lake is not what is measured."""

    def create(self, key: str, data: bytes) -> bool:
        path = self.path(key)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return True


def write_raw(lake: Path, n: int) -> int:
    """N unique simulated updates into ``lake``'s raw layer; returns how many dates."""
    settings = load_settings({"lake": str(lake), "timezone": "UTC"}, env={})
    ingestor = Ingestor(settings, SetupStore(settings.raw_url))
    written = 0
    end = date(2026, 1, 1)
    chunk = 0
    while written < n:
        left = n - written
        days = min(CHUNK_DAYS, max(4, left // 1200))
        per_day = min(CHUNK_PER_DAY, max(1, left // days + left // (days * 20) + 1))
        traffic = simulate(
            seed=1000 + chunk,
            days=days,
            messages_per_day=per_day,
            end=end - timedelta(days=chunk * CHUNK_DAYS),
            timezone="UTC",
        )
        seen: set[bytes] = set()  # re-deliveries repeat bytes within one simulation
        for body in traffic.bodies:
            if body in seen:
                continue  # a re-delivery: ingest would keep one object
            seen.add(body)
            ingestor.accept(body, received_at=time.time())
            written += 1
            if written == n:
                break
        chunk += 1
    return len(LocalStore(settings.raw_url).list_dirs("telegram"))


def write_day(lake: Path, n: int, day: date = date(2026, 1, 1)) -> int:
    """N unique simulated updates of one busy day into ``lake``; returns how many dates."""
    settings = load_settings({"lake": str(lake), "timezone": "UTC"}, env={})
    ingestor = Ingestor(settings, SetupStore(settings.raw_url))
    # ~1.25 updates per planned message (edits, reactions, members, re-deliveries).
    traffic = simulate(seed=5, days=1, messages_per_day=n, end=day, timezone="UTC")
    seen: set[bytes] = set()
    for body in traffic.bodies:
        if body in seen:
            continue
        seen.add(body)
        ingestor.accept(body, received_at=time.time())
        if len(seen) == n:
            break
    return len(LocalStore(settings.raw_url).list_dirs("telegram"))


def one_day(n: int) -> None:
    """The daily run's case: one date, whole process, against the floor, same objects."""
    with tempfile.TemporaryDirectory(dir=workdir()) as tmp:
        lake = Path(tmp)
        dates = write_day(lake, n)
        runs: dict[str, list[dict[str, float]]] = {"floor": [], "cli": []}
        for _ in range(3):
            for name in runs:
                runs[name].append(measure(name, lake))
        best = {name: min(results, key=lambda r: r["seconds"]) for name, results in runs.items()}
        for name, label in (("floor", "floor (read+parse, 1 proc)"), ("cli", "telelake etl --all")):
            result = best[name]
            times = ", ".join(f"{r['seconds']:.2f}" for r in runs[name])
            print(
                f"{n:>9,}  {label + f' ({dates} date)':<33} {result['seconds']:>6.2f} "
                f"{n / result['seconds']:>13,.0f} {result['peak_mb']:>8.0f}   runs: {times} s",
                flush=True,
            )
    ratio = best["floor"]["seconds"] / best["cli"]["seconds"]
    print(
        verdict(
            f"`telelake etl --all` on one day of {n:,} updates, whole process, vs the floor",
            f"{ratio:.2f}× the floor's rate",
            "≥ 0.75×",
            ratio >= 0.75,
        )
    )


def raw_paths(raw: LocalStore) -> list[Path]:
    return [raw.path(key) for key in raw.list("telegram")]


def floor(lake: Path) -> int:
    raw = LocalStore(lake / "raw")
    return sum(len(orjson.loads(path.read_bytes())) for path in raw_paths(raw))


def original(lake: Path) -> int:
    """The seed design's ETL, faithfully: one-row tables concatenated in a loop."""
    table = None
    for path in raw_paths(LocalStore(lake / "raw")):
        with open(path) as handle:
            update = json.load(handle)
        message = update.get("message")
        if message is None:
            continue  # the original only reads `message` updates
        sender = message.get("from", {})
        row = {
            "message_id": [message["message_id"]],
            "user_id": [sender.get("id")],
            "user_is_bot": [sender.get("is_bot")],
            "user_first_name": [sender.get("first_name")],
            "chat_id": [message["chat"]["id"]],
            "chat_type": [message["chat"]["type"]],
            "text": [message.get("text")],
            "date": [message["date"]],
        }
        one = pa.Table.from_pydict(row)
        table = one if table is None else pa.concat_tables([table, one], promote_options="default")
    if table is not None:
        pq.write_table(table, lake / "original.parquet")
    return 0 if table is None else table.num_rows


def telelake_in_process(lake: Path) -> int:
    raw, enriched = LocalStore(lake / "raw"), LocalStore(lake / "enriched")
    summary = run(Layers(raw, enriched, ZoneInfo("UTC")), Selection(everything=True))
    return summary.total("telegram")


def cli(lake: Path) -> int:
    command = [sys.executable, "-m", "telelake", "etl", "--all", "--lake", str(lake)]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "NO_COLOR": "1"})
    return 0


def cli_without_text(lake: Path) -> int:
    """``telelake etl --all`` with the text stage off (TELELAKE_TEXT=0): what it costs."""
    command = [sys.executable, "-m", "telelake", "etl", "--all", "--lake", str(lake)]
    env = {**os.environ, "NO_COLOR": "1", "TELELAKE_TEXT": "0"}
    subprocess.run(command, check=True, capture_output=True, env=env)
    return 0


def text_models(lake: Path) -> int:
    """Loading every model and word list of the text stage, in a fresh process."""
    from telelake.etl.text import embeddings, resources
    from telelake.lake import emoji_terms

    resources.language_model()
    resources.lexicons()
    resources.stop_words()
    emoji_terms.emoji_table()
    embeddings.model()
    return 0


CHILDREN = {
    "floor": floor,
    "original": original,
    "telelake": telelake_in_process,
    "cli": cli,
    "cli-notext": cli_without_text,
    "text-models": text_models,
}


def child(name: str, lake: Path) -> None:
    started = time.perf_counter()
    rows = CHILDREN[name](lake)
    seconds = time.perf_counter() - started
    peak = max(self_peak_mb(), children_peak_mb())
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "rows": rows}))


def measure(name: str, lake: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, str(lake)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000" if FULL else "10000,100000")
    parser.add_argument("--baseline", type=int, default=10000)
    parser.add_argument("--day", type=int, default=100_000, help="one day of N (0: skip)")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "LAKE"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    print(f"{'N':>9}  {'measure':<26} {'time s':>6} {'updates/s':>13} {'peak MB':>8}")
    figures: dict[tuple[int, str], dict[str, float]] = {}
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=workdir()) as tmp:
            lake = Path(tmp)
            dates = write_raw(lake, n)
            names = ["floor", "telelake", "cli"] + (["original"] if n <= args.baseline else [])
            names += ["text-models"] if n == 100_000 else []
            for name in names:
                result = measure(name, lake)
                figures[(n, name)] = result
                label = {
                    "floor": "floor (read+parse, 1 proc)",
                    "telelake": f"telelake run ({dates} dates)",
                    "cli": "telelake etl --all",
                    "original": "original algorithm",
                    "cli-notext": "etl --all, text stage off",
                    "text-models": "text stage: load models",
                }[name]
                print(
                    f"{n:>9,}  {label:<26} {result['seconds']:>6.2f} "
                    f"{n / result['seconds']:>13,.0f} {result['peak_mb']:>8.0f}",
                    flush=True,
                )
            if n == 100_000:
                with_and_without_text(lake, figures, n)

    def rate(n: int, name: str) -> float:
        return n / figures[(n, name)]["seconds"]

    small = min(sizes)
    if (small, "original") in figures:
        speedup = rate(small, "telelake") / rate(small, "original")
        print(
            verdict(
                f"ETL vs original algorithm at {small:,} (in-process)",
                f"{speedup:,.0f}×",
                "≥ 300×",
                speedup >= 300,
            )
        )
    middle = 100_000
    if middle in sizes:  # both remaining targets are set at 100k updates
        at_middle(figures, middle)
        text_stage(figures, middle)
    if args.day:
        one_day(args.day)


def at_middle(figures: dict[tuple[int, str], dict[str, float]], middle: int) -> None:
    def rate(n: int, name: str) -> float:
        return n / figures[(n, name)]["seconds"]

    over_floor = rate(middle, "telelake") / rate(middle, "floor")
    print(
        verdict(
            f"ETL vs single-process read+parse floor at {middle:,}",
            f"{over_floor:.2f}×",
            "≥ 1.5×",
            over_floor >= 1.5,
        )
    )
    whole = figures[(middle, "cli")]["seconds"]
    print(
        verdict(
            f"`telelake etl --all` on {middle:,} updates, whole process",
            f"{whole:.2f} s",
            "≤ 1.5 s",
            whole <= 1.5,
        )
    )


def with_and_without_text(
    lake: Path, figures: dict[tuple[int, str], dict[str, float]], n: int
) -> None:
    """`etl --all` with and without the text stage, in turns, best of three each
    (turns, so a neighbour's load on the shared machine weighs on both alike)."""
    runs: dict[str, list[dict[str, float]]] = {"cli": [figures[(n, "cli")]], "cli-notext": []}
    for turn in range(3):
        for name in ("cli-notext", "cli") if turn else ("cli-notext",):
            runs[name].append(measure(name, lake))
    for name, results in runs.items():
        figures[(n, name)] = min(results, key=lambda r: r["seconds"])
        times = ", ".join(f"{r['seconds']:.2f}" for r in results)
        best = figures[(n, name)]["seconds"]
        print(f"{n:>9,}  {name + ' (best)':<26} {best:>6.2f}   runs: {times} s")


def text_stage(figures: dict[tuple[int, str], dict[str, float]], middle: int) -> None:
    """The text stage (telelake/etl/text/): at most doubles `etl --all`, loads in 1 s, 500 MB."""
    whole, without = figures[(middle, "cli")], figures[(middle, "cli-notext")]
    ratio = whole["seconds"] / without["seconds"]
    print(
        verdict(
            f"`telelake etl --all` on {middle:,} updates with the text stage vs without",
            f"{ratio:.2f}× ({whole['seconds']:.2f} s vs {without['seconds']:.2f} s)",
            "≤ 2×",
            ratio <= 2,
        )
    )
    load = figures[(middle, "text-models")]
    print(verdict("text stage: loading its models and word lists", f"{load['seconds']:.2f} s",
                  "≤ 1 s", load["seconds"] <= 1))  # fmt: skip
    print(verdict("`telelake etl --all` peak memory (largest process)",
                  f"{whole['peak_mb']:.0f} MB", "≤ 500 MB", whole["peak_mb"] <= 500))  # fmt: skip


if __name__ == "__main__":
    main()

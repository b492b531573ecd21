"""Rebuilding a month of raw updates from S3: after compaction, one object at a time, and
the original design's way.

Writes 30 days × 1,000 simulated updates (one object per update, as ingest
stores them) into a local lake, compacts a copy with ``telelake compact``
(one segment per day), and loads both raw layers into a moto S3 server on
loopback (straight into its memory: the set-up is not what is measured). All
requests then go through a proxy that adds ``--latency-ms`` (8 ms) before
each request, as real S3's latency would; moto and the proxy each run in
their own process. Then, each in this process with one core as on the ETL
Lambda (``workers=1``):

- telelake on the compacted layer: every date, one GET per segment;
- telelake on the objects (today's per-object path): ``read_many``, boto3's
  ``get_object`` on 32 threads; and, for comparison, the same through
  pyarrow's C++ S3 client (GIL-free, but a HEAD before every GET and ~1 ms
  of CPU per object here: not what ``read_many`` uses);
- the original design: list, then ``get_object`` one by one, a one-row Arrow
  table per message concatenated in a loop.

The per-object paths take minutes for the whole month on this harness, so
by default they run on ``--sample-days`` of the 30 days and their time is
scaled to 30 (they are linear in the days: each date is read and built on
its own); ``BENCH_FULL=1`` runs them on every day. Loopback moto is one
Python process that spends a few ms of CPU on every request: on a small
machine it, not the network, bounds the per-object paths.

    python bench/s3_etl.py [--days 30] [--per-day 1000] [--sample-days 3] [--latency-ms 8]
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import orjson
import pyarrow as pa
from common import FULL, machine, verdict, workdir
from compaction import write_raw

from telelake.etl.layers import Layers
from telelake.etl.plan import Selection
from telelake.etl.runner import run
from telelake.lake.s3 import S3Store
from telelake.lake.storage import LocalStore

BUCKET = "telelake-bench"
UTC = ZoneInfo("UTC")

# A moto server in its own process, loaded straight from local folders.
MOTO = """
import logging, sys, threading
# No line per request; and moto's in-memory S3 is not thread-safe: a listing that
# races a delete answers 500, which botocore retries; its traceback is noise here.
logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
from pathlib import Path
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

port, bucket, pairs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
backend.create_bucket(bucket, "us-east-1")
for prefix, root in zip(pairs[::2], pairs[1::2]):
    root = Path(root)
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in name.split("/")):
            backend.put_object(bucket, f"{prefix}/{name}", path.read_bytes())
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)  # port 0: the system picks a free one
threading.Event().wait()
"""


@contextlib.contextmanager
def child(command: list[str]) -> Iterator[tuple[str, int]]:
    """A child process that prints one line (its port, or its URL) once it serves;
    that line and its pid."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def latency_proxy(upstream: str, latency_s: float) -> str:
    """A TCP forwarder that waits ``latency_s`` before passing on each request burst."""
    host, port = upstream.removeprefix("http://").split(":")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(256)

    def pipe(src: socket.socket, dst: socket.socket, delay: float) -> None:
        try:
            while data := src.recv(65536):
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def accept() -> None:
        while True:
            client, _ = server.accept()
            backend = socket.create_connection((host, int(port)))
            threading.Thread(target=pipe, args=(client, backend, latency_s), daemon=True).start()
            threading.Thread(target=pipe, args=(backend, client, 0.0), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}"


def original_algorithm(client: Any, bucket: str, prefix: str) -> int:
    """The seed design: one GET per object, in order, one-row table, concat in a loop."""
    table = None
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for item in (item for page in pages for item in page.get("Contents", [])):
        body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        data = orjson.loads(body)
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
        table = one if table is None else pa.concat_tables([table, one], promote_options="default")
    return 0 if table is None else table.num_rows


def pyarrow_read_many(self: S3Store, keys: builtins.list[str]) -> builtins.list[bytes]:
    """``S3Store.read_many`` through pyarrow's S3 file system, 64 requests at once."""
    filesystem, root = self.arrow_location()

    def read(key: str) -> bytes:
        # open_input_stream sends a HEAD (the size), then the GET.
        with filesystem.open_input_stream(f"{root}/{key}", compression=None) as stream:
            data: bytes = stream.read()
            return data

    with ThreadPoolExecutor(64) as pool:
        return builtins.list(pool.map(read, keys))


def table_bytes(client: Any, out: str, day: date) -> bytes:
    key = f"{out}/enriched/telegram/context_date={day}/part-00000.parquet"
    body: bytes = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timer:
    """Wall time, this process's CPU time and the S3 server's, of one measured path."""

    def __init__(self, server: int) -> None:
        self.server = server

    def __call__(self, what: Callable[[], object], scale: float = 1.0) -> dict[str, float]:
        ours, theirs = os.times(), cpu_seconds(self.server)
        started = time.perf_counter()
        what()
        wall = time.perf_counter() - started
        after = os.times()
        return {
            "seconds": wall * scale,
            "cpu": (after.user + after.system - ours.user - ours.system) * scale,
            "server_cpu": (cpu_seconds(self.server) - theirs) * scale,
        }


def build(raw: str, out: str, days: list[date] | None) -> Callable[[], object]:
    selection = Selection(everything=True) if days is None else Selection(dates=tuple(days))
    layers = Layers(S3Store(BUCKET, raw), S3Store(BUCKET, out), UTC)
    return lambda: run(layers, selection, workers=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--sample-days", type=int, default=0, help="default 3; all with FULL")
    parser.add_argument("--latency-ms", type=float, default=8.0)
    parser.add_argument("--proxy", nargs=2, metavar=("UPSTREAM", "LATENCY_S"))
    args = parser.parse_args()
    if args.proxy:  # internal: the latency proxy's own process
        print(latency_proxy(args.proxy[0], float(args.proxy[1])), flush=True)
        threading.Event().wait()
    sample = args.sample_days or (args.days if FULL else 3)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(dir=workdir()) as tmp:
        objects, compacted = Path(tmp) / "objects", Path(tmp) / "compacted"
        n = write_raw(objects, args.days, args.per_day)
        shutil.copytree(objects, compacted)
        env = {**os.environ, "NO_COLOR": "1"}
        command = [sys.executable, "-m", "telelake", "compact", "--all", "--lake", str(compacted)]
        subprocess.run(command, check=True, capture_output=True, env=env)
        days = [
            date.fromisoformat(d.split("=")[1])
            for d in LocalStore(objects / "raw").list_dirs("telegram")
        ]
        segments = sum(1 for _ in (compacted / "raw").rglob("segment-*"))
        moto = [sys.executable, "-c", MOTO, "0", BUCKET]
        moto += ["objects/raw", str(objects / "raw"), "compacted/raw", str(compacted / "raw")]
        with child(moto) as (port, server):
            upstream = f"http://127.0.0.1:{port}"
            proxy = [sys.executable, __file__, "--proxy", upstream, str(args.latency_ms / 1000)]
            with child(proxy) as (endpoint, _):
                os.environ.update(
                    AWS_ENDPOINT_URL=endpoint,
                    AWS_ACCESS_KEY_ID="bench",
                    AWS_SECRET_ACCESS_KEY="bench",
                    AWS_DEFAULT_REGION="us-east-1",
                )
                measure(n, days, segments, sample, args.latency_ms, Timer(server))


def measure(
    n: int, days: list[date], segments: int, sample: int, latency_ms: float, timed: Timer
) -> None:
    picked = days[:sample]
    scale = len(days) / len(picked)
    in_sample = len(picked) * n / len(days)
    print(
        f"{n:,} updates over {len(days)} days on moto + {latency_ms:g} ms per request; "
        f"compacted: {segments} segments; per-object paths on {len(picked)} of the "
        f"{len(days)} days (~{in_sample:,.0f} objects), times × {scale:g}",
        flush=True,
    )
    seg = timed(build("compacted/raw", "seg/enriched", None))
    by_boto3 = timed(build("objects/raw", "obj/enriched", picked), scale)
    original_read_many = S3Store.read_many
    S3Store.read_many = pyarrow_read_many  # type: ignore[method-assign]
    try:
        by_pyarrow = timed(build("objects/raw", "pa/enriched", picked), scale)
    finally:
        S3Store.read_many = original_read_many  # type: ignore[method-assign]
    client = boto3.client("s3")
    prefix = "objects/raw/telegram/context_date="
    original = timed(
        lambda: [original_algorithm(client, BUCKET, f"{prefix}{d}/") for d in picked], scale
    )
    same = all(table_bytes(client, "seg", d) == table_bytes(client, "obj", d) for d in picked)
    rows = [
        ("telelake, compacted (one GET per segment)", seg, False),
        ("telelake, objects (read_many: boto3, 32 threads)", by_boto3, True),
        ("  the same through pyarrow's S3 client (not used)", by_pyarrow, True),
        ("original design (sequential GET + concat)", original, True),
    ]
    print(f"  {'':<50} {'time':>8}  {'':<8} {'updates/s':>9} {'our CPU':>8} {'moto CPU':>9}")
    for label, figure, scaled in rows:
        mark = " (scaled)" if scaled and scale != 1 else ""
        print(
            f"  {label:<50} {figure['seconds']:>8.1f} s{mark:<9} "
            f"{n / figure['seconds']:>9,.0f} {figure['cpu']:>7.1f}s {figure['server_cpu']:>8.1f}s",
            flush=True,
        )
    print(f"  tables from segments byte-identical to tables from objects (sampled days): {same}")
    per_object = {
        name: f["cpu"] / n * 1e6 for name, f in (("pyarrow", by_pyarrow), ("boto3", by_boto3))
    }
    print(
        f"  our CPU per object read: pyarrow {per_object['pyarrow']:,.0f} µs, "
        f"boto3 {per_object['boto3']:,.0f} µs (parsing and building included)"
    )
    speedup = by_boto3["seconds"] / seg["seconds"]
    print(
        verdict(
            "S3 rebuild after compaction vs today's per-object path (boto3 read_many)",
            f"{speedup:.1f}×",
            "≥ 20×",
            speedup >= 20,
        )
    )
    speedup = original["seconds"] / seg["seconds"]
    print(
        verdict(
            "S3 rebuild after compaction vs the original design's sequential GET + concat",
            f"{speedup:.1f}×",
            "≥ 50×",
            speedup >= 50,
        )
    )


if __name__ == "__main__":
    main()

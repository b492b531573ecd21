"""raw -> Parquet on an S3 endpoint: the original design's ETL against telelake's.

Starts moto's S3 server on loopback, stores N raw updates (one object each,
as ingest does), then times (a) the original design's ETL: list, then
``get_object`` one by one and a one-row Arrow table per message concatenated
in a loop; (b) telelake's runner over S3Store (concurrent reads, one table
per partition, one PUT per table and date), in one process as on Lambda.

    python bench/s3_etl.py [--n 1000] [--latency-ms 8]

Loopback moto is one Python process: it answers a GET in a few ms of its
own CPU, so on a small machine it, not the network, is the bottleneck and
concurrency barely helps. Real S3 answers in ~8-20 ms of latency per request
(DESIGN §10 measured ~8 ms) and serves thousands in parallel. The run is
done twice: straight to moto, and through a proxy that adds ``--latency-ms``
before each request, which is what the 20x target is about.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
from zoneinfo import ZoneInfo

import boto3
import orjson
import pyarrow as pa
from common import machine, update

from telelake.config import load_settings
from telelake.etl.layers import Layers
from telelake.etl.plan import Selection, plan
from telelake.etl.runner import run
from telelake.ingest.core import Ingestor
from telelake.lake.s3 import S3Store


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return process, f"http://127.0.0.1:{port}"


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


def original_algorithm(client: object, bucket: str, prefix: str) -> int:
    """The seed design: one GET per object, in order, one-row table, concat in a loop."""
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)  # type: ignore[attr-defined]
    table = None
    for item in listed.get("Contents", []):
        body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()  # type: ignore[attr-defined]
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
        table = one if table is None else pa.concat_tables([table, one])
    return 0 if table is None else table.num_rows


def measure(endpoint: str, bucket: str, n: int, label: str) -> None:
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    client = boto3.client("s3")
    raw, enriched = S3Store(bucket, "lake/raw"), S3Store(bucket, "lake/enriched")
    days = plan(raw, enriched, Selection(everything=True))
    prefix = f"lake/raw/telegram/context_date={days[0].isoformat()}/"
    started = time.perf_counter()
    rows = original_algorithm(client, bucket, prefix)
    original_s = time.perf_counter() - started
    started = time.perf_counter()
    summary = run(Layers(raw, enriched, ZoneInfo("UTC")), Selection(everything=True), workers=1)
    ours_s = time.perf_counter() - started
    print(f"[{label}] original design (sequential GET + concat): {original_s:.2f} s, "
          f"{n / original_s:,.0f} objects/s, {rows} rows | telelake (S3Store, 32 concurrent "
          f"GETs, one PUT per table): {ours_s:.2f} s, {n / ours_s:,.0f} objects/s, "
          f"{summary.total('telegram')} messages | telelake {original_s / ours_s:.1f}x faster",
          flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=8.0)
    args = parser.parse_args()
    process, endpoint = start_moto()
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        client = boto3.client("s3")
        bucket = "telelake-bench"
        client.create_bucket(Bucket=bucket)
        settings = load_settings({"lake": f"s3://{bucket}/lake"}, env={})
        ingestor = Ingestor(settings, S3Store(bucket, "lake/raw"))
        rng = random.Random(1)
        # One day of traffic: the original design builds one date per run.
        bodies = [orjson.dumps(update(200_000_000 + i, rng, days=0)) for i in range(args.n)]
        started = time.perf_counter()
        for body in bodies:
            ingestor.accept(body)
        ingest_s = time.perf_counter() - started
        print(f"machine: {machine()}; n={args.n:,} raw objects, one partition; "
              f"ingest (sequential conditional PUTs) {args.n / ingest_s:,.0f}/s")  # fmt: skip
        measure(endpoint, bucket, args.n, "moto on loopback, no added latency")
        slow = latency_proxy(endpoint, args.latency_ms / 1000)
        measure(slow, bucket, args.n, f"+{args.latency_ms:g} ms per request")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()

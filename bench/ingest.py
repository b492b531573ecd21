"""Durable ingest: acknowledged updates per second, in-process and over real HTTP.

1. In-process, the raw layer's durable ``create`` through the ingest core, from
   one thread and from 40, with an fsync per file ("fsync", the classic way)
   and with shared flushes ("group", the default): what the disk allows.
2. Over real HTTP: a real ``telelake serve`` on loopback driven by ``wrk``
   (Debian package ``wrk``) from 40 connections, Telegram's default
   ``max_connections``; ``bench/post.lua`` posts a unique realistic update per
   request and records the update_id of every 2xx, and afterwards every one of
   them must be in the raw layer. ``GET /healthz`` under the same load is the
   ceiling of the HTTP stack.
3. In the same run, python-telegram-bot's own webhook server (tornado,
   ``Application.run_webhook`` with a no-op handler, ``bench/ptb_server.py``)
   under the same load, with no durability at all.

Order matters on ext4 without a journal (this machine's root file system):
for 30-60 s after files are deleted, every new inode costs a scan past the
recently deleted ones (``recently_deleted()`` in the allocator, up to ~1 ms
of kernel CPU per file instead of ~10 µs). So the HTTP runs come first and
every lake made here is deleted only at the very end. Each HTTP run prints
the server's CPU time per acknowledged update, user and system: a system
figure of several hundred µs means something else deleted many files there
recently (another benchmark, the previous run) and the run measures the
file system's inode allocator more than telelake (``perf`` shows
``recently_deleted``).

    python bench/ingest.py [--seconds 10] [--connections 40] [--in-process 3000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import FULL, bodies, machine, process_peak_mb, verdict, workdir

from telelake.config import load_settings
from telelake.ingest.core import Ingestor
from telelake.lake.local import Durability, LocalStore

HERE = Path(__file__).resolve().parent
SECRET = "bench-secret-123"
TARGET_RATE = 5000.0
TARGET_P99_MS = 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listening on port {port} after {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wrk(url: str, seconds: int, connections: int, post: bool, acked: str = "") -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency"]
    if post:
        command += ["-s", str(HERE / "post.lua")]
    command.append(url)
    if acked:
        command += ["--", acked]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        return float(match.group(1)) if match else 0.0

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": number(r"(\d+) requests in"),
        "non2xx": number(r"Non-2xx or 3xx responses: (\d+)"),
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "seconds": number(r"requests in ([\d.]+)s"),
        "p50": millis("50"),
        "p99": millis("99"),
    }


def ok_rate(result: dict[str, float]) -> float:
    return (result["requests"] - result["non2xx"]) / max(result["seconds"], 1e-9)


def in_process(lake: str, n: int, threads: int, durability: Durability) -> float:
    payloads = list(bodies(n, seed=threads))
    settings = load_settings({"lake": lake}, env={})
    ingestor = Ingestor(settings, LocalStore(settings.raw_url, durability=durability))
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(ingestor.accept, payloads))
    return n / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a running process so far (NaN where /proc is absent)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan"), float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def stored_ids(raw: Path) -> set[int]:
    return {int(p.stem) for p in (raw / "telegram").rglob("*.json") if p.stem.isdigit()}


def acked_ids(prefix: str) -> set[int]:
    ids: set[int] = set()
    for file in Path(prefix).parent.glob(Path(prefix).name + "-*"):
        ids.update(int(line) for line in file.read_text().split())
    return ids


def serve_telelake(lake: str, seconds: int, connections: int) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "telelake", "serve", "--port", str(port), "--lake", lake],
        env={**os.environ, "TELELAKE_WEBHOOK_SECRET": SECRET},
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, server)
        base = f"http://127.0.0.1:{port}"
        ceiling = wrk(f"{base}/healthz", max(3, seconds // 2), connections, post=False)
        prefix = str(Path(lake) / "acked")
        user, system = cpu_seconds(server.pid)
        result = wrk(f"{base}/webhook", seconds, connections, post=True, acked=prefix)
        user_after, system_after = cpu_seconds(server.pid)
        result["peak_mb"] = process_peak_mb(server.pid)
    finally:
        stop(server)
    acked = acked_ids(prefix)
    stored = stored_ids(Path(lake) / "raw")
    result["ceiling"] = ok_rate(ceiling)
    result["user_us"] = (user_after - user) / max(len(acked), 1) * 1e6
    result["system_us"] = (system_after - system) / max(len(acked), 1) * 1e6
    result["acked"] = len(acked)
    result["lost"] = len(acked - stored)
    result["stored"] = len(stored)
    return result


def serve_ptb(seconds: int, connections: int) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "ptb_server.py"), str(port), SECRET],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, server)
        result = wrk(f"http://127.0.0.1:{port}/webhook", seconds, connections, post=True)
        result["peak_mb"] = process_peak_mb(server.pid)
    finally:
        stop(server)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", default="10,30" if FULL else "10")
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--in-process", type=int, default=3000, dest="in_process")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/ingest.py needs wrk: apt-get install wrk")
    print(f"machine: {machine()}")
    # Every lake of this run lives here until the end (see the module docstring).
    with tempfile.TemporaryDirectory(dir=workdir(), prefix="ingest-bench-") as scratch:
        run(args, Path(scratch))


def run(args: argparse.Namespace, scratch: Path) -> None:
    print(f"over HTTP, {args.connections} connections (wrk):")
    print(
        "  duration  acked      rate/s  p50 ms  p99 ms  non-2xx  lost  server peak MB"
        "  CPU µs/update user + system"
    )
    ours: dict[str, float] = {}
    for number, seconds in enumerate(int(s) for s in args.seconds.split(",")):
        lake = scratch / f"http-{number}"
        lake.mkdir()
        ours = serve_telelake(str(lake), seconds, args.connections)
        print(
            f"  {seconds:>6} s {int(ours['acked']):>8,} {ok_rate(ours):>9,.0f} "
            f"{ours['p50']:>7.1f} {ours['p99']:>7.1f} {int(ours['non2xx']):>8} "
            f"{int(ours['lost']):>5} {ours['peak_mb']:>10.0f}"
            f"  {ours['user_us']:>6.0f} + {ours['system_us']:.0f}"
        )
    ptb = serve_ptb(int(args.seconds.split(",")[0]), args.connections)
    rate, ptb_rate = ok_rate(ours), ok_rate(ptb)
    print(
        f"  GET /healthz on the same server: {ours['ceiling']:,.0f}/s | python-telegram-bot "
        f"webhook (no durability): {ptb_rate:,.0f}/s, p50 {ptb['p50']:.1f} ms, "
        f"p99 {ptb['p99']:.1f} ms, peak {ptb['peak_mb']:.0f} MB"
    )
    print(verdict("durable ingest over HTTP", f"{rate:,.0f} updates/s", "≥ 5,000/s", rate >= 5000))
    print(verdict("p99 latency", f"{ours['p99']:.1f} ms", "< 50 ms", ours["p99"] < TARGET_P99_MS))
    print(
        verdict(
            "every acknowledged update on disk",
            f"{int(ours['acked'] - ours['lost']):,} of {int(ours['acked']):,}",
            "all",
            ours["lost"] == 0 and ours["acked"] > 0,
        )
    )
    ratio = rate / ptb_rate if ptb_rate else float("nan")
    print(verdict("telelake / python-telegram-bot", f"{ratio:.2f}×", "≥ 1", ratio >= 1))

    print("in-process durable writes (ingest core -> LocalStore.create, ~600-byte updates):")
    for durability in ("fsync", "group"):
        for threads in (1, args.connections):
            lake = scratch / f"in-process-{durability}-{threads}"
            rate = in_process(str(lake), args.in_process, threads, durability)
            print(f"  {durability:>5} durability, {threads:>2} threads: {rate:>7,.0f} updates/s")


if __name__ == "__main__":
    main()

"""Durable ingest over real HTTP: acknowledged updates per second at 40 connections.

Starts a real ``telelake serve`` on loopback and drives it with ``wrk``
(Debian package ``wrk``; ``bench/post.lua`` posts a unique realistic update per
request) from 40 connections, Telegram's default ``max_connections``. The
same load against ``GET /healthz`` (no parsing, no disk) is the ceiling of this
machine's HTTP stack, so the ratio says what durability costs. Afterwards it
checks that at least every acknowledged update is on disk.

    python bench/ingest.py [--seconds 5] [--connections 40]
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
from pathlib import Path

import httpx
from common import machine

HERE = Path(__file__).resolve().parent
SECRET = "bench-secret-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, seconds: int, connections: int, script: Path | None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": float(requests.group(1)) if requests else 0.0,
        "non2xx": float(errors.group(1)) if errors else 0.0,
        "p50": millis("50"),
        "p99": millis("99"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=40)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/ingest.py needs wrk: apt-get install wrk")
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "telelake", "serve", "--port", str(port), "--lake", tmp],
            env={**os.environ, "TELELAKE_WEBHOOK_SECRET": SECRET},
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(f"{base}/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            ceiling = wrk(f"{base}/healthz", args.seconds, args.connections, None)
            ingest = wrk(base, args.seconds, args.connections, HERE / "post.lua")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=15)
        stored = sum(1 for _ in Path(tmp, "raw", "telegram").rglob("*.json"))
    acknowledged = int(ingest["requests"] - ingest["non2xx"])
    print(
        f"durable ingest: {ingest['rate']:,.0f} updates/s acknowledged at {args.connections} "
        f"connections, p50 {ingest['p50']:.1f} ms, p99 {ingest['p99']:.1f} ms, "
        f"non-2xx {int(ingest['non2xx'])} | GET /healthz ceiling {ceiling['rate']:,.0f}/s | "
        f"ratio {ingest['rate'] / ceiling['rate']:.2f} | on disk {stored:,} >= acknowledged "
        f"{acknowledged:,}: {'yes' if stored >= acknowledged else 'NO'}"
    )


if __name__ == "__main__":
    main()

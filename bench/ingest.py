"""Durable ingest over real HTTP: acknowledged updates per second at 40 connections.

Starts a real ``telelake serve`` on loopback, sends N unique updates from 40
concurrent connections (Telegram's default ``max_connections``), and checks
that every acknowledged update is on disk. The same client against
``GET /healthz`` (no disk at all) gives the load generator's own ceiling, so
the ratio says how much durability costs on this machine.

    python bench/ingest.py [--n 5000] [--connections 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import bodies, machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def blast(url: str, payloads: list[bytes | None], connections: int) -> list[float]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "bench-secret-123"}
    latencies: list[float] = []
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    for item in payloads:
        queue.put_nowait(item)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                if body is None:
                    response = await client.get(url.replace("/webhook", "/healthz"))
                else:
                    response = await client.post(url, content=body)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=40)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        port = free_port()
        env = {**os.environ, "TELELAKE_WEBHOOK_SECRET": "bench-secret-123"}
        server = subprocess.Popen(
            [sys.executable, "-m", "telelake", "serve", "--port", str(port), "--lake", tmp],
            env=env,
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
            url = f"{base}/webhook"
            payloads: list[bytes | None] = list(bodies(args.n, seed=3))
            started = time.perf_counter()
            asyncio.run(blast(url, [None] * args.n, args.connections))
            ceiling_rate = args.n / (time.perf_counter() - started)
            started = time.perf_counter()
            latencies = asyncio.run(blast(url, payloads, args.connections))
            rate = args.n / (time.perf_counter() - started)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=15)
        stored = sum(1 for _ in Path(tmp, "raw", "telegram").rglob("*.json"))
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"durable ingest: {rate:,.0f} updates/s acknowledged at {args.connections} connections, "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; load generator ceiling (GET /healthz) "
        f"{ceiling_rate:,.0f}/s; ratio {rate / ceiling_rate:.2f}; "
        f"on disk {stored:,}/{args.n:,} (distinct update ids)"
    )


if __name__ == "__main__":
    main()

"""Shared pieces of the benchmarks: synthetic updates, timers, peak memory, target marks.

Every figure a benchmark prints that has a target goes through :func:`verdict`,
so ``make bench`` shows it with its target and a PASS/SHORT mark.
``BENCH_FULL=1`` adds the largest sizes (minutes, and several GB of disk).
"""

from __future__ import annotations

import os
import platform
import random
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

WORDS = [
    "olá",
    "bom",
    "dia",
    "pessoal",
    "alguém",
    "viu",
    "o",
    "jogo",
    "ontem",
    "😂",
    "que",
    "golaço",
    "não",
    "acredito",
    "merci",
    "beaucoup",
    "Grüße",
    "aus",
    "Köln",
    "привет",
    "你好",
    "👍🏽",
    "amanhã",
    "reunião",
    "às",
    "19h",
    "#meetup",
    "@maria",
    "https://example.org/agenda",
    "café",
    "☕",
    "obrigado",
    "valeu",
]
BASE = 1_764_000_000


FULL = os.environ.get("BENCH_FULL", "") not in ("", "0")


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip() + ", "
                break
    except OSError:
        pass
    return (
        f"{platform.machine()}, {cpu}{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def workdir() -> str:
    """Where benchmarks put their lakes: ``BENCH_DIR``, else the current folder (a real disk).

    Absolute, since child processes (the moto server) run in other folders.
    """
    return os.path.abspath(os.environ.get("BENCH_DIR", "."))


def verdict(what: str, figure: str, target: str, ok: bool) -> str:
    """One line: the figure, its target and whether it is met."""
    return f"  [{'PASS' if ok else 'SHORT'}] {what}: {figure} (target {target})"


def self_peak_mb() -> float:
    """Peak resident memory of this process so far.

    ``VmHWM`` where /proc has it: ``ru_maxrss`` also counts what the parent
    had resident when it forked this process, before exec.
    """
    peak = process_peak_mb(os.getpid())
    if peak == peak:  # not NaN
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_mb() -> float:
    """Largest peak resident memory of any child process waited for so far."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def process_peak_mb(pid: int) -> float:
    """Peak resident memory of a running process (``VmHWM``); NaN where /proc is absent."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def update(update_id: int, rng: random.Random, days: int = 7) -> dict[str, Any]:
    """One realistic group message (~600 bytes), now and then an edit of an older one."""
    user = rng.randint(1, 300)
    message_id = update_id
    kind = "message"
    payload: dict[str, Any] = {
        "message_id": message_id,
        "from": {
            "id": 10_000 + user, "is_bot": False, "first_name": f"Pessoa{user}",
            "last_name": "Souza", "username": f"pessoa_{user}", "language_code": "pt-br",
        },
        "chat": {
            "id": -1001234567890, "title": "Grupo de Teste do telelake",
            "username": "telelake_demo", "type": "supergroup",
        },
        "date": BASE + rng.randint(0, days * 86_400),
        "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25))),
    }  # fmt: skip
    if rng.random() < 0.05:
        kind = "edited_message"
        payload["message_id"] = max(1, update_id - rng.randint(1, 50))
        payload["edit_date"] = payload["date"] + 60
    return {"update_id": update_id, kind: payload}


def bodies(n: int, seed: int = 1) -> Iterator[bytes]:
    rng = random.Random(seed)
    for i in range(n):
        yield orjson.dumps(update(100_000_000 + i, rng))


@contextmanager
def timed(result: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    result[name] = time.perf_counter() - started


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)

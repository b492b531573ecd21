"""Shared pieces of the benchmarks: realistic synthetic updates and a timer."""

from __future__ import annotations

import os
import platform
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


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

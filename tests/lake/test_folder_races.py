"""Two writers of one folder layer (two processes, each with its own store) creating and
deleting small markers in sibling folders: a folder one of them empties and removes while
the other creates in it is made again, never an error.

This is what the ETL's week markers do: workers mark weeks while the main process
clears the marker of another week of the same parent folder.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from telelake.lake.local import LocalStore


def test_markers_created_while_a_sibling_is_removed_never_fail(tmp_path: Path) -> None:
    failures: list[BaseException] = []
    stop = time.monotonic() + 1.5
    done = [0, 0]

    def churn(index: int) -> None:
        store = LocalStore(tmp_path)  # one per writer: each keeps its own folder cache
        n = 0
        try:
            while time.monotonic() < stop:
                key = f"_telelake/weeks/context_date=2026-01-{(n % 2) * 2 + index + 1:02d}/pending"
                store.replace(key, b"")
                store.delete(key)  # empties the folder, and its parents when they empty too
                n += 1
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
        done[index] = n

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert min(done) > 100, done  # both really wrote, many times
    assert list(tmp_path.rglob("pending")) == []  # every marker written was deleted

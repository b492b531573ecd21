"""A full disk under ``serve``: 5xx only while it lasts, nothing partial, recovery on its own.

The lake lives on a small tmpfs that the test fills up for real (mounting
needs root or CAP_SYS_ADMIN; elsewhere the tests skip and say so). While the
disk is full, forty concurrent new updates must each get a 5xx (so Telegram
retries) and never a 2xx; a body too big for the space left must leave no
trace. When space returns, the same server, never restarted, takes the
retries.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from telelake.lake.storage import LocalStore

if TYPE_CHECKING:
    from conftest import Server

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONNECTIONS = 40


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, so the disk really fills up; skipped where mounting is not allowed."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(path: Path, leave: int = 0) -> None:
    """Write ``path`` until the file system is full (then give back ``leave`` bytes)."""
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        if leave:
            handle.truncate(max(0, handle.tell() - leave))


def body_of(update_id: int, size: int = 600) -> bytes:
    payload = {
        "message_id": update_id,
        "from": {"id": 7, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": -100, "type": "group"},
        "date": 1718452800 + update_id % 86_400,
        "text": "",
    }
    head = json.dumps({"update_id": update_id, "message": payload}).encode()
    return head.replace(b'"text": ""', b'"text": "' + b"x" * max(0, size - len(head)) + b'"')


async def post_all(server: Server, bodies: dict[int, bytes]) -> dict[int, int]:
    """Post every body at once over CONNECTIONS connections; status per update_id."""
    limits = httpx.Limits(max_connections=CONNECTIONS)
    headers = {SECRET_HEADER: server.secret or "", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=10.0, trust_env=False, limits=limits) as client:

        async def one(update_id: int) -> tuple[int, int]:
            response = await client.post(
                server.webhook_url, content=bodies[update_id], headers=headers
            )
            return update_id, response.status_code

        return dict(await asyncio.gather(*(one(uid) for uid in bodies)))


def raw_objects(lake: Path) -> dict[str, bytes]:
    store = LocalStore(lake / "raw")
    return {key: store.read(key) for key in store.list("telegram")}


def files_under(root: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _dirs, names in os.walk(root)
        for name in names
    }


def test_full_disk_answers_only_5xx_and_recovers_by_itself(
    small_fs: Path, serve_webhook: Callable[..., Server]
) -> None:
    lake = small_fs / "lake"
    server = serve_webhook(lake)
    stored: dict[int, bytes] = {}
    next_id = 1_000
    for cycle in range(2):
        before = {next_id + i: body_of(next_id + i) for i in range(5)}
        next_id += 5
        assert set(asyncio.run(post_all(server, before)).values()) == {200}
        stored.update(before)

        filler = small_fs / f"filler-{cycle}"
        fill(filler)
        files_before = files_under(lake)
        refused = {next_id + i: body_of(next_id + i) for i in range(2 * CONNECTIONS)}
        next_id += 2 * CONNECTIONS
        statuses = asyncio.run(post_all(server, refused))
        assert all(500 <= status < 600 for status in statuses.values()), statuses
        health = server.client.get(f"{server.url}/healthz")
        assert health.status_code == 503, health.text  # alive, not ready, and why
        assert "no space left" in health.json()["reason"].lower(), health.text
        # Nothing new and nothing partial is visible; not even a hidden temp file.
        assert files_under(lake) == files_before
        assert set(raw_objects(lake).values()) == set(stored.values())

        filler.unlink()  # space comes back; the server is the same process
        statuses = asyncio.run(post_all(server, refused))
        assert set(statuses.values()) == {200}, statuses
        assert server.client.get(f"{server.url}/healthz").status_code == 200
        stored.update(refused)
        assert sorted(raw_objects(lake).values()) == sorted(stored.values())
    assert server.process.poll() is None


def test_a_body_bigger_than_the_space_left_leaves_no_trace(
    small_fs: Path, serve_webhook: Callable[..., Server]
) -> None:
    lake = small_fs / "lake"
    server = serve_webhook(lake)
    small = body_of(1, 600)
    assert server.post(small).status_code == 200
    fill(small_fs / "filler", leave=256 * 1024)
    files_before = files_under(lake)

    big = body_of(2, 900 * 1024)  # the write runs out of space half way through
    assert server.post(big).status_code == 503
    assert files_under(lake) == files_before
    assert list(raw_objects(lake).values()) == [small]

    fits = body_of(3, 600)
    assert server.post(fits).status_code == 200
    assert sorted(raw_objects(lake).values()) == sorted([small, fits])

"""What only the folder backend has: flavours of durability, folders, fault seams.

The Store contract itself (create-only, atomic replace, listings, safe keys,
pickling, round trips) runs against every backend, these three flavours of
the folder's create path included, in tests/lake/test_store_contract.py:
shared flushes with unnamed files ("group", the default on Linux), shared
flushes with dot-named temp files (where O_TMPFILE is missing) and an fsync
per file ("fsync", elsewhere).
"""

from __future__ import annotations

import ctypes
import errno
import os
import pickle
import subprocess
import threading
from pathlib import Path

import pytest

from telelake.errors import StorageError, UsageError
from telelake.lake.groupsync import group_sync_for
from telelake.lake.storage import LocalStore, open_store

MODES = ["group", "group-named-temp", "fsync"]


def make_store(root: Path, mode: str) -> LocalStore:
    return LocalStore(
        root,
        durability="fsync" if mode == "fsync" else "group",
        unnamed_files=mode != "group-named-temp",  # as on a file system without O_TMPFILE
    )


def all_files(root: Path) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _dirs, names in os.walk(root)
        for name in names
    )


class CountingFlush:
    """Stand-in for ``syncfs`` that counts its calls and fails them while ``failing``."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = False
        self.lock = threading.Lock()

    def __call__(self, fd: int) -> int:
        with self.lock:
            self.calls += 1
        if self.failing:
            ctypes.set_errno(errno.EIO)
            return -1
        return 0


def test_delete_removes_emptied_folders_up_to_the_root(tmp_path: Path) -> None:
    root = tmp_path / "layer"
    store = LocalStore(root)
    store.create("t/context_date=2024-01-01/1.json", b"1")
    store.create("t/context_date=2024-01-02/2.json", b"2")
    store.create("t/context_date=2024-01-02/3.json", b"3")

    store.delete("t/context_date=2024-01-01/1.json")
    assert not (root / "t" / "context_date=2024-01-01").exists()
    assert store.list_dirs("t") == ["context_date=2024-01-02"]

    store.delete("t/context_date=2024-01-02/2.json")
    assert store.list("t") == ["t/context_date=2024-01-02/3.json"]
    store.delete("t/context_date=2024-01-02/3.json")
    assert not (root / "t").exists()
    assert root.is_dir(), "the layer root itself must stay"
    store.delete("t/context_date=2024-01-02/3.json")  # already gone: no error


@pytest.mark.parametrize("mode", MODES)
def test_write_failure_is_a_retryable_storage_error(tmp_path: Path, mode: str) -> None:
    (tmp_path / "layer").write_bytes(b"a file, not a folder")
    store = make_store(tmp_path / "layer", mode)
    with pytest.raises(StorageError) as info:
        store.create("t/1.json", b"x")
    assert info.value.retryable
    with pytest.raises(StorageError):
        store.replace("t/1.json", b"x")
    assert (tmp_path / "layer").read_bytes() == b"a file, not a folder"


def test_open_store(tmp_path: Path) -> None:
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    store = open_store(f"file://{tmp_path}")
    assert isinstance(store, LocalStore)
    store.create("x.json", b"1")
    assert (tmp_path / "x.json").read_bytes() == b"1"
    with pytest.raises(UsageError):  # a URL that is no layer: exit 2, never a folder
        open_store("ftp://host/lake")


@pytest.mark.parametrize("mode", MODES)
def test_a_create_after_its_folder_was_removed_recreates_it(tmp_path: Path, mode: str) -> None:
    store = make_store(tmp_path, mode)
    other = LocalStore(tmp_path)  # another process's view of the same layer
    assert store.create("t/d=1/1.json", b"1")
    other.delete("t/d=1/1.json")  # empties and removes t/d=1 behind store's back
    assert not (tmp_path / "t").exists()
    assert store.create("t/d=1/2.json", b"2")
    assert store.read("t/d=1/2.json") == b"2"


def test_pickling_keeps_the_settings_and_leaves_a_custom_flush_behind(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, durability="fsync")
    store.create("a.json", b"1")
    copy = pickle.loads(pickle.dumps(store))
    assert (copy.root, copy.durability, copy.unnamed_files) == (tmp_path, "fsync", True)
    assert copy.create("b.json", b"2") and store.read("b.json") == b"2"

    # A flush function that cannot be pickled (a closure) stays in this process.
    calls: list[int] = []

    def flush(fd: int) -> int:
        calls.append(fd)
        return 0

    flushing = LocalStore(tmp_path / "g", unnamed_files=False, syncfs=flush)
    assert flushing.create("c.json", b"3") and calls
    copy = pickle.loads(pickle.dumps(flushing))
    assert (copy.durability, copy.unnamed_files) == ("group", False)
    before = len(calls)
    assert copy.create("d.json", b"4") and flushing.read("d.json") == b"4"
    assert len(calls) == before, "the copy called the original's flush function"
    if group_sync_for(str(tmp_path)) is not None:
        assert copy.flushes > 0, "the copy does not share flushes with the system's syncfs"


def test_stager_is_the_store_only_where_flushes_are_shared(tmp_path: Path) -> None:
    assert LocalStore(tmp_path / "f", durability="fsync").stager() is None
    flush = CountingFlush()
    grouped = LocalStore(tmp_path / "g", syncfs=flush)
    stager = grouped.stager()
    assert stager is grouped
    # A given flush function shares flushes even where the system has no syncfs.
    assert stager.can_stage()
    staged = stager.stage("t/1.json", b"one")
    assert not grouped.exists("t/1.json"), "a staged object is visible before it is named"
    stager.flush()
    assert stager.publish(staged) is True
    stager.flush()
    assert grouped.read("t/1.json") == b"one"
    assert flush.calls == grouped.flushes == 2
    # Where the system has no syncfs, the store finds out on first use and stops staging.
    plain = LocalStore(tmp_path / "p")
    if group_sync_for(str(tmp_path)) is None:
        assert plain.stager() is plain and not plain.can_stage()
        assert plain.stager() is None
    else:
        assert plain.can_stage() and plain.stager() is plain


@pytest.mark.parametrize("unnamed", [True, False])
def test_unnamed_files_false_stages_in_dot_named_files(tmp_path: Path, unnamed: bool) -> None:
    store = LocalStore(tmp_path, unnamed_files=unnamed, syncfs=CountingFlush())
    staged = store.stage("t/1.json", b"one")
    hidden = [p.name for p in (tmp_path / "t").iterdir()]
    # Unnamed where the file system can (no name at all), else one dot-named file.
    assert all(name.startswith(".tmp-") for name in hidden)
    if not unnamed:
        assert len(hidden) == 1
    assert store.list("") == []
    store.flush()
    assert store.publish(staged)
    store.flush()
    assert all_files(tmp_path) == ["t/1.json"]
    discarded = store.stage("t/2.json", b"two")
    store.discard(discarded)
    assert all_files(tmp_path) == ["t/1.json"]


def test_a_file_system_mounted_inside_the_layer_gets_its_own_fsyncs(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "layer")
    assert store.create("local/1.json", b"1")
    if store.stager() is None:
        pytest.skip("no syncfs on this platform: every create fsyncs its own file")
    mounted = tmp_path / "layer" / "mounted"
    mounted.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mounted)],
        check=False,
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        flushes = store.flushes
        # syncfs of the layer's file system would not cover this one: no shared flush.
        assert store.create("mounted/d/2.json", b"2")
        assert store.flushes == flushes
        assert store.read("mounted/d/2.json") == b"2"
        assert store.create("local/3.json", b"3")
        assert store.flushes > flushes
    finally:
        subprocess.run(["umount", "-l", str(mounted)], check=False)

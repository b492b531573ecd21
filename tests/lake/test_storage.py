"""LocalStore on a real folder: create-only, atomic replace, hidden temp files, safe keys.

The create path comes in three flavours, each run by the behaviour tests:
shared flushes with unnamed files ("group", the default on Linux), shared
flushes with dot-named temp files (where O_TMPFILE is missing) and an fsync
per file ("fsync", elsewhere).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telelake.errors import ConfigError, StorageError
from telelake.lake.storage import LocalStore, open_store

MODES = ["group", "group-named-temp", "fsync"]


def make_store(root: Path, mode: str) -> LocalStore:
    store = LocalStore(root, durability="fsync" if mode == "fsync" else "group")
    if mode == "group-named-temp":
        store._tmpfile = False  # as on a file system without O_TMPFILE
    return store


def all_files(root: Path) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _dirs, names in os.walk(root)
        for name in names
    )


@pytest.mark.parametrize("mode", MODES)
def test_create_is_create_only(tmp_path: Path, mode: str) -> None:
    store = make_store(tmp_path, mode)
    assert store.create("a/b/1.json", b"first") is True
    assert store.create("a/b/1.json", b"second") is False
    assert store.read("a/b/1.json") == b"first"
    assert (tmp_path / "a" / "b" / "1.json").read_bytes() == b"first"
    # No temp file is left behind by either call.
    assert all_files(tmp_path) == ["a/b/1.json"]


@pytest.mark.parametrize("mode", MODES)
def test_concurrent_creates_of_one_key_have_one_winner(tmp_path: Path, mode: str) -> None:
    store = make_store(tmp_path, mode)
    bodies = [f"writer {i}".encode() * 1000 for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda body: store.create("k/x.json", body), bodies))
    assert results.count(True) == 1
    assert store.read("k/x.json") == bodies[results.index(True)]
    assert all_files(tmp_path) == ["k/x.json"]


def test_replace_overwrites_and_creates(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.replace("t/context_date=2024-01-01/part.parquet", b"v1")
    store.replace("t/context_date=2024-01-01/part.parquet", b"v2")
    assert store.read("t/context_date=2024-01-01/part.parquet") == b"v2"
    assert all_files(tmp_path) == ["t/context_date=2024-01-01/part.parquet"]


def test_replace_is_atomic_for_a_concurrent_reader(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    versions = (b"a" * (3 << 20), b"b" * (2 << 20) + b"end")
    store.replace("big.bin", versions[0])
    stop = threading.Event()
    seen: list[int] = []
    bad: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            data = store.read("big.bin")
            (seen if data in versions else bad).append(len(data))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        deadline = time.monotonic() + 1.0
        writes = 0
        while time.monotonic() < deadline or writes < 10:
            store.replace("big.bin", versions[writes % 2])
            writes += 1
    finally:
        stop.set()
        thread.join()
    assert not bad, f"reader saw {len(bad)} partial objects, sizes {bad[:5]}"
    assert len(seen) > 10
    assert all_files(tmp_path) == ["big.bin"]


def test_read_missing_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        LocalStore(tmp_path).read("nope.json")


@pytest.mark.parametrize("mode", MODES)
def test_exists(tmp_path: Path, mode: str) -> None:
    store = make_store(tmp_path, mode)
    assert not store.exists("x/1.json")
    store.create("x/1.json", b"")
    assert store.exists("x/1.json")
    assert store.read("x/1.json") == b""


def test_list_is_recursive_sorted_and_skips_dot_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    for key in ["p/z.json", "p/a.json", "p/d=2/10.json", "p/d=1/2.json", "q/other.json"]:
        store.create(key, key.encode())
    # What a crash mid-write leaves behind, and other hidden things.
    (tmp_path / "p" / ".tmp-0123abcd").write_bytes(b'{"update_id": 1, "mes')
    (tmp_path / "p" / ".hidden").mkdir()
    (tmp_path / "p" / ".hidden" / "3.json").write_bytes(b"{}")
    (tmp_path / "p" / "d=1" / ".tmp-99").write_bytes(b"")

    expected = ["p/a.json", "p/d=1/2.json", "p/d=2/10.json", "p/z.json"]
    assert store.list("p") == expected
    assert store.list("p/") == expected
    assert store.list("") == [*expected, "q/other.json"]
    assert store.list("p/d=1") == ["p/d=1/2.json"]
    assert store.list("missing") == []
    assert store.list_dirs("p") == ["d=1", "d=2"]
    assert store.list_dirs("") == ["p", "q"]
    assert store.list_dirs("missing") == []


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


@pytest.mark.parametrize(
    "key", ["../escape.json", "a/../../escape.json", "a/..", "..", "/etc/passwd", "/abs/x.json"]
)
def test_keys_outside_the_layer_are_refused(tmp_path: Path, key: str) -> None:
    root = tmp_path / "layer"
    root.mkdir()
    store = LocalStore(root)
    with pytest.raises(StorageError):
        store.create(key, b"x")
    with pytest.raises(StorageError):
        store.replace(key, b"x")
    with pytest.raises(StorageError):
        store.read(key)
    with pytest.raises(StorageError):
        store.exists(key)
    with pytest.raises(StorageError):
        store.delete(key)
    assert all_files(tmp_path) == []


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
    with pytest.raises(ConfigError):
        open_store("ftp://host/lake")


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-=", min_size=1, max_size=12)
# Only the last segment has a suffix, so no key is also the folder of another key.
keys = st.builds(
    lambda folders, name: "/".join([*folders, f"{name}.bin"]),
    st.lists(segment, max_size=3),
    segment,
)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects=st.dictionaries(keys, st.binary(max_size=2000), max_size=8))
def test_round_trip(
    tmp_path_factory: pytest.TempPathFactory, mode: str, objects: dict[str, bytes]
) -> None:
    root = tmp_path_factory.mktemp("rt")
    store = make_store(root, mode)
    for key, data in objects.items():
        assert store.create(key, data)
    assert store.list("") == sorted(objects)
    assert {key: store.read(key) for key in objects} == objects
    for key in objects:
        store.delete(key)
    assert list(root.iterdir()) == []


@pytest.mark.parametrize("mode", MODES)
def test_many_threads_each_get_their_own_object(tmp_path: Path, mode: str) -> None:
    store = make_store(tmp_path, mode)
    bodies = {
        f"t/context_date=2024-01-0{i % 3 + 1}/{i}.json": os.urandom(i % 700) for i in range(300)
    }
    with ThreadPoolExecutor(40) as pool:
        created = list(pool.map(lambda item: store.create(*item), bodies.items()))
    assert all(created)
    assert {key: store.read(key) for key in store.list("t")} == bodies
    assert all_files(tmp_path) == sorted(bodies)


@pytest.mark.parametrize("mode", MODES)
def test_a_create_after_its_folder_was_removed_recreates_it(tmp_path: Path, mode: str) -> None:
    store = make_store(tmp_path, mode)
    other = LocalStore(tmp_path)  # another process's view of the same layer
    assert store.create("t/d=1/1.json", b"1")
    other.delete("t/d=1/1.json")  # empties and removes t/d=1 behind store's back
    assert not (tmp_path / "t").exists()
    assert store.create("t/d=1/2.json", b"2")
    assert store.read("t/d=1/2.json") == b"2"


def test_a_store_survives_pickling_for_worker_processes(tmp_path: Path) -> None:

    store = LocalStore(tmp_path, durability="fsync")
    store.create("a.json", b"1")
    copy = pickle.loads(pickle.dumps(store))
    assert (copy.root, copy.durability) == (tmp_path, "fsync")
    assert copy.create("b.json", b"2") and store.read("b.json") == b"2"


def test_a_file_system_mounted_inside_the_layer_gets_its_own_fsyncs(tmp_path: Path) -> None:

    store = LocalStore(tmp_path / "layer")
    assert store.create("local/1.json", b"1")
    if store._sync is None:
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
        flushes = store._sync.flushes
        # syncfs of the layer's file system would not cover this one: no shared flush.
        assert store.create("mounted/d/2.json", b"2")
        assert store._sync.flushes == flushes
        assert store.read("mounted/d/2.json") == b"2"
        assert store.create("local/3.json", b"3")
        assert store._sync.flushes > flushes
    finally:
        subprocess.run(["umount", "-l", str(mounted)], check=False)

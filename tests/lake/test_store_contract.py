"""The Store contract, written once and run against every backend.

Each test gets a ``layer``: a store of one backend, and a view of what is
really stored that goes around the code under test (plain file access for a
folder, a boto3 client straight to the server for S3). Backends:

- ``folder``: shared flushes with unnamed files (the default on Linux);
- ``folder-named-temp``: shared flushes with dot-named temp files, as on a
  file system without ``O_TMPFILE``;
- ``folder-fsync``: an fsync per file (elsewhere);
- ``s3``: S3Store over HTTP against the session's moto server, below a prefix.

What only one backend has (fsync fallbacks, a file system mounted inside the
layer, S3 paging, conditional-write fallbacks, unreachable endpoints) is
tested in tests/lake/test_storage.py and tests/aws/test_s3_store.py.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telelake.errors import StorageError
from telelake.lake.local import LocalStore
from telelake.lake.s3 import S3Store
from telelake.lake.storage import Store

BACKENDS = ["folder", "folder-named-temp", "folder-fsync", "s3"]
S3_PREFIX = "lake/raw"


@dataclass
class Layer:
    """A store and, around it, what is really stored (paths relative to its root)."""

    store: Store
    # Every file or object, also hidden ones; outside the layer as "../<path>".
    contents: Callable[[], dict[str, bytes]]
    # Writes bytes as another tool would, not through the store (".." for outside it).
    put: Callable[[str, bytes], None]
    # Nothing at all left below the layer: no object, and for a folder no folder.
    is_empty: Callable[[], bool]
    # A new empty layer of the same kind (one per Hypothesis example).
    fresh: Callable[[], Layer]
    # Whether concurrent creates of one key have exactly one winner (moto
    # checks and writes under a lock per request only; two may get through).
    one_create_winner: bool
    # Big objects for the torn-read test, and how many whole reads it needs.
    big: tuple[int, int]
    min_reads: int
    examples: int


def folder_layer(base: Path, backend: str) -> Layer:
    root = base / "layer"
    store = LocalStore(
        root,
        durability="fsync" if backend == "folder-fsync" else "group",
        unnamed_files=backend != "folder-named-temp",
    )

    def contents() -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for folder, _dirs, names in os.walk(base):
            for name in names:
                path = os.path.join(folder, name)
                found[os.path.relpath(path, root)] = Path(path).read_bytes()
        return found

    def put(key: str, data: bytes) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def fresh() -> Layer:
        return folder_layer(base.parent / f"{base.name}-{uuid.uuid4().hex[:8]}", backend)

    base.mkdir(parents=True, exist_ok=True)
    return Layer(
        store=store,
        contents=contents,
        put=put,
        is_empty=lambda: not root.exists() or not any(root.iterdir()),
        fresh=fresh,
        one_create_winner=True,
        big=(3 << 20, 2 << 20),
        min_reads=11,
        examples=40,
    )


def s3_layer(s3: Any) -> Layer:
    name = f"telelake-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    store = S3Store(name, S3_PREFIX)

    def contents() -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", ()):
                key = str(item["Key"])
                data = s3.get_object(Bucket=name, Key=key)["Body"].read()
                inside = key.startswith(f"{S3_PREFIX}/")
                found[key[len(S3_PREFIX) + 1 :] if inside else f"../{key}"] = data
        return found

    def put(key: str, data: bytes) -> None:
        full = key[3:] if key.startswith("../") else f"{S3_PREFIX}/{key}"
        s3.put_object(Bucket=name, Key=full, Body=data)

    return Layer(
        store=store,
        contents=contents,
        put=put,
        is_empty=lambda: "Contents" not in s3.list_objects_v2(Bucket=name),
        fresh=lambda: s3_layer(s3),
        one_create_winner=False,
        big=(1 << 20, 700 << 10),
        min_reads=5,
        examples=15,
    )


@pytest.fixture(params=BACKENDS)
def layer(request: pytest.FixtureRequest, tmp_path: Path) -> Layer:
    if request.param == "s3":
        request.getfixturevalue("aws_env")
        return s3_layer(request.getfixturevalue("s3"))
    return folder_layer(tmp_path / "rt", request.param)


def test_create_is_create_only(layer: Layer) -> None:
    store = layer.store
    assert store.create("a/b/1.json", b"first") is True
    assert store.create("a/b/1.json", b"second") is False
    assert store.read("a/b/1.json") == b"first"
    # Exactly one object, under the layer's root; no temporary file is left behind.
    assert layer.contents() == {"a/b/1.json": b"first"}


def test_concurrent_creates_of_one_key_have_one_winner(layer: Layer) -> None:
    store = layer.store
    bodies = [f"writer {i}".encode() * 1000 for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda body: store.create("k/x.json", body), bodies))
    if layer.one_create_winner:
        assert results.count(True) == 1
        assert store.read("k/x.json") == bodies[results.index(True)]
    else:
        # At least one winner, and the stored bytes are exactly one writer's.
        assert results.count(True) >= 1
        assert store.read("k/x.json") in bodies
    assert list(layer.contents()) == ["k/x.json"]


def test_many_threads_each_get_their_own_object(layer: Layer) -> None:
    store = layer.store
    bodies = {
        f"t/context_date=2024-01-0{i % 3 + 1}/{i}.json": os.urandom(i % 700) for i in range(300)
    }
    with ThreadPoolExecutor(40) as pool:
        created = list(pool.map(lambda item: store.create(*item), bodies.items()))
    assert all(created)
    assert {key: store.read(key) for key in store.list("t")} == bodies
    assert layer.contents() == bodies


def test_replace_overwrites_and_creates(layer: Layer) -> None:
    layer.store.replace("t/context_date=2024-01-01/part.parquet", b"v1")
    layer.store.replace("t/context_date=2024-01-01/part.parquet", b"v2")
    assert layer.store.read("t/context_date=2024-01-01/part.parquet") == b"v2"
    assert layer.contents() == {"t/context_date=2024-01-01/part.parquet": b"v2"}


def test_replace_is_atomic_for_a_concurrent_reader(layer: Layer) -> None:
    store = layer.store
    first, second = layer.big
    versions = (b"a" * first, b"b" * second + b"end")
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
        while time.monotonic() < deadline or writes < 12:
            store.replace("big.bin", versions[writes % 2])
            writes += 1
        deadline = time.monotonic() + 5
        while len(seen) < layer.min_reads and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert not bad, f"reader saw {len(bad)} partial objects, sizes {bad[:5]}"
    assert len(seen) >= layer.min_reads
    assert list(layer.contents()) == ["big.bin"]


def test_read_missing_is_file_not_found(layer: Layer) -> None:
    with pytest.raises(FileNotFoundError):
        layer.store.read("nope.json")
    with pytest.raises(FileNotFoundError):
        layer.store.read_many(["nope.json", "other.json"])


def test_exists_and_empty_objects(layer: Layer) -> None:
    store = layer.store
    assert not store.exists("x/1.json")
    assert store.create("x/1.json", b"")
    assert store.exists("x/1.json")
    assert store.read("x/1.json") == b""


def test_read_many_keeps_order(layer: Layer) -> None:
    store = layer.store
    keys = [f"r/{i:03}.json" for i in range(120)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: store.replace(key, key.encode()), keys))
    shuffled = keys[::-1] + keys[:3]
    assert store.read_many(shuffled) == [key.encode() for key in shuffled]
    assert store.read_many([]) == []


def test_list_is_recursive_sorted_and_skips_dot_files(layer: Layer) -> None:
    store = layer.store
    for key in ["p/z.json", "p/a.json", "p/d=2/10.json", "p/d=1/2.json", "q/other.json"]:
        store.create(key, key.encode())
    # What a crash mid-write leaves behind, and other hidden things.
    layer.put("p/.tmp-0123abcd", b'{"update_id": 1, "mes')
    layer.put("p/.hidden/3.json", b"{}")
    layer.put("p/d=1/.tmp-99", b"")
    # A neighbour sharing a name prefix, and an object outside the layer.
    layer.put("pp/not-in-p.json", b"x")
    layer.put("../outside/p/a.json", b"x")

    expected = ["p/a.json", "p/d=1/2.json", "p/d=2/10.json", "p/z.json"]
    assert store.list("p") == expected
    assert store.list("p/") == expected
    assert store.list("") == [*expected, "pp/not-in-p.json", "q/other.json"]
    assert store.list("p/d=1") == ["p/d=1/2.json"]
    assert store.list("missing") == []
    assert store.list_dirs("p") == ["d=1", "d=2"]
    assert store.list_dirs("") == ["p", "pp", "q"]
    assert store.list_dirs("missing") == []


def test_delete_is_idempotent_and_listings_forget_the_key(layer: Layer) -> None:
    store = layer.store
    store.create("t/context_date=2024-01-01/1.json", b"1")
    store.create("t/context_date=2024-01-02/2.json", b"2")
    store.delete("t/context_date=2024-01-01/1.json")
    assert store.list_dirs("t") == ["context_date=2024-01-02"]
    store.delete("t/context_date=2024-01-01/1.json")  # already gone: no error
    assert store.list("t") == ["t/context_date=2024-01-02/2.json"]
    assert layer.contents() == {"t/context_date=2024-01-02/2.json": b"2"}


def test_delete_many_removes_every_key_and_the_folders_it_empties(layer: Layer) -> None:
    store = layer.store
    keys = [f"t/context_date=2024-01-01/{i}.json" for i in range(1, 1206)]  # two S3 batches
    for key in keys[:5]:
        store.create(key, b"x")
    layer.put(keys[5], b"written by another tool")  # S3 keys need not be ours to go
    store.create("t/context_date=2024-01-02/kept.json", b"k")
    # Keys already gone (most of them here) are no error.
    store.delete_many(keys)
    assert store.list("t") == ["t/context_date=2024-01-02/kept.json"]
    assert store.list_dirs("t") == ["context_date=2024-01-02"]
    assert layer.contents() == {"t/context_date=2024-01-02/kept.json": b"k"}
    store.delete_many([])
    assert layer.contents() == {"t/context_date=2024-01-02/kept.json": b"k"}


@pytest.mark.parametrize(
    "key", ["../escape.json", "a/../../escape.json", "a/..", "..", "/etc/passwd", "/abs/x.json"]
)
def test_keys_outside_the_layer_are_refused(layer: Layer, key: str) -> None:
    store = layer.store
    for call in (
        lambda: store.create(key, b"x"),
        lambda: store.replace(key, b"x"),
        lambda: store.read(key),
        lambda: store.read_many([key]),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.delete_many(["ok.json", key]),
    ):
        with pytest.raises(StorageError):
            call()
    assert layer.contents() == {}


def test_a_store_survives_pickling_for_worker_processes(layer: Layer) -> None:
    store = layer.store
    store.create("a.json", b"1")  # clients, flushers and caches exist now
    copy: Store = pickle.loads(pickle.dumps(store))
    assert type(copy) is type(store) and copy.url == store.url
    assert copy.read("a.json") == b"1"
    assert copy.create("b.json", b"2") and store.read("b.json") == b"2"
    assert copy.create("a.json", b"other") is False


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-=", min_size=1, max_size=12)
# Only the last segment has a suffix, so no key is also the folder of another key.
keys = st.builds(
    lambda folders, name: "/".join([*folders, f"{name}.bin"]),
    st.lists(segment, max_size=3),
    segment,
)


def test_round_trip(layer: Layer) -> None:
    @settings(
        max_examples=layer.examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(objects=st.dictionaries(keys, st.binary(max_size=2000), max_size=8))
    def round_trip(objects: dict[str, bytes]) -> None:
        fresh = layer.fresh()
        store = fresh.store
        for key, data in objects.items():
            assert store.create(key, data)
        assert store.list("") == sorted(objects)
        assert dict(zip(sorted(objects), store.read_many(sorted(objects)), strict=True)) == objects
        assert {key: store.read(key) for key in objects} == objects
        assert fresh.contents() == objects
        for key in objects:
            store.delete(key)
        assert store.list("") == []
        assert fresh.is_empty(), "deleting every object left something behind"

    round_trip()

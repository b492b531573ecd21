"""S3Store against a real S3-compatible server: the Store contract LocalStore keeps, on S3.

The same expectations as tests/lake/test_storage.py (create-only, atomic
replace, FileNotFoundError, recursive sorted listings without dot-files,
idempotent delete, keys kept inside the layer), checked here through HTTP
against moto, plus what only S3 has: the conditional PUT and its fallback,
pickling into worker processes, concurrent reads.
"""

from __future__ import annotations

import pickle
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telelake.errors import ConfigError, StorageError
from telelake.lake.s3 import S3Store
from telelake.lake.storage import open_store

pytestmark = pytest.mark.usefixtures("aws_env")


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    """Every object in ``bucket``, read directly (not through the code under test)."""
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def test_open_store_dispatches_s3_urls(bucket: str) -> None:
    store = open_store(f"s3://{bucket}/lake/raw/")
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.url) == (
        bucket,
        "lake/raw",
        f"s3://{bucket}/lake/raw",
    )
    assert S3Store.from_url(f"s3://{bucket}").prefix == ""
    with pytest.raises(ConfigError):
        S3Store.from_url("s3:///no-bucket")


def test_create_is_create_only_and_lands_under_the_prefix(s3: Any, bucket: str) -> None:
    store = S3Store(bucket, "lake/raw")
    assert store.create("a/b/1.json", b"first") is True
    assert store.create("a/b/1.json", b"second") is False
    assert store.read("a/b/1.json") == b"first"
    assert objects(s3, bucket) == {"lake/raw/a/b/1.json": b"first"}
    assert store.conditional_writes, "moto implements If-None-Match: no fallback expected"


def test_concurrent_creates_of_one_key_have_one_winner(s3: Any, bucket: str) -> None:
    store = S3Store(bucket)
    bodies = [f"writer {i}".encode() * 100 for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda body: store.create("k/x.json", body), bodies))
    # moto checks and writes under one lock per request only; where two
    # requests interleave it may let both through. What must hold anyway:
    # at least one winner, and the stored bytes are exactly one writer's.
    assert results.count(True) >= 1
    assert store.read("k/x.json") in bodies
    assert list(objects(s3, bucket)) == ["k/x.json"]


def test_replace_overwrites_and_creates(s3: Any, bucket: str) -> None:
    store = S3Store(bucket, "e")
    store.replace("t/context_date=2024-01-01/part.parquet", b"v1")
    store.replace("t/context_date=2024-01-01/part.parquet", b"v2")
    assert objects(s3, bucket) == {"e/t/context_date=2024-01-01/part.parquet": b"v2"}


def test_replace_is_atomic_for_a_concurrent_reader(bucket: str) -> None:
    store = S3Store(bucket)
    versions = (b"a" * (1 << 20), b"b" * (700 << 10) + b"end")
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
        for writes in range(12):
            store.replace("big.bin", versions[writes % 2])
        deadline = time.monotonic() + 5
        while len(seen) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert not bad, f"reader saw {len(bad)} partial objects, sizes {bad[:5]}"
    assert len(seen) >= 5


def test_read_missing_is_file_not_found(bucket: str) -> None:
    with pytest.raises(FileNotFoundError):
        S3Store(bucket).read("nope.json")
    with pytest.raises(FileNotFoundError):
        S3Store(bucket).read_many(["nope.json", "other.json"])


def test_exists_and_empty_objects(bucket: str) -> None:
    store = S3Store(bucket)
    assert not store.exists("x/1.json")
    assert store.create("x/1.json", b"")
    assert store.exists("x/1.json")
    assert store.read("x/1.json") == b""


def test_list_is_recursive_sorted_and_skips_dot_files(s3: Any, bucket: str) -> None:
    store = S3Store(bucket, "root")
    for key in ["p/z.json", "p/a.json", "p/d=2/10.json", "p/d=1/2.json", "q/other.json"]:
        store.create(key, key.encode())
    # Written by other tools: hidden objects and a neighbour sharing a name prefix.
    for hidden in ["root/p/.tmp-0123abcd", "root/p/.hidden/3.json", "root/p/d=1/.tmp-99"]:
        s3.put_object(Bucket=bucket, Key=hidden, Body=b"x")
    s3.put_object(Bucket=bucket, Key="root/pp/not-in-p.json", Body=b"x")
    s3.put_object(Bucket=bucket, Key="outside/p/a.json", Body=b"x")

    expected = ["p/a.json", "p/d=1/2.json", "p/d=2/10.json", "p/z.json"]
    assert store.list("p") == expected
    assert store.list("p/") == expected
    assert store.list("") == [*expected, "pp/not-in-p.json", "q/other.json"]
    assert store.list("p/d=1") == ["p/d=1/2.json"]
    assert store.list("missing") == []
    assert store.list_dirs("p") == ["d=1", "d=2"]
    assert store.list_dirs("") == ["p", "pp", "q"]
    assert store.list_dirs("missing") == []


def test_list_pages_past_a_thousand_keys(bucket: str) -> None:
    store = S3Store(bucket)
    keys = [f"t/context_date=2024-01-01/{i}.json" for i in range(1100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: store.create(key, b"{}"), keys))
    assert store.list("t") == sorted(keys)
    assert store.list_dirs("t") == ["context_date=2024-01-01"]


def test_read_many_keeps_order(bucket: str) -> None:
    store = S3Store(bucket)
    keys = [f"r/{i:03}.json" for i in range(120)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: store.replace(key, key.encode()), keys))
    shuffled = keys[::-1] + keys[:3]
    assert store.read_many(shuffled) == [key.encode() for key in shuffled]
    assert store.read_many([]) == []


def test_delete_is_idempotent_and_listings_forget_the_key(bucket: str) -> None:
    store = S3Store(bucket, "layer")
    store.create("t/context_date=2024-01-01/1.json", b"1")
    store.create("t/context_date=2024-01-02/2.json", b"2")
    store.delete("t/context_date=2024-01-01/1.json")
    assert store.list_dirs("t") == ["context_date=2024-01-02"]
    store.delete("t/context_date=2024-01-01/1.json")  # already gone: no error
    assert store.list("t") == ["t/context_date=2024-01-02/2.json"]


@pytest.mark.parametrize(
    "key", ["../escape.json", "a/../../escape.json", "a/..", "..", "/etc/passwd", "/abs/x.json"]
)
def test_keys_outside_the_layer_are_refused(s3: Any, bucket: str, key: str) -> None:
    store = S3Store(bucket, "layer")
    for call in (
        lambda: store.create(key, b"x"),
        lambda: store.replace(key, b"x"),
        lambda: store.read(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(StorageError):
            call()
    assert objects(s3, bucket) == {}


def test_missing_bucket_is_a_retryable_storage_error(bucket: str) -> None:
    store = S3Store(bucket + "-never-created")
    with pytest.raises(StorageError) as info:
        store.create("t/1.json", b"x")
    assert info.value.retryable
    assert "NoSuchBucket" in str(info.value)
    with pytest.raises(StorageError):
        store.replace("t/1.json", b"x")
    with pytest.raises(StorageError):
        store.list("t")


def test_unreachable_endpoint_is_a_storage_error(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket_closed_port() as port:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        store = S3Store(bucket, timeout=1, max_attempts=2)
        with pytest.raises(StorageError) as info:
            store.create("t/1.json", b"x")
    assert info.value.retryable
    assert store.url in str(info.value)


class socket_closed_port:
    """A port nothing listens on (bound, never listening, so nobody else takes it)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        port: int = self.sock.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def test_pickles_into_a_worker_with_its_own_client(bucket: str) -> None:
    store = S3Store(bucket, "p")
    store.create("a.json", b"1")  # the client now exists
    copy = pickle.loads(pickle.dumps(store))
    assert copy.url == store.url
    assert copy.read("a.json") == b"1"
    assert copy.client is not store.client


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-=", min_size=1, max_size=12)
keys = st.builds(
    lambda folders, name: "/".join([*folders, f"{name}.bin"]),
    st.lists(segment, max_size=3),
    segment,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.dictionaries(keys, st.binary(max_size=2000), max_size=6))
def test_round_trip(s3: Any, data: dict[str, bytes]) -> None:
    import uuid

    name = f"telelake-rt-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    store = S3Store(name, "x")
    for key, value in data.items():
        assert store.create(key, value)
    assert store.list("") == sorted(data)
    assert dict(zip(sorted(data), store.read_many(sorted(data)), strict=True)) == data
    for key in data:
        store.delete(key)
    assert store.list("") == []

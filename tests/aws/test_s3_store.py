"""What only S3Store has, against a real S3-compatible server (moto over HTTP).

The Store contract LocalStore keeps (create-only, atomic replace,
FileNotFoundError, recursive sorted listings without dot-files, idempotent
delete, keys kept inside the layer, pickling, round trips) runs against S3
too, in tests/lake/test_store_contract.py. Here: URLs, the conditional PUT,
listings past one page, failures of the bucket or the endpoint, a client of
its own per process, and no staging.
"""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

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


def test_create_is_a_conditional_put_below_the_prefix(s3: Any, bucket: str) -> None:
    store = S3Store(bucket, "lake/raw")
    assert store.create("a/b/1.json", b"first") is True
    assert store.create("a/b/1.json", b"second") is False
    assert store.read("a/b/1.json") == b"first"
    assert objects(s3, bucket) == {"lake/raw/a/b/1.json": b"first"}
    assert store.conditional_writes, "moto implements If-None-Match: no fallback expected"


def test_list_pages_past_a_thousand_keys(bucket: str) -> None:
    store = S3Store(bucket)
    keys = [f"t/context_date=2024-01-01/{i}.json" for i in range(1100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: store.create(key, b"{}"), keys))
    assert store.list("t") == sorted(keys)
    assert store.list_dirs("t") == ["context_date=2024-01-01"]


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


def test_no_staging_each_put_is_durable_on_its_own(bucket: str) -> None:
    assert S3Store(bucket).stager() is None

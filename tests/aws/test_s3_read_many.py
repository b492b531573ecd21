"""Reading many objects at once from S3, on a faulty network.

``S3Store.read_many`` is what the ETL, compaction and ``forget`` read raw
updates with. It keeps the store's promises: the exact bytes in the order
asked (a gzip'd segment too, never decompressed), ``FileNotFoundError`` for a
missing key, a retryable :class:`StorageError` when S3 keeps failing; bodies
cut short and connections reset are read again. Faults come from the proxy
of conftest.py; what S3 holds is put there with a client that talks to moto
directly.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from typing import Any

import pytest

from telelake.errors import StorageError
from telelake.lake.s3 import S3Store


@pytest.fixture
def via_proxy(aws_env: dict[str, str], fault_proxy: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    return fault_proxy


def _put(s3: Any, bucket: str, count: int) -> dict[str, bytes]:
    bodies = {
        f"{n}.json": b'{"update_id":%d,"text":"%s"}' % (n, b"x" * (n * 37 % 900))
        for n in range(count)
    }
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=f"raw/{key}", Body=body)
    return bodies


def test_many_objects_come_back_exact_and_in_order(via_proxy: Any, s3: Any, bucket: str) -> None:
    bodies = _put(s3, bucket, 120)
    keys = sorted(bodies, reverse=True)  # not the listing's order
    segment = gzip.compress(b'{"update_id":1}\n{"update_id":2}\n')
    s3.put_object(Bucket=bucket, Key="raw/segment-abc.jsonl.gz", Body=segment)
    got = S3Store(bucket, "raw").read_many([*keys, "segment-abc.jsonl.gz"])
    assert got[:-1] == [bodies[key] for key in keys]
    assert got[-1] == segment  # the stored gzip bytes, not their content


def test_a_missing_key_is_file_not_found(via_proxy: Any, s3: Any, bucket: str) -> None:
    _put(s3, bucket, 3)
    with pytest.raises(FileNotFoundError, match=r"2\.json\.missing"):
        S3Store(bucket, "raw").read_many(["0.json", "1.json", "2.json.missing"])


def test_bodies_cut_short_and_resets_are_read_again(via_proxy: Any, s3: Any, bucket: str) -> None:
    bodies = _put(s3, bucket, 40)
    # The first GET of every fifth object is cut short, of every seventh reset,
    # of every eleventh answered 500; the retries pass.
    faults = {f"{n}.json": "status:500" for n in range(0, 40, 11)}
    faults.update({f"{n}.json": "reset" for n in range(0, 40, 7)})
    faults.update({f"{n}.json": "truncate" for n in range(0, 40, 5)})
    expected = len(faults)
    injected: list[tuple[str, str]] = []

    def rule(method: str, path: str, headers: dict[str, str]) -> str:
        fault = faults.pop(path.rsplit("/", 1)[-1], "pass") if method == "GET" else "pass"
        if fault != "pass":
            injected.append((method, path))
        return fault

    via_proxy.rule = rule
    keys = sorted(bodies)
    assert S3Store(bucket, "raw").read_many(keys) == [bodies[key] for key in keys]
    assert len(injected) == expected and not faults


def test_s3_failing_every_read_is_a_retryable_storage_error(
    via_proxy: Any, s3: Any, bucket: str
) -> None:
    _put(s3, bucket, 4)
    via_proxy.rule = lambda method, path, headers: (
        "status:500" if method in ("GET", "HEAD") else "pass"
    )
    with pytest.raises(StorageError) as info:
        S3Store(bucket, "raw", max_attempts=2).read_many(["0.json", "1.json", "2.json"])
    assert info.value.retryable
    assert "\n" not in str(info.value).strip()
    assert "could not read" in str(info.value)


def test_reading_loads_no_pyarrow(aws_env: dict[str, str], bucket: str, s3: Any) -> None:
    """The ingest Lambda reads objects (a duplicate's bytes) without the ETL's weight."""
    s3.put_object(Bucket=bucket, Key="raw/1.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="raw/2.json", Body=b"[]")
    probe = (
        "import sys\nfrom telelake.lake.s3 import S3Store\n"
        f"store = S3Store({bucket!r}, 'raw')\n"
        "assert store.read('1.json') == b'{}'\n"
        "assert store.read_many(['1.json', '2.json']) == [b'{}', b'[]']\n"
        "print('pyarrow' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"

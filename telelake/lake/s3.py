"""The lake on S3 (or any S3-compatible store): the :class:`~telelake.lake.storage.Store` contract.

A layer URL ``s3://bucket/prefix`` maps every key to ``prefix/key`` in
``bucket``; the layout below it is the same as in a local folder (DESIGN §4).
How each promise of the contract is kept on S3:

- ``create`` (ingest) is a conditional PUT with ``If-None-Match: *``: S3
  stores the object only if the key is free and answers 412 otherwise, so
  two deliveries of one update can never overwrite each other. A store that
  does not implement the condition (501 / ``NotImplemented``) gets a HEAD
  followed by a plain PUT, which is racy between concurrent writers of the
  same key, but Telegram does not deliver one update twice at once.
- ``replace`` (ETL) is one PUT: S3 swaps the whole object at once, so a
  reader's GET returns the old bytes or the new ones, never a mix.
- Durability: a PUT returns only once S3 has stored the object; anything
  short of a 2xx raises :class:`StorageError` (retryable), so the webhook
  answers 503 and Telegram retries (DESIGN §3.1).
- Transient failures (5xx, throttling, connection resets, timeouts) are
  retried by botocore's ``standard`` retry mode with exponential backoff;
  a body that breaks off while being read is retried here.
- ``read_many`` fetches objects on a bounded thread pool, so per-object
  latency (~8 ms on S3) does not add up over a day of updates.

boto3 is imported when a store is first used, so local use never pays for it,
and nothing here imports pyarrow or DuckDB at import time (the ingest Lambda stays
small): pyarrow loads only when a reader asks for :meth:`S3Store.arrow_location`.
"""

from __future__ import annotations

import builtins
import functools
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from telelake.errors import ConfigError, StorageError
from telelake.lake.s3client import (
    MAX_ATTEMPTS,
    READ_CONCURRENCY,
    arrow_filesystem,
    make_client,
)
from telelake.lake.s3client import codes as _codes
from telelake.lake.s3client import reason as _reason

if TYPE_CHECKING:
    from telelake.lake.storage import Stager

T = TypeVar("T")

# Our retries of a response body that broke off while being read (and of the
# keys a batch delete reports it could not delete).
STREAM_ATTEMPTS = 3
# DeleteObjects takes at most 1,000 keys; a few batches go at once.
DELETE_BATCH = 1000
DELETE_CONCURRENCY = 8
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_PRECONDITION_FAILED = frozenset({"412", "PreconditionFailed"})
_UNSUPPORTED = frozenset({"501", "NotImplemented"})
# S3 answers 409 when two conditional writes of one key race; the retry then
# learns the outcome (412 if the other writer won).
_CONFLICT = frozenset({"409", "ConditionalRequestConflict", "OperationAborted"})


class S3Store:
    """A layer below ``s3://bucket/prefix``; safe to share between threads and pickle."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        timeout: float = 10.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        if not bucket:
            raise ConfigError("an s3:// layer needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.timeout = timeout
        self.max_attempts = max_attempts
        self._client = client
        self._arrow: Any = None
        self._lock = threading.Lock()
        # Cleared when the store answers that it cannot do conditional writes.
        self.conditional_writes = True

    @classmethod
    def from_url(cls, url: str) -> S3Store:
        if not url.startswith("s3://"):
            raise ConfigError(f"{url}: not an s3:// URL")
        bucket, _, prefix = url[len("s3://") :].partition("/")
        return cls(bucket, prefix)

    # A process pool (the ETL on several cores) pickles the store: clients
    # and locks are not picklable, so each process builds its own client.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None
        state["_arrow"] = None
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(self.timeout, self.max_attempts)
        return self._client

    def stager(self) -> Stager | None:
        """``None``: each PUT is durable on its own, there is no flush to share."""
        return None

    def arrow_location(self) -> tuple[Any, str]:
        """pyarrow's S3 file system with the credentials, region and endpoint boto3
        resolves, and ``bucket/prefix``; built once per store (pyarrow loads only here)."""
        with self._lock:
            if self._arrow is None:
                self._arrow = arrow_filesystem()
        root = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        return self._arrow, root

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"refusing key outside the lake: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _folder(self, prefix: str) -> str:
        """The S3 prefix that lists what is *inside* the folder ``prefix``."""
        inner = prefix.strip("/")
        if inner:
            self._key(inner)  # the same refusal of ../ as for keys
        full = "/".join(part for part in (self.prefix, inner) if part)
        return f"{full}/" if full else ""

    def _call(self, what: str, key: str, operation: Callable[[], T], attempts: int = 1) -> T:
        """Run ``operation``, ``attempts`` times at most on transport errors.

        ``ClientError`` (S3 answered) goes to the caller, which knows what 404,
        412 or 501 mean; transport errors left after botocore's own retries
        become :class:`StorageError`.
        """
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        for attempt in range(1, attempts + 1):
            try:
                return operation()
            except ClientError:
                raise  # the caller decides what 404 / 412 / 501 mean
            except NoCredentialsError:
                raise ConfigError(
                    f"no AWS credentials to {what} {key} in {self.url}: set AWS_PROFILE "
                    "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
                ) from None
            except BotoCoreError as exc:
                if attempt == attempts:
                    raise StorageError(
                        f"could not {what} {key} in {self.url}: {_reason(exc)}"
                    ) from exc
                time.sleep(random.uniform(0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")

    def _failed(self, what: str, key: str, exc: BaseException) -> StorageError:
        return StorageError(f"could not {what} {key} in {self.url}: {_reason(exc)}")

    def create(self, key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        full = self._key(key)
        if not self.conditional_writes:
            return self._create_unconditionally(key, full, data)
        for attempt in range(1, self.max_attempts + 1):
            try:
                self._call(
                    "store",
                    key,
                    lambda: self.client.put_object(
                        Bucket=self.bucket, Key=full, Body=data, IfNoneMatch="*"
                    ),
                )
                return True
            except ClientError as exc:
                codes = _codes(exc)
                if codes & _PRECONDITION_FAILED:
                    return False
                if codes & _UNSUPPORTED:
                    self.conditional_writes = False
                    return self._create_unconditionally(key, full, data)
                if codes & _CONFLICT and attempt < self.max_attempts:
                    time.sleep(random.uniform(0, 0.05 * 2**attempt))
                    continue
                raise self._failed("store", key, exc) from exc
        raise AssertionError("unreachable")

    def _create_unconditionally(self, key: str, full: str, data: bytes) -> bool:
        # Stores without If-None-Match: check, then write. Not atomic between
        # two writers of one key; see the module docstring.
        if self.exists(key):
            return False
        self._put(key, full, data)
        return True

    def _put(self, key: str, full: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        try:
            self._call(
                "write",
                key,
                lambda: self.client.put_object(Bucket=self.bucket, Key=full, Body=data),
            )
        except ClientError as exc:
            raise self._failed("write", key, exc) from exc

    def replace(self, key: str, data: bytes) -> None:
        self._put(key, self._key(key), data)

    def read(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        full = self._key(key)

        def get() -> bytes:
            response = self.client.get_object(Bucket=self.bucket, Key=full)
            body: bytes = response["Body"].read()
            return body

        try:
            # botocore retries the request, not a body that breaks off after
            # the headers arrived: that is retried here.
            return self._call("read", key, get, attempts=STREAM_ATTEMPTS)
        except ClientError as exc:
            if _codes(exc) & _NOT_FOUND:
                raise FileNotFoundError(f"{self.url}/{key}") from None
            raise self._failed("read", key, exc) from exc

    def read_many(self, keys: builtins.list[str]) -> builtins.list[bytes]:
        if len(keys) < 2:
            return [self.read(key) for key in keys]
        with ThreadPoolExecutor(min(READ_CONCURRENCY, len(keys))) as pool:
            # map keeps the order of ``keys`` and re-raises the first failure.
            return builtins.list(pool.map(self.read, keys))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        full = self._key(key)
        try:
            self._call("check", key, lambda: self.client.head_object(Bucket=self.bucket, Key=full))
        except ClientError as exc:
            if _codes(exc) & _NOT_FOUND:
                return False
            raise self._failed("check", key, exc) from exc
        return True

    def delete(self, key: str) -> None:
        from botocore.exceptions import ClientError

        full = self._key(key)
        try:
            # S3 deletes are idempotent: a missing key is not an error.
            self._call(
                "delete", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=full)
            )
        except ClientError as exc:
            raise self._failed("delete", key, exc) from exc

    def delete_many(self, keys: builtins.list[str]) -> None:
        """DeleteObjects, 1,000 keys a request (S3's limit), a few requests at once.

        S3 answers per key: keys it could not delete are retried a few times,
        then reported by name. A key already gone counts as deleted.
        """
        batches = [keys[i : i + DELETE_BATCH] for i in range(0, len(keys), DELETE_BATCH)]
        if len(batches) < 2:
            for batch in batches:
                self._delete_batch(batch)
            return
        with ThreadPoolExecutor(min(DELETE_CONCURRENCY, len(batches))) as pool:
            builtins.list(pool.map(self._delete_batch, batches))

    def _delete_batch(self, batch: builtins.list[str]) -> None:
        from botocore.exceptions import ClientError

        full = {self._key(key): key for key in batch}
        pending = builtins.list(full)
        errors: builtins.list[dict[str, Any]] = []
        for attempt in range(1, STREAM_ATTEMPTS + 1):
            request = {"Objects": [{"Key": key} for key in pending], "Quiet": True}
            what = f"{len(pending)} objects from {full[pending[0]]}"
            try:
                response = self._call(
                    "delete",
                    what,
                    functools.partial(
                        self.client.delete_objects, Bucket=self.bucket, Delete=request
                    ),
                )
            except ClientError as exc:
                raise self._failed("delete", what, exc) from exc
            errors = builtins.list(response.get("Errors") or ())
            if not errors:
                return
            failed = {str(error.get("Key")) for error in errors}
            pending = [key for key in pending if key in failed]
            if not pending:  # errors for keys we did not send: nothing to retry
                break
            if attempt < STREAM_ATTEMPTS:
                time.sleep(random.uniform(0, 0.1 * 2**attempt))
        first = errors[0]
        name = full.get(str(first.get("Key")), str(first.get("Key")))
        reason = f"{first.get('Code', '')} {first.get('Message', '')}".strip()
        raise StorageError(
            f"could not delete {len(errors)} of {len(batch)} objects in {self.url}, "
            f"e.g. {name}: {reason}"
        )

    def _pages(self, folder: str, **extra: str) -> builtins.list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        def fetch() -> builtins.list[dict[str, Any]]:
            paginator = self.client.get_paginator("list_objects_v2")
            pages = paginator.paginate(Bucket=self.bucket, Prefix=folder, **extra)
            return builtins.list(pages)

        try:
            return self._call("list", folder or "/", fetch, attempts=STREAM_ATTEMPTS)
        except ClientError as exc:
            raise self._failed("list", folder or "/", exc) from exc

    def list(self, prefix: str) -> builtins.list[str]:
        folder = self._folder(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: builtins.list[str] = []
        for page in self._pages(folder):
            for item in page.get("Contents", ()):
                key = str(item["Key"])[strip:]
                # Like a folder's dot-files: temporary or hidden, never data.
                if not any(part.startswith(".") for part in key.split("/")):
                    keys.append(key)
        keys.sort()
        return keys

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        folder = self._folder(prefix)
        names: set[str] = set()
        for page in self._pages(folder, Delimiter="/"):
            for common in page.get("CommonPrefixes", ()):
                name = str(common["Prefix"])[len(folder) :].rstrip("/")
                if name and not name.startswith("."):
                    names.add(name)
        return sorted(names)

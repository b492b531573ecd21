"""Storage backends behind one small interface, addressed by layer URL.

Every write that telelake acknowledges goes through :meth:`Store.create` or
:meth:`Store.replace`, which return only once the bytes are durable (DESIGN
§3.1). For a local folder, ``create`` writes an unnamed file (``O_TMPFILE``),
makes it durable, links it into place (create-only, atomic), and makes the
link durable; the two flushes are shared by every writer waiting at the same
moment (group commit, :mod:`telelake.lake.groupsync`), so concurrent requests
cost one ``syncfs`` each way instead of two fsyncs each. Readers never see a
partial object: a name only ever points at complete, durable bytes, and
where unnamed files are not supported temporary files start with a dot and
are not listed.

The folder backend is in :mod:`telelake.lake.local`, the S3 backend in
:mod:`telelake.lake.s3`; :func:`open_store` picks one from a layer URL.
"""

from __future__ import annotations

import builtins
from typing import Any, Protocol

from telelake.config import check_layer
from telelake.lake.local import LocalStore

__all__ = ["LocalStore", "Stager", "Store", "open_store"]


class Staged(Protocol):
    """An object written where no reader sees it, not yet named (opaque to callers)."""

    key: str


class Stager(Protocol):
    """A store that can split :meth:`Store.create` so one caller batches many objects
    around shared flushes: stage all, flush, publish all, flush.

    Every object still has its bytes durable before any name points at it; the
    caller acknowledges an object only after a flush that followed its publish.
    """

    def can_stage(self) -> bool:
        """Whether staging shares flushes here (found out on first use)."""
        ...

    def stage(self, key: str, data: bytes) -> Staged:
        """Write ``data`` for ``key`` where no reader sees it; nothing is durable yet."""
        ...

    def publish(self, staged: Staged) -> bool:
        """Name a staged object, create-only; ``False`` if the key existed."""
        ...

    def discard(self, staged: Staged) -> None:
        """Drop a staged object that will not be published."""
        ...

    def flush(self) -> None:
        """Make everything staged and published so far durable."""
        ...


class Store(Protocol):
    """A layer of the lake: keys are ``/``-separated paths below its root."""

    url: str

    def create(self, key: str, data: bytes) -> bool:
        """Durably store ``data`` at ``key`` unless the key exists; ``False`` if it did."""
        ...

    def replace(self, key: str, data: bytes) -> None:
        """Durably and atomically store ``data`` at ``key``, replacing any old object."""
        ...

    def read(self, key: str) -> bytes:
        """The object's bytes; ``FileNotFoundError`` when it does not exist."""
        ...

    def read_many(self, keys: builtins.list[str]) -> builtins.list[bytes]:
        """Bytes of many objects, in order; remote stores fetch them concurrently."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; no error when it is already gone."""
        ...

    def delete_many(self, keys: builtins.list[str]) -> None:
        """Remove every key (batched where the store can); keys already gone are no
        error. A key that could not be removed raises :class:`StorageError` naming it."""
        ...

    def list(self, prefix: str) -> builtins.list[str]:
        """Every key below ``prefix`` (recursively), sorted."""
        ...

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        """Names of the immediate sub-folders of ``prefix``, sorted."""
        ...

    def stager(self) -> Stager | None:
        """This store's staging interface, or ``None`` when it cannot batch flushes."""
        ...

    def arrow_location(self) -> tuple[Any, str]:
        """pyarrow's file system for this layer and the layer's root in it, for readers
        that scan many files at once (the query engine, the ETL's bulk reads)."""
        ...


def open_store(url: str) -> Store:
    """The backend for a layer URL: a local path, ``file://`` or ``s3://bucket/prefix``.

    Anything else that looks like a URL is a :class:`UsageError`, never a
    folder named after it (``s3:/bucket`` must not become ``./s3:/bucket``).
    """
    check_layer(url)
    if url.startswith("file://"):
        return LocalStore(url[len("file://") :])
    if url.startswith("s3://"):
        # Imported here so local use never pays for boto3.
        from telelake.lake.s3 import S3Store

        return S3Store.from_url(url)
    return LocalStore(url)

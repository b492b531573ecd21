"""A Store over a dict, for tests of code that must work on any backend.

It has no paths and cannot stage, like a remote store: code that passes with
it relies on nothing but the Store protocol (``telelake/lake/storage.py``).
A plain module: ``from memory_store import MemoryStore`` (tests/ is on
``sys.path``, as the folder of the rootdir's conftest.py).
"""

from __future__ import annotations

import builtins
from typing import Any

from telelake.lake.storage import Stager


class MemoryStore:
    """The Store protocol over a dict."""

    def __init__(self, url: str = "memory://lake") -> None:
        self.url = url
        self.objects: dict[str, bytes] = {}

    def create(self, key: str, data: bytes) -> bool:
        if key in self.objects:
            return False
        self.objects[key] = bytes(data)
        return True

    def replace(self, key: str, data: bytes) -> None:
        self.objects[key] = bytes(data)

    def read(self, key: str) -> bytes:
        if key not in self.objects:
            raise FileNotFoundError(key)
        return self.objects[key]

    def read_many(self, keys: builtins.list[str]) -> builtins.list[bytes]:
        return [self.read(k) for k in keys]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def delete_many(self, keys: builtins.list[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)

    def list(self, prefix: str) -> builtins.list[str]:
        base = prefix.rstrip("/") + "/" if prefix else ""
        return sorted(k for k in self.objects if k.startswith(base))

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        base = prefix.rstrip("/") + "/" if prefix else ""
        return sorted(
            {k[len(base) :].split("/")[0] for k in self.list(prefix) if "/" in k[len(base) :]}
        )

    def stager(self) -> Stager | None:
        return None

    def arrow_location(self) -> tuple[Any, str]:
        raise NotImplementedError("a dict is no file system pyarrow can scan")

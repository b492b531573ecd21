"""Storage backends behind one small interface, addressed by layer URL.

Every write that telelake acknowledges goes through :meth:`Store.create` or
:meth:`Store.replace`, which return only once the bytes are durable: for a
local folder, written to a temporary file, fsynced, linked or renamed into
place, and the directory fsynced (DESIGN §3.1). Readers never see a partial
object: temporary files start with a dot and are not listed.

The S3 backend (same interface) comes with the AWS work; a URL it cannot
serve yet fails with one clear line.
"""

from __future__ import annotations

import builtins
import errno
import os
import uuid
from pathlib import Path
from typing import Protocol

from telelake.errors import ConfigError, StorageError

_TMP_PREFIX = ".tmp-"


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

    def list(self, prefix: str) -> builtins.list[str]:
        """Every key below ``prefix`` (recursively), sorted."""
        ...

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        """Names of the immediate sub-folders of ``prefix``, sorted."""
        ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _checked(key: str) -> str:
    if key.startswith("/") or ".." in key.split("/"):
        raise StorageError(f"refusing key outside the lake: {key!r}")
    return key


class LocalStore:
    """A layer in a local folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def path(self, key: str) -> Path:
        return self.root / _checked(key)

    def _ensure_dir(self, directory: Path) -> None:
        """Create ``directory`` and make each newly created level durable."""
        missing: list[Path] = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            if current.parent == current:
                break
            current = current.parent
        for level in reversed(missing):
            try:
                level.mkdir()
            except FileExistsError:
                if not level.is_dir():
                    raise
                continue
            _fsync_dir(level.parent)

    def _write_temp(self, target: Path, data: bytes) -> Path:
        self._ensure_dir(target.parent)
        temp = target.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return temp

    def create(self, key: str, data: bytes) -> bool:
        target = self.path(key)
        try:
            temp = self._write_temp(target, data)
            try:
                # link() is create-only and atomic: a concurrent writer of the
                # same key cannot be overwritten, and the reader sees all or nothing.
                os.link(temp, target)
                created = True
            except FileExistsError:
                created = False
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                # Filesystems without hard links: fall back to an exists check.
                created = not target.exists()
                if created:
                    os.replace(temp, target)
            finally:
                temp.unlink(missing_ok=True)
            if created:
                _fsync_dir(target.parent)
            return created
        except OSError as exc:
            raise StorageError(
                f"could not store {key} in {self.url}: {exc.strerror or exc}"
            ) from exc

    def replace(self, key: str, data: bytes) -> None:
        target = self.path(key)
        try:
            temp = self._write_temp(target, data)
            try:
                os.replace(temp, target)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StorageError(
                f"could not write {key} in {self.url}: {exc.strerror or exc}"
            ) from exc

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageError(
                f"could not read {key} in {self.url}: {exc.strerror or exc}"
            ) from exc

    def read_many(self, keys: builtins.list[str]) -> builtins.list[bytes]:
        # Sequential on purpose: a local read is ~10 µs, less than handing it
        # to a thread pool costs (measured in bench/etl.py).
        root = str(self.root) + os.sep
        out: builtins.list[bytes] = []
        for key in keys:
            try:
                with open(root + _checked(key), "rb") as handle:
                    out.append(handle.read())
            except FileNotFoundError:
                raise
            except OSError as exc:
                raise StorageError(f"could not read {key} in {self.url}: {exc.strerror}") from exc
        return out

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        target = self.path(key)
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(
                f"could not delete {key} in {self.url}: {exc.strerror or exc}"
            ) from exc
        # Drop folders the delete left empty, so an emptied partition vanishes.
        parent = target.parent
        while parent != self.root and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list(self, prefix: str) -> builtins.list[str]:
        base = self.path(prefix.rstrip("/")) if prefix else self.root
        keys: builtins.list[str] = []
        root_len = len(str(self.root)) + 1
        stack = [str(base)]
        while stack:
            directory = stack.pop()
            try:
                entries = os.scandir(directory)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageError(f"could not list {directory}: {exc.strerror or exc}") from exc
            with entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        keys.append(entry.path[root_len:].replace(os.sep, "/"))
        keys.sort()
        return keys

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        base = self.path(prefix.rstrip("/")) if prefix else self.root
        try:
            with os.scandir(base) as entries:
                return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(f"could not list {base}: {exc.strerror or exc}") from exc


def open_store(url: str) -> Store:
    """The backend for a layer URL: a local path, or ``s3://`` (not yet supported)."""
    if "://" in url:
        scheme = url.split("://", 1)[0]
        if scheme == "file":
            return LocalStore(url.split("://", 1)[1])
        raise ConfigError(f"{url}: {scheme}:// layers are not supported yet; use a local folder")
    return LocalStore(url)

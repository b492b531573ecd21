"""A lake layer in a local folder: the :class:`~telelake.lake.storage.Store` contract on disk.

``create`` writes an unnamed file (``O_TMPFILE``), makes it durable, links it
into place (create-only, atomic) and makes the link durable; both flushes are
shared by every writer waiting at the same moment (group commit,
:mod:`telelake.lake.groupsync`). The webhook's batcher uses the staging API
(``stage``/``flush``/``publish``) to do the same for a whole round of updates
from one thread. Where unnamed files are not supported, temporary files start
with a dot and are never listed, so a reader never sees a partial object.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import threading
import uuid
import weakref
from pathlib import Path
from typing import Literal

from telelake.errors import StorageError
from telelake.lake.groupsync import GroupSync, group_sync_for

_TMP_PREFIX = ".tmp-"
_READ_CHUNK = 64 * 1024
# Errors meaning "this file system cannot do that", as opposed to a failure.
_UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL})
_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP})
# Linking an O_TMPFILE file into place goes through its /proc entry.
_PROC_FD = "/proc/self/fd"
_HAS_TMPFILE = hasattr(os, "O_TMPFILE") and os.path.isdir(_PROC_FD)

Durability = Literal["group", "fsync"]


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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Staged:
    """An object whose bytes are written to a file no reader can see, not yet named.

    Made by :meth:`LocalStore.stage`; :meth:`LocalStore.publish` names it once a
    :meth:`LocalStore.flush` has made its bytes durable.
    """

    __slots__ = ("created", "fd", "key", "target", "temp")

    def __init__(self, key: str, target: Path, fd: int, temp: Path | None) -> None:
        self.key = key
        self.target = target
        # -1 once named or discarded, or when the object was stored at once
        # (``created`` then says how), e.g. on a file system mounted inside the layer.
        self.fd = fd
        self.temp = temp
        self.created: bool | None = None


class LocalStore:
    """A layer in a local folder. ``durability="group"`` (the default) shares flushes
    between concurrent :meth:`create` calls where there is ``syncfs``; ``"fsync"``
    fsyncs each file and folder (also the fallback elsewhere)."""

    def __init__(self, root: str | Path, *, durability: Durability = "group") -> None:
        self.root = Path(root)
        self.url = str(self.root)
        self.durability = durability
        self._sync: GroupSync | None = None
        self._sync_lock = threading.Lock()
        self._tmpfile = _HAS_TMPFILE
        # Folders known to exist (saves a stat per write; re-checked if one vanishes),
        # each with whether it is on the root's file system, which syncfs flushes.
        self._known_dirs: dict[Path, bool] = {}
        self._root_device = -1

    def __getstate__(self) -> dict[str, object]:
        # Sent to ETL worker processes: the flusher (an open fd, a lock) stays here.
        return {"root": self.root, "durability": self.durability}

    def __setstate__(self, state: dict[str, object]) -> None:
        durability: Durability = "fsync" if state["durability"] == "fsync" else "group"
        self.__init__(Path(str(state["root"])), durability=durability)  # type: ignore[misc]

    def path(self, key: str) -> Path:
        return self.root / _checked(key)

    def _group(self) -> GroupSync | None:
        if self.durability != "group":
            return None
        if self._sync is None:
            with self._sync_lock:
                if self._sync is None:
                    self._ensure_dir(self.root, durable=True)
                    sync = group_sync_for(str(self.root))
                    if sync is None:
                        self.durability = "fsync"
                        return None
                    self._root_device = os.stat(self.root).st_dev
                    weakref.finalize(self, sync.close)
                    self._sync = sync
        return self._sync

    def _ensure_dir(self, directory: Path, durable: bool) -> bool:
        """Create ``directory``; with ``durable``, fsync each newly created level.

        Without ``durable`` the caller's next group flush covers the new levels.
        Says whether ``directory`` is on the layer root's file system.
        """
        known = self._known_dirs.get(directory)
        if known is not None:
            return known
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
            if durable:
                _fsync_dir(level.parent)
        same = os.stat(directory).st_dev == self._root_device
        self._known_dirs[directory] = same
        return same

    def _write_temp(self, target: Path, data: bytes) -> Path:
        self._ensure_dir(target.parent, durable=True)
        temp = target.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            fd = os.open(temp, flags, 0o644)
        except FileNotFoundError:
            # The folder was removed since we saw it (an emptied partition).
            self._known_dirs.pop(target.parent, None)
            self._ensure_dir(target.parent, durable=True)
            fd = os.open(temp, flags, 0o644)
        try:
            _write_all(fd, data)
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
            sync = self._group()
            if sync is not None:
                return self._create_grouped(target, data, sync)
            return self._create_fsynced(target, data)
        except OSError as exc:
            raise StorageError(
                f"could not store {key} in {self.url}: {exc.strerror or exc}"
            ) from exc

    def _open_unnamed(self, directory: Path) -> tuple[int, Path | None]:
        """A new file in ``directory`` no reader can see: unnamed, else dot-named."""
        try:
            return self._open_unnamed_in(directory)
        except FileNotFoundError:
            # The folder was removed since we saw it (an emptied partition, a
            # cleared marker folder, possibly by another process): make it again.
            self._known_dirs.pop(directory, None)
            self._ensure_dir(directory, durable=False)
            return self._open_unnamed_in(directory)

    def _open_unnamed_in(self, directory: Path) -> tuple[int, Path | None]:
        if self._tmpfile:
            try:
                return os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644), None
            except OSError as exc:
                if exc.errno not in _UNSUPPORTED:
                    raise
                self._tmpfile = False
        temp = directory / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644), temp

    def _create_grouped(self, target: Path, data: bytes, sync: GroupSync) -> bool:
        if not self._ensure_dir(target.parent, durable=False):
            # Another file system mounted inside the layer: syncfs of ours misses it.
            return self._create_fsynced(target, data)
        fd, temp = self._open_unnamed(target.parent)
        try:
            _write_all(fd, data)
            # The bytes are durable before any name points at them, so even a
            # power cut never leaves a visible object that is short or empty.
            sync.wait()
            if temp is None:
                source = f"{_PROC_FD}/{fd}"
                # linkat(AT_SYMLINK_FOLLOW) links the open file, not the /proc symlink;
                # os.link uses linkat only when given a dir fd (ignored: paths are absolute).
                try:
                    os.link(source, target, src_dir_fd=fd, follow_symlinks=True)
                    created = True
                except FileExistsError:
                    created = False
                except OSError as exc:
                    if exc.errno not in _NO_LINKS:
                        raise
                    self._tmpfile = False
                    return self._create_fsynced(target, data)
            else:
                created = self._link_or_move(temp, target)
        finally:
            os.close(fd)
            if temp is not None:
                temp.unlink(missing_ok=True)
        # Also for an existing object: an earlier attempt may have linked it and
        # failed before its flush, and this answer is the acknowledgement.
        sync.wait()
        return created

    # Staging: the same create, split so one caller can batch many objects
    # around shared flushes (stage all, flush, publish all, flush), with no
    # thread waiting per object. Used by telelake.ingest.batcher.

    def can_stage(self) -> bool:
        """Whether :meth:`stage`/:meth:`publish`/:meth:`flush` share flushes here
        (:class:`StorageError` while the layer cannot even be created)."""
        try:
            return self._group() is not None
        except OSError as exc:
            raise StorageError(f"could not open {self.url}: {exc.strerror or exc}") from exc

    def stage(self, key: str, data: bytes) -> Staged:
        """Write ``data`` for ``key`` where no reader sees it; nothing is durable yet.

        Call :meth:`flush`, then :meth:`publish`; or :meth:`discard`.
        """
        target = self.path(key)
        try:
            if not self._ensure_dir(target.parent, durable=False):
                # Another file system mounted inside the layer: syncfs of ours misses it.
                staged = Staged(key, target, -1, None)
                staged.created = self._create_fsynced(target, data)
                return staged
            fd, temp = self._open_unnamed(target.parent)
            try:
                _write_all(fd, data)
            except BaseException:
                os.close(fd)
                if temp is not None:
                    temp.unlink(missing_ok=True)
                raise
            return Staged(key, target, fd, temp)
        except OSError as exc:
            raise StorageError(
                f"could not store {key} in {self.url}: {exc.strerror or exc}"
            ) from exc

    def publish(self, staged: Staged) -> bool:
        """Name a staged object, create-only; ``False`` if ``key`` existed.

        Its bytes must be durable (a :meth:`flush` since :meth:`stage`) unless
        there are none; the name is durable after the next :meth:`flush`.
        """
        if staged.fd < 0:
            if staged.created is None:
                raise StorageError(f"{staged.key} was already published or discarded")
            return staged.created
        fd, staged.fd = staged.fd, -1
        try:
            if staged.temp is not None:
                return self._link_or_move(staged.temp, staged.target)
            try:
                return self._link_unnamed(fd, staged.target)
            except FileNotFoundError:
                # The folder was removed since staging (an emptied partition): again.
                self._known_dirs.pop(staged.target.parent, None)
                self._ensure_dir(staged.target.parent, durable=False)
                return self._link_unnamed(fd, staged.target)
        except OSError as exc:
            if staged.temp is None and exc.errno in _NO_LINKS:
                self._tmpfile = False  # this object fails (retried); later ones use temp names
            raise StorageError(
                f"could not store {staged.key} in {self.url}: {exc.strerror or exc}"
            ) from exc
        finally:
            os.close(fd)
            if staged.temp is not None:
                staged.temp.unlink(missing_ok=True)

    @staticmethod
    def _link_unnamed(fd: int, target: Path) -> bool:
        try:
            os.link(f"{_PROC_FD}/{fd}", target, src_dir_fd=fd, follow_symlinks=True)
            return True
        except FileExistsError:
            return False

    def discard(self, staged: Staged) -> None:
        """Drop a staged object that will not be published (nothing stays behind)."""
        fd, staged.fd = staged.fd, -1
        if fd >= 0:
            # Best effort: an unnamed file vanishes with its descriptor anyway.
            with contextlib.suppress(OSError):
                os.close(fd)
                if staged.temp is not None:
                    staged.temp.unlink(missing_ok=True)

    def flush(self) -> None:
        """Make everything staged and published so far durable (one ``syncfs``)."""
        sync = self._group()
        if sync is None:
            raise StorageError(f"{self.url}: no shared flush here; use create()")
        try:
            sync.flush_now()
        except OSError as exc:
            raise StorageError(f"could not flush {self.url}: {exc.strerror or exc}") from exc

    def _create_fsynced(self, target: Path, data: bytes) -> bool:
        temp = self._write_temp(target, data)
        try:
            created = self._link_or_move(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return created

    @staticmethod
    def _link_or_move(temp: Path, target: Path) -> bool:
        """Put ``temp`` at ``target`` unless it exists; ``False`` if it did."""
        try:
            # link() is create-only and atomic: a concurrent writer of the
            # same key cannot be overwritten, and the reader sees all or nothing.
            os.link(temp, target)
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
        # Filesystems without hard links: fall back to an exists check.
        if target.exists():
            return False
        os.replace(temp, target)
        return True

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
        # Sequential on purpose: a local read is a few µs, less than handing it
        # to a thread pool costs. Plain os.read, not open(): no io object and no
        # fstat halves the cost of a read (measured in bench/etl.py); 64 KiB
        # covers almost every update in one call (a larger buffer is slower).
        root = str(self.root) + os.sep
        out: builtins.list[bytes] = []
        flags = os.O_RDONLY | os.O_CLOEXEC
        for key in keys:
            try:
                fd = os.open(root + _checked(key), flags)
                try:
                    data = os.read(fd, _READ_CHUNK)
                    if len(data) == _READ_CHUNK:
                        parts = [data]
                        while chunk := os.read(fd, _READ_CHUNK):
                            parts.append(chunk)
                        data = b"".join(parts)
                finally:
                    os.close(fd)
            except FileNotFoundError:
                raise
            except OSError as exc:
                raise StorageError(f"could not read {key} in {self.url}: {exc.strerror}") from exc
            out.append(data)
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
            self._known_dirs.pop(parent, None)
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

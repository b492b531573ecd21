"""A lake layer in a local folder: the :class:`~telelake.lake.storage.Store` contract on disk.

``create`` writes an unnamed file (``O_TMPFILE``), makes it durable, links it
into place (create-only, atomic) and makes the link durable; both flushes are
shared by every writer waiting at the same moment (group commit,
:mod:`telelake.lake.groupsync`). The webhook's batcher uses the staging API
(:meth:`LocalStore.stager`: ``stage``/``flush``/``publish``) to do the same for
a whole round of updates from one thread. Where unnamed files are not
supported, temporary files start with a dot and are never listed, so a reader
never sees a partial object. The system calls behind each step, and their
fallbacks, are in :mod:`telelake.lake.localfs`.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from telelake.errors import StorageError
from telelake.lake.groupsync import GroupSync, Syncfs, group_sync_for
from telelake.lake.localfs import (
    NO_LINKS,
    LayerFiles,
    checked,
    fsync_dir,
    link_or_move,
    link_unnamed,
    list_keys,
    list_subdirs,
    read_file,
    remove_emptied,
    unlink_all,
    write_all,
)

if TYPE_CHECKING:
    from telelake.lake.storage import Staged as StagedObject
    from telelake.lake.storage import Stager

Durability = Literal["group", "fsync"]
# Threads :meth:`LocalStore.delete_many` unlinks on (for 256 keys or more).
DELETE_THREADS = 16


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
    """A layer in a local folder.

    ``durability="group"`` (the default) shares flushes between concurrent
    :meth:`create` calls where there is ``syncfs``; ``"fsync"`` fsyncs each file
    and folder (also the fallback elsewhere).

    Two switches stand in for file systems and failures a test cannot make
    on demand: ``unnamed_files=False`` behaves like a file system without
    ``O_TMPFILE`` (dot-named temporary files), and ``syncfs`` replaces the flush
    the group commit calls (same signature as the C function: 0, or -1 with
    ``errno`` set). A store given ``syncfs`` shares flushes even where the
    system has none. :attr:`flushes` counts the shared flushes run so far.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        durability: Durability = "group",
        unnamed_files: bool = True,
        syncfs: Syncfs | None = None,
    ) -> None:
        self.root = Path(root)
        self.url = str(self.root)
        self.durability = durability
        self.unnamed_files = unnamed_files
        self._syncfs = syncfs
        self._sync: GroupSync | None = None
        self._sync_lock = threading.Lock()
        self._files = LayerFiles(self.root, unnamed=unnamed_files)

    # Sent to ETL worker processes. The flusher (an open fd, a lock, a thread)
    # stays in this process, and so does a custom ``syncfs``: it is often a
    # closure or a ctypes function, which do not pickle. The copy flushes with
    # the system's ``syncfs`` (or fsyncs each file where there is none), so it
    # is never less durable than the original, and injected faults stay here.
    def __getstate__(self) -> dict[str, object]:
        return {
            "root": self.root,
            "durability": self.durability,
            "unnamed_files": self.unnamed_files,
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        durability: Durability = "fsync" if state["durability"] == "fsync" else "group"
        LocalStore.__init__(
            self,
            Path(str(state["root"])),
            durability=durability,
            unnamed_files=bool(state.get("unnamed_files", True)),
        )

    def path(self, key: str) -> Path:
        return self.root / checked(key)

    @property
    def flushes(self) -> int:
        """Shared flushes run so far (0 while none ran, and for ``durability="fsync"``)."""
        sync = self._sync
        return 0 if sync is None else sync.flushes

    def stager(self) -> Stager | None:
        """This store, when it may share flushes (``durability="group"``), else ``None``.

        Whether it really can is found out on first use: ask :meth:`can_stage`.
        """
        return self if self.durability == "group" else None

    def arrow_location(self) -> tuple[Any, str]:
        from pyarrow import fs

        return fs.LocalFileSystem(), str(self.root.expanduser().resolve())

    def _group(self) -> GroupSync | None:
        if self.durability != "group":
            return None
        if self._sync is None:
            with self._sync_lock:
                if self._sync is None:
                    self._files.ensure_dir(self.root, durable=True)
                    sync = group_sync_for(str(self.root), self._syncfs)
                    if sync is None:
                        self.durability = "fsync"
                        return None
                    self._files.note_root_device()
                    weakref.finalize(self, sync.close)
                    self._sync = sync
        return self._sync

    def create(self, key: str, data: bytes) -> bool:
        target = self.path(key)
        try:
            sync = self._group()
            if sync is not None:
                return self._create_grouped(target, data, sync)
            return self._files.create_fsynced(target, data)
        except OSError as exc:
            raise StorageError(
                f"could not store {key} in {self.url}: {exc.strerror or exc}"
            ) from exc

    def _create_grouped(self, target: Path, data: bytes, sync: GroupSync) -> bool:
        files = self._files
        if not files.ensure_dir(target.parent, durable=False):
            # Another file system mounted inside the layer: syncfs of ours misses it.
            return files.create_fsynced(target, data)
        fd, temp = files.open_hidden(target.parent)
        try:
            write_all(fd, data)
            # The bytes are durable before any name points at them, so even a
            # power cut never leaves a visible object that is short or empty.
            sync.wait()
            if temp is None:
                try:
                    created = self._link_unnamed(fd, target)
                except OSError as exc:
                    if exc.errno not in NO_LINKS:
                        raise
                    files.unnamed = False
                    return files.create_fsynced(target, data)
            else:
                created = link_or_move(temp, target)
        finally:
            os.close(fd)
            if temp is not None:
                temp.unlink(missing_ok=True)
        # Also for an existing object: an earlier attempt may have linked it and
        # failed before its flush, and this answer is the acknowledgement.
        sync.wait()
        return created

    def _link_unnamed(self, fd: int, target: Path) -> bool:
        try:
            return link_unnamed(fd, target)
        except FileNotFoundError:
            # The folder was removed since the file was opened in it (a delete
            # emptied the partition or marker folder, maybe in another process):
            # make it again; the flush that follows covers the new entry.
            self._files.forget(target.parent)
            self._files.ensure_dir(target.parent, durable=False)
            return link_unnamed(fd, target)

    # Staging (the Stager protocol of telelake.lake.storage): the same create,
    # split so one caller can batch many objects around shared flushes (stage
    # all, flush, publish all, flush), with no thread waiting per object. Used
    # by telelake.ingest.batcher.

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
        files = self._files
        try:
            self._group()  # finds out on first use whether flushes are shared here
            if not files.ensure_dir(target.parent, durable=False):
                # Another file system mounted inside the layer: syncfs of ours misses it.
                staged = Staged(key, target, -1, None)
                staged.created = files.create_fsynced(target, data)
                return staged
            fd, temp = files.open_hidden(target.parent)
            try:
                write_all(fd, data)
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

    def publish(self, staged: StagedObject) -> bool:
        """Name a staged object, create-only; ``False`` if ``key`` existed.

        Its bytes must be durable (a :meth:`flush` since :meth:`stage`) unless
        there are none; the name is durable after the next :meth:`flush`.
        """
        mine = _own(staged)
        if mine.fd < 0:
            if mine.created is None:
                raise StorageError(f"{mine.key} was already published or discarded")
            return mine.created
        fd, mine.fd = mine.fd, -1
        try:
            if mine.temp is not None:
                return link_or_move(mine.temp, mine.target)
            return self._link_unnamed(fd, mine.target)
        except OSError as exc:
            if mine.temp is None and exc.errno in NO_LINKS:
                # This object fails (and is retried); later ones use temp names.
                self._files.unnamed = False
            raise StorageError(
                f"could not store {mine.key} in {self.url}: {exc.strerror or exc}"
            ) from exc
        finally:
            os.close(fd)
            if mine.temp is not None:
                mine.temp.unlink(missing_ok=True)

    def discard(self, staged: StagedObject) -> None:
        """Drop a staged object that will not be published (nothing stays behind)."""
        mine = _own(staged)
        fd, mine.fd = mine.fd, -1
        if fd >= 0:
            # Best effort: an unnamed file vanishes with its descriptor anyway.
            with contextlib.suppress(OSError):
                os.close(fd)
                if mine.temp is not None:
                    mine.temp.unlink(missing_ok=True)

    def flush(self) -> None:
        """Make everything staged and published so far durable (one ``syncfs``)."""
        sync = self._group()
        if sync is None:
            raise StorageError(f"{self.url}: no shared flush here; use create()")
        try:
            sync.flush_now()
        except OSError as exc:
            raise StorageError(f"could not flush {self.url}: {exc.strerror or exc}") from exc

    def replace(self, key: str, data: bytes) -> None:
        target = self.path(key)
        try:
            temp = self._files.write_temp(target, data)
            try:
                os.replace(temp, target)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            fsync_dir(target.parent)
        except OSError as exc:
            raise StorageError(
                f"could not write {key} in {self.url}: {exc.strerror or exc}"
            ) from exc

    def read(self, key: str) -> bytes:
        try:
            return read_file(str(self.path(key)), os.path.realpath(self.root))
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageError(
                f"could not read {key} in {self.url}: {exc.strerror or exc}"
            ) from exc

    def read_many(self, keys: builtins.list[str]) -> builtins.list[bytes]:
        # Sequential on purpose: a local read is a few µs, less than handing it
        # to a thread pool costs (and read_file is cheaper than open().read()).
        root = str(self.root) + os.sep
        real_root = os.path.realpath(self.root)
        out: builtins.list[bytes] = []
        for key in keys:
            try:
                data = read_file(root + checked(key), real_root)
            except FileNotFoundError:
                raise
            except OSError as exc:
                raise StorageError(f"could not read {key} in {self.url}: {exc.strerror}") from exc
            out.append(data)
        return out

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        self.delete_many([key])

    def delete_many(self, keys: builtins.list[str]) -> None:
        # A folder has no batch delete: one unlink per key, on a few threads when
        # there are many. Most of an unlink's cost is freeing the file's inode and
        # blocks, which the kernel does outside the folder's lock, so threads
        # overlap it (measured here: 50k durable files in ~0.9 s on 16 threads,
        # 3-5 s on one). Then each folder the deletes emptied is removed once,
        # so an emptied partition vanishes.
        root = str(self.root) + os.sep
        paths = [root + checked(key) for key in keys]  # strings, not Paths: 10^5 keys
        try:
            if len(paths) < DELETE_THREADS * 16:
                unlink_all(paths)
            else:
                chunks = [paths[i::DELETE_THREADS] for i in range(DELETE_THREADS)]
                with ThreadPoolExecutor(DELETE_THREADS, thread_name_prefix="delete") as pool:
                    builtins.list(pool.map(unlink_all, chunks))
        except OSError as exc:
            key = str(exc.filename or "")[len(root) :]
            raise StorageError(
                f"could not delete {key} in {self.url}: {exc.strerror or exc}"
            ) from exc
        folders = {os.path.dirname(path) for path in paths}
        for folder in remove_emptied(self.root, folders):
            self._files.forget(folder)

    def list(self, prefix: str) -> builtins.list[str]:
        base = self.path(prefix.rstrip("/")) if prefix else self.root
        try:
            return list_keys(self.root, base)
        except OSError as exc:
            raise StorageError(f"could not list {exc.filename}: {exc.strerror or exc}") from exc

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        base = self.path(prefix.rstrip("/")) if prefix else self.root
        try:
            return list_subdirs(base)
        except OSError as exc:
            raise StorageError(f"could not list {base}: {exc.strerror or exc}") from exc


def _own(staged: StagedObject) -> Staged:
    """``staged`` as this module's :class:`Staged` (what :meth:`LocalStore.stage` made)."""
    if not isinstance(staged, Staged):
        raise TypeError(f"{staged.key} was not staged by a LocalStore")
    return staged

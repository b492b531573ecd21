"""Group commit for a local layer: one ``syncfs(2)`` makes many writers durable at once.

A flush costs about the same whether it covers one small file or ten, so
writers that need durability at the same moment share one flush: each writer
finishes its own writes, then calls :meth:`GroupSync.wait`, which returns once
a flush that *started after the call* has completed. Everyone who arrives
while a flush runs joins the batch the next flush covers. A failed flush
fails every writer in its batch, so none of them acknowledges.

The flush is ``syncfs`` on the layer's file system: it writes back every dirty
page and inode of that file system, then commits its journal and flushes the
device cache, so it covers file data and directory entries alike. It also
flushes whatever else is dirty on that file system, so it is fastest when the
raw layer has a file system of its own. Where it does not exist (not Linux),
:func:`group_sync_for` returns ``None`` and the store falls back to an fsync
per file. A caller may hand in a flush function of its own instead (a test's
flush that fails on demand); it is called like ``syncfs``: with the fd, 0 on
success, -1 with ``errno`` set (``ctypes.set_errno``) on failure.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import sys
import threading
from collections.abc import Callable

# syncfs(fd) -> 0, or -1 with errno set (the C function, called through ctypes).
Syncfs = Callable[[int], int]


def _load_syncfs() -> Syncfs | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    syncfs: Syncfs = function
    return syncfs


_SYNCFS = _load_syncfs()


# A flusher with nothing to do for this long ends its thread (a new one starts on demand).
IDLE_EXIT_SECONDS = 2.0


class _Batch:
    """The writers one flush covers, and how that flush ended."""

    __slots__ = ("errno", "waiters")

    def __init__(self) -> None:
        self.waiters: list[threading.Lock] = []
        self.errno = 0


class GroupSync:
    """Shared ``syncfs`` of the file system holding ``directory``.

    A flusher thread runs one flush after another while writers wait and
    sleeps otherwise. Each writer blocks on a lock of its own that the
    flusher releases: waking a writer costs one hand-over, with no shared
    lock for the woken writers to queue on (that convoy, with a condition
    variable, cost more CPU than the flushes).
    """

    def __init__(self, directory: str, syncfs: Syncfs) -> None:
        self._syncfs = syncfs
        # Any open file on the file system names it for syncfs; the layer root is.
        self._fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._lock = threading.Lock()
        self._next = _Batch()
        self._idle = True
        self._thread: threading.Thread | None = None
        # Held while the flusher has nothing to do; released to wake it.
        self._wake = threading.Lock()
        self._wake.acquire()
        self.flushes = 0

    def wait(self) -> None:
        """Return once everything written before this call is durable; ``OSError`` if not."""
        mine = threading.Lock()
        mine.acquire()
        with self._lock:
            batch = self._next
            batch.waiters.append(mine)
            if self._idle:
                self._idle = False
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="telelake-groupsync", daemon=True
                    )
                    self._thread.start()
                self._wake.release()
        mine.acquire()  # released by the flusher once this batch's flush ended
        if batch.errno:
            raise OSError(batch.errno, f"syncfs failed: {os.strerror(batch.errno)}")

    def _run(self) -> None:
        while True:
            if not self._wake.acquire(timeout=IDLE_EXIT_SECONDS):
                with self._lock:
                    if self._idle:
                        self._thread = None
                        return
                continue
            while True:
                with self._lock:
                    batch = self._next
                    if not batch.waiters:
                        self._idle = True
                        break
                    # The flush starts after every write of this batch; later
                    # writers join the next one.
                    self._next = _Batch()
                code = errno.EIO
                try:
                    code = self._flush()
                finally:
                    batch.errno = code
                    for waiter in batch.waiters:
                        waiter.release()

    def flush_now(self) -> None:
        """One flush in the calling thread, for a caller that batches on its own
        (:mod:`telelake.ingest.batcher`); ``OSError`` if it fails."""
        code = self._flush()
        if code:
            raise OSError(code, f"syncfs failed: {os.strerror(code)}")

    def _flush(self) -> int:
        self.flushes += 1
        if self._syncfs(self._fd) == 0:
            return 0
        return ctypes.get_errno() or errno.EIO

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def group_sync_for(directory: str, syncfs: Syncfs | None = None) -> GroupSync | None:
    """A group flusher for the file system of ``directory`` calling ``syncfs``
    (default: the system's), or ``None`` where there is none."""
    function = syncfs if syncfs is not None else _SYNCFS
    if function is None:
        return None
    return GroupSync(directory, function)

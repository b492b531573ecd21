"""The file-system mechanics under :class:`~telelake.lake.local.LocalStore`.

:mod:`telelake.lake.local` says what each call of the store promises (create-only,
atomic, durable before it returns); this module holds the system calls that
keep those promises, and what to do where a file system lacks one of them:

- a file no reader can see: unnamed (``O_TMPFILE``) where the file system has
  it, else a dot-named temporary file, which listings skip;
- putting it into place create-only: ``link`` of the unnamed file through its
  ``/proc/self/fd`` entry, or of the temporary name (on file systems without
  hard links, an exists check and a rename);
- durability the slow way, one ``fsync`` per file and per folder, for stores
  without a shared flush and for file systems mounted inside the layer, which
  the layer's shared flush does not cover;
- reading a small file with the fewest system calls;
- which folders exist already (a ``stat`` saved per write) and whether each is
  on the layer root's file system.

It is its own module so that the store's module stays a readable statement of
the contract, and so these primitives are tested through it, not re-derived.
"""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path

from telelake.errors import StorageError

TMP_PREFIX = ".tmp-"
READ_CHUNK = 64 * 1024
# Errors meaning "this file system cannot do that", as opposed to a failure.
UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL})
NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP})
# Linking an O_TMPFILE file into place goes through its /proc entry.
PROC_FD = "/proc/self/fd"
HAS_TMPFILE = hasattr(os, "O_TMPFILE") and os.path.isdir(PROC_FD)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def checked(key: str) -> str:
    """``key`` itself, unless it points outside the layer (:class:`StorageError`)."""
    if key.startswith("/") or ".." in key.split("/"):
        raise StorageError(f"refusing key outside the lake: {key!r}")
    return key


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_file(path: str) -> bytes:
    """The bytes of the file at ``path``.

    Plain os.read, not open(): no io object and no fstat halves the cost of a
    read (measured in bench/etl.py); 64 KiB covers almost every update in one
    call (a larger buffer is slower).
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, READ_CHUNK)
        if len(data) == READ_CHUNK:
            parts = [data]
            while chunk := os.read(fd, READ_CHUNK):
                parts.append(chunk)
            data = b"".join(parts)
    finally:
        os.close(fd)
    return data


def link_unnamed(fd: int, target: Path) -> bool:
    """Name the unnamed file open as ``fd`` at ``target``, create-only; ``False`` if taken."""
    try:
        # linkat(AT_SYMLINK_FOLLOW) links the open file, not the /proc symlink;
        # os.link uses linkat only when given a dir fd (ignored: paths are absolute).
        os.link(f"{PROC_FD}/{fd}", target, src_dir_fd=fd, follow_symlinks=True)
        return True
    except FileExistsError:
        return False


def link_or_move(temp: Path, target: Path) -> bool:
    """Put ``temp`` at ``target`` unless it exists; ``False`` if it did."""
    try:
        # link() is create-only and atomic: a concurrent writer of the
        # same key cannot be overwritten, and the reader sees all or nothing.
        os.link(temp, target)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in NO_LINKS:
            raise
    # Filesystems without hard links: fall back to an exists check.
    if target.exists():
        return False
    os.replace(temp, target)
    return True


class LayerFiles:
    """The folders and not-yet-named files of one layer rooted at ``root``.

    ``unnamed`` is cleared for good once the file system turns out not to
    create unnamed files or not to link them into place; later files get
    dot-named temporary names instead.
    """

    def __init__(self, root: Path, *, unnamed: bool) -> None:
        self.root = root
        self.unnamed = unnamed and HAS_TMPFILE
        # Folders known to exist (saves a stat per write; re-checked if one vanishes),
        # each with whether it is on the root's file system, which syncfs flushes.
        self._known: dict[Path, bool] = {}
        self._root_device = -1

    def note_root_device(self) -> None:
        """Remember the root's file system (the one a shared flush covers); root must exist."""
        self._root_device = os.stat(self.root).st_dev
        self._known.clear()  # answers given before this were "not the root's"

    def forget(self, directory: Path) -> None:
        """``directory`` may be gone (removed by this or another process)."""
        self._known.pop(directory, None)

    def ensure_dir(self, directory: Path, durable: bool) -> bool:
        """Create ``directory``; with ``durable``, fsync each newly created level.

        Without ``durable`` the caller's next group flush covers the new levels
        on the root's file system; levels made elsewhere are fsynced all the same.
        Says whether ``directory`` is on the layer root's file system.
        """
        known = self._known.get(directory)
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
            if durable or not self._on_root_device(level.parent):
                fsync_dir(level.parent)
        same = self._on_root_device(directory)
        self._known[directory] = same
        return same

    def _on_root_device(self, path: Path) -> bool:
        return self._root_device >= 0 and os.stat(path).st_dev == self._root_device

    def open_hidden(self, directory: Path) -> tuple[int, Path | None]:
        """A new file in ``directory`` no reader can see: unnamed (``None``), else dot-named."""
        try:
            return self._open_hidden_in(directory)
        except FileNotFoundError:
            # The folder was removed since we saw it (an emptied partition, a
            # cleared marker folder, possibly by another process): make it again.
            self.forget(directory)
            self.ensure_dir(directory, durable=False)
            return self._open_hidden_in(directory)

    def _open_hidden_in(self, directory: Path) -> tuple[int, Path | None]:
        if self.unnamed:
            try:
                return os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644), None
            except OSError as exc:
                if exc.errno not in UNSUPPORTED:
                    raise
                self.unnamed = False
        temp = directory / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        return os.open(temp, _NEW_FILE, 0o644), temp

    def write_temp(self, target: Path, data: bytes) -> Path:
        """``data`` in a new dot-named file beside ``target``, fsynced (its folder too)."""
        self.ensure_dir(target.parent, durable=True)
        temp = target.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            fd = os.open(temp, _NEW_FILE, 0o644)
        except FileNotFoundError:
            # The folder was removed since we saw it (an emptied partition).
            self.forget(target.parent)
            self.ensure_dir(target.parent, durable=True)
            fd = os.open(temp, _NEW_FILE, 0o644)
        try:
            write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return temp

    def create_fsynced(self, target: Path, data: bytes) -> bool:
        """Create-only, durable on return, by an fsync of the file and of its folder."""
        temp = self.write_temp(target, data)
        try:
            created = link_or_move(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        fsync_dir(target.parent)
        return created

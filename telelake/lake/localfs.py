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
- reading a small file with the fewest system calls; listing a layer
  (dot-named files skipped); unlinking many files and the folders they empty;
- what a listing leaves out, because no reader could use it: a link that
  dangles or leads out of the layer, anything but a regular file, a name
  that is not UTF-8 (one log line with the count; the rest is listed);
- which folders exist already (a ``stat`` saved per write) and whether each is
  on the layer root's file system.

It is its own module so that the store's module stays a readable statement of
the contract, and so these primitives are tested through it, not re-derived.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import uuid
from pathlib import Path

from telelake.errors import StorageError

TMP_PREFIX = ".tmp-"
READ_CHUNK = 64 * 1024
# A folder another process empties and removes while we create in it: try again.
RACE_RETRIES = 5
# Errors meaning "this file system cannot do that", as opposed to a failure.
UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL})
NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP})
# Linking an O_TMPFILE file into place goes through its /proc entry.
PROC_FD = "/proc/self/fd"
HAS_TMPFILE = hasattr(os, "O_TMPFILE") and os.path.isdir(PROC_FD)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
# How many left-out entries a listing's log line names (it always counts them all).
NAMED_SKIPS = 5

log = logging.getLogger("telelake.lake")
# Entries already reported by this process: a run lists a folder several times.
_reported: set[str] = set()


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


def read_file(path: str, real_root: str) -> bytes:
    """The bytes of the file at ``path``, a file of the layer whose resolved root is
    ``real_root``: a link is followed only to a file inside it (``OSError`` ELOOP
    otherwise), so no read ever leaves the layer.

    Plain os.read, not open(): no io object and no fstat halves the cost of a
    read (measured in bench/etl.py); 64 KiB covers almost every update in one
    call (a larger buffer is slower).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        target = os.path.realpath(path)
        if not inside(real_root, target):
            raise OSError(errno.ELOOP, "a link out of the layer", path) from None
        fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
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
        for attempt in range(RACE_RETRIES):
            try:
                self._make_levels(directory, durable)
                break
            except FileNotFoundError:
                # Another process removed a level it had emptied (remove_emptied)
                # between our mkdirs: look again from the top.
                if attempt == RACE_RETRIES - 1:
                    raise
        same = self._on_root_device(directory)
        self._known[directory] = same
        return same

    def _make_levels(self, directory: Path, durable: bool) -> None:
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
        for attempt in range(RACE_RETRIES):
            try:
                fd = os.open(temp, _NEW_FILE, 0o644)
                break
            except FileNotFoundError:
                # The folder was removed since we saw it (an emptied partition).
                if attempt == RACE_RETRIES - 1:
                    raise
                self.forget(target.parent)
                self.ensure_dir(target.parent, durable=True)
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


def inside(real_root: str, path: str) -> bool:
    """Whether the resolved ``path`` is ``real_root`` or below it."""
    return path == real_root or path.startswith(real_root.rstrip(os.sep) + os.sep)


def _unusable(entry: os.DirEntry[str], real_root: str) -> str | None:
    """Why a listed entry that is not a folder cannot be an object (``None``: it can)."""
    if entry.is_symlink():
        target = os.path.realpath(entry.path)
        if not inside(real_root, target):
            return "a link out of the layer"
        if not os.path.isfile(target):
            return "a dangling link" if not os.path.lexists(target) else "a link to no file"
        return None
    if not entry.is_file(follow_symlinks=False):
        return "not a regular file"
    return None


def _utf8(name: str) -> bool:
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept as surrogates by os.fsdecode
        return False
    return True


def _report(skipped: list[tuple[str, str]], base: Path) -> None:
    new = [(path, why) for path, why in skipped if path not in _reported]
    if not new:
        return
    _reported.update(path for path, _ in new)
    named = ", ".join(f"{path!r} ({why})" for path, why in new[:NAMED_SKIPS])
    more = f" and {len(new) - NAMED_SKIPS} more" if len(new) > NAMED_SKIPS else ""
    log.warning(
        "left out %d entr%s below %s that no reader can use: %s%s",
        len(new), "y" if len(new) == 1 else "ies", base, named, more,
    )  # fmt: skip


def list_keys(root: Path, base: Path) -> list[str]:
    """Every file below ``base`` as a ``/``-separated key relative to ``root``, sorted.

    Dot-named entries (temporary files) are skipped; links to folders are not
    followed. Entries no reader can use are left out, with one log line
    counting them: links that dangle or lead out of the layer (a link to a
    file inside it is listed), anything but a regular file (a FIFO would block
    its reader), names that are not UTF-8 (a key is text), and ``base`` itself
    when it resolves outside the layer. ``OSError`` (with the folder as
    ``filename``) if one cannot be read.
    """
    keys: list[str] = []
    skipped: list[tuple[str, str]] = []
    root_len = len(str(root)) + 1
    real_root = os.path.realpath(root)
    if base != root and not inside(real_root, os.path.realpath(base)):
        if os.path.lexists(base):
            _report([(str(base), "a link out of the layer")], base)
        return keys
    stack = [str(base)]
    while stack:
        directory = stack.pop()
        try:
            entries = os.scandir(directory)
        except FileNotFoundError:
            continue
        except OSError as exc:
            exc.filename = directory
            raise
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if not _utf8(entry.name):
                    skipped.append((os.fsencode(entry.path).decode("utf-8", "backslashreplace"),
                                    "its name is not UTF-8"))  # fmt: skip
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif (why := _unusable(entry, real_root)) is not None:
                    skipped.append((entry.path, why))
                else:
                    keys.append(entry.path[root_len:].replace(os.sep, "/"))
    if skipped:
        _report(skipped, base)
    keys.sort()
    return keys


def list_subdirs(base: Path) -> list[str]:
    """Names of the folders directly in ``base`` (none when it does not exist), sorted."""
    try:
        with os.scandir(base) as entries:
            return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    except FileNotFoundError:
        return []


def unlink_all(paths: list[str]) -> None:
    """Remove each file; a missing one is not an error (``OSError`` names the first failure)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def remove_emptied(root: Path, folders: set[str]) -> list[Path]:
    """Remove each of ``folders`` and its parents below ``root`` while they are empty;
    the folders removed (deepest first)."""
    removed: list[Path] = []
    for parent in sorted((Path(f) for f in folders), key=lambda p: len(p.parts), reverse=True):
        while parent != root and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                break
            removed.append(parent)
            parent = parent.parent
    return removed

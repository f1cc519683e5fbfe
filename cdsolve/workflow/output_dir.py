"""Atomic, locked output locations: a result directory appears whole or not at all.

:func:`staged_directory` is how ``cdsolve run`` writes its output directory: the files go into a new
hidden sibling ``.<name>.staging-<pid>-<random>`` and only when every one of them is written is that
directory renamed into place (one ``rename(2)``; with ``overwrite=True`` an existing directory is swapped
out with ``renameat2(RENAME_EXCHANGE)`` where the kernel offers it, then deleted). An exception,
``KeyboardInterrupt`` or ``SystemExit`` (the command line turns SIGTERM into one) removes the staging
directory and leaves the target as it was. A lock file ``.<name>.lock`` next to the target, held with
``fcntl.flock`` for the whole run, makes a second run on the same target fail at once (the kernel
releases the lock when its holder dies, even by SIGKILL, so a stale lock file never blocks).
A run killed by SIGKILL leaves its staging directory behind; the next run that takes the lock on the
same target deletes it (nobody else can be writing it).

:func:`atomic_write_file` / :func:`staged_file` do the same for one file (``cdsolve sweep``'s
``.nc``/``.npz`` and plot): write to a temporary name in the same directory, ``fsync``, ``os.replace``.

Every refusal is an :class:`OutputError` naming the path and the problem, raised before anything is
written.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "OutputError",
    "atomic_write_file",
    "check_output_directory",
    "check_output_file",
    "lock_path",
    "staged_directory",
    "staged_file",
]


class OutputError(Exception):
    """A bad output location (the message names the path and the problem)."""


# ----------------------------------------------------------------------------- checks (nothing written)
def _as_path(target, what: str) -> Path:
    if isinstance(target, bytes) or not isinstance(target, (str, os.PathLike)):
        raise OutputError(f"{what}: expected a path (str or os.PathLike), got {type(target).__name__} {target!r}")
    text = os.fspath(target)
    if text == "":
        raise OutputError(f"{what}: empty path '' (give a name)")
    if "\x00" in text:
        raise OutputError(f"{what} {text!r}: contains a NUL character")
    path = Path(os.path.abspath(text))
    if path.is_symlink():  # write where the link points (the user's directory), not over the link
        path = Path(os.path.realpath(path))
    if path.name in ("", ".", ".."):
        raise OutputError(f"{what} {text!r}: is the file system root, not a {what} name")
    return path


def _check_parent(path: Path, shown: str, what: str) -> None:
    """Refuse when an existing ancestor of ``path`` is not a directory or the nearest one is not writable."""
    for anc in path.parents:
        if anc.exists() or anc.is_symlink():
            if not anc.is_dir():
                raise OutputError(f"{what} {shown!r}: {str(anc)!r} is a file, not a directory")
            if not os.access(anc, os.W_OK | os.X_OK):
                raise OutputError(f"{what} {shown!r}: directory {str(anc)!r} is not writable")
            return


def _check_overwrite_safety(path: Path, shown: str) -> None:
    here = Path(os.getcwd()).resolve()
    if path == here or path in here.parents:
        raise OutputError(f"output directory {shown!r}: is the current directory or contains it; refusing to "
                          "replace it (give a subdirectory)")
    home = Path(os.path.expanduser("~")).resolve()
    if path == home or path in home.parents:
        raise OutputError(f"output directory {shown!r}: is the home directory or contains it; refusing to "
                          "replace it (give a subdirectory)")


def check_output_directory(target, *, overwrite: bool = False) -> Path:
    """Refuse a bad output directory before any work is done (nothing is written); returns its absolute path.

    The same refusals as :func:`staged_directory` (which checks again under its lock): empty path, an existing
    file, a path under a file, an unwritable parent, a non-empty directory without ``overwrite=True``.
    """
    shown = os.fspath(target) if isinstance(target, (str, os.PathLike)) else target
    path = _as_path(target, "output directory")
    if not isinstance(overwrite, bool):
        raise OutputError(f"overwrite: expected True or False, got {overwrite!r}")
    _check_parent(path, shown, "output directory")
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"output directory {shown!r}: exists and is not a directory")
        if overwrite:
            _check_overwrite_safety(path, shown)
        else:
            try:
                entries = sorted(os.listdir(path))
            except OSError as e:
                raise OutputError(f"output directory {shown!r}: cannot be read ({e.strerror})") from None
            if entries:
                more = f", ... ({len(entries)} entries)" if len(entries) > 3 else ""
                raise OutputError(f"output directory {shown!r}: exists and is not empty ({', '.join(entries[:3])}"
                                  f"{more}); pass --overwrite (overwrite=True) to replace it whole, or choose "
                                  "another directory")
    return path


def check_output_file(path) -> Path:
    """Refuse a bad output file before any work is done (nothing is written); returns its absolute path.

    Refused: empty path, an existing directory, a path under a file, an unwritable directory.
    """
    shown = os.fspath(path) if isinstance(path, (str, os.PathLike)) else path
    p = _as_path(path, "output file")
    if p.is_dir():
        raise OutputError(f"output file {shown!r}: is a directory")
    _check_parent(p, shown, "output file")
    return p


# ----------------------------------------------------------------------------- the lock
def lock_path(target) -> Path:
    """The lock file of an output directory: ``.<name>.lock`` next to it."""
    path = _as_path(target, "output directory")
    return path.parent / f".{path.name}.lock"


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


@contextlib.contextmanager
def _locked(lock: Path, shown: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock`` (created if needed, pid written into it, removed at the end)."""
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise OutputError(f"output directory {shown!r}: cannot create the lock file {str(lock)!r} "
                              f"({e.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            pid = _holder(fd)
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(f"output directory {shown!r}: another cdsolve run (pid {pid}) is writing it "
                                  f"(lock {str(lock)!r} is held)") from None
            raise OutputError(f"output directory {shown!r}: cannot lock {str(lock)!r} ({e.strerror})") from None
        # the holder before us may have removed the file between our open and our flock: then we hold a lock
        # on a deleted inode that nobody else will see; start again on the file that is there now
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)  # still holding the flock: nobody can have replaced it
        os.close(fd)


# ----------------------------------------------------------------------------- directory swap
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2``); False where that is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _fsync_path(path, flags: int) -> None:
    """fsync one file or directory (best effort: a file system without fsync is not an error)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_dir(path: Path) -> None:
    _fsync_path(path, os.O_DIRECTORY)


def _fsync_tree(root: Path) -> None:
    """fsync every regular file and directory under ``root`` (so the rename publishes durable contents)."""
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            _fsync_path(os.path.join(dirpath, name), os.O_NOFOLLOW)
        _fsync_dir(Path(dirpath))


def _make_parents(parent: Path, shown: str) -> list[Path]:
    """Create missing ancestors of the target; returns those created (innermost last)."""
    missing = []
    p = parent
    while not p.exists():
        missing.append(p)
        p = p.parent
    created = []
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            _remove_empty(created)
            raise OutputError(f"output directory {shown!r}: cannot create {str(d)!r} ({e.strerror})") from None
        created.append(d)
    return created


def _remove_empty(dirs: list[Path]) -> None:
    for d in reversed(dirs):
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def staged_directory(target, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a new empty temporary sibling directory of ``target``; on normal exit put it in place of ``target``.

    Parameters
    ----------
    target : str or os.PathLike   the output directory (need not exist; missing parents are created)
    overwrite : bool              replace an existing non-empty ``target`` whole (never merged)

    On normal exit the staging directory is renamed to ``target`` (``os.rename``; an existing directory is
    swapped out atomically and deleted when ``overwrite=True``). On any exception, ``KeyboardInterrupt``
    or ``SystemExit`` it is removed and ``target`` is left exactly as it was (parents created here are
    removed again). Refused with :class:`OutputError` before anything is written: an empty path, an
    existing file, a path under a file, an unwritable parent, a non-empty existing directory without
    ``overwrite=True``, replacing the current or home directory. While it runs, the lock file
    ``.<name>.lock`` next to ``target`` is held: a concurrent run on the same target gets
    :class:`OutputError` naming the lock and the pid holding it.
    """
    shown = os.fspath(target) if isinstance(target, (str, os.PathLike)) else target
    path = check_output_directory(target, overwrite=overwrite)
    created = _make_parents(path.parent, shown)
    try:
        with _locked(path.parent / f".{path.name}.lock", shown):
            check_output_directory(path, overwrite=overwrite)  # again, now that no other run can change it
            prefix = f".{path.name}.staging-"
            for old in path.parent.glob(f"{_glob_escape(prefix)}*"):  # left by a run killed with SIGKILL
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old, ignore_errors=True)
            staging = path.parent / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
            try:
                staging.mkdir(mode=0o755)
            except OSError as e:
                raise OutputError(f"output directory {shown!r}: cannot create {str(staging)!r} "
                                  f"({e.strerror})") from None
            try:
                yield staging
                _fsync_tree(staging)
                with _signals_deferred():  # a SIGINT/SIGTERM now acts after the swap, never between its steps
                    _publish(staging, path, overwrite)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except BaseException:
        _remove_empty(created)
        raise


def _glob_escape(text: str) -> str:
    import glob

    return glob.escape(text)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    except (AttributeError, ValueError, OSError):
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _publish(staging: Path, path: Path, overwrite: bool) -> None:
    """Put ``staging`` in place of ``path`` (which holds the old output when overwriting)."""
    if path.exists() and overwrite and os.listdir(path):
        if _exchange(staging, path):  # path is now the new output, staging the old one
            _fsync_dir(path.parent)
            shutil.rmtree(staging, ignore_errors=True)
            return
        old = path.parent / f".{path.name}.staging-old-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(path, old)  # without renameat2: the target is missing between these two renames
        try:
            os.rename(staging, path)
        except BaseException:
            os.rename(old, path)
            raise
        _fsync_dir(path.parent)
        shutil.rmtree(old, ignore_errors=True)
        return
    os.rename(staging, path)  # onto a missing or empty directory: one atomic step
    _fsync_dir(path.parent)


# ----------------------------------------------------------------------------- single files
@contextlib.contextmanager
def staged_file(path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix); on normal exit ``os.replace`` it onto ``path``.

    Write the file there (any writer that takes a path: NetCDF, NPZ, PNG); it is fsynced and renamed over
    ``path`` in one step, so readers see the old file or the whole new one. On any exception the temporary
    file is removed and ``path`` is untouched. Refusals as :func:`check_output_file` (:class:`OutputError`);
    missing parent directories are created.
    """
    shown = os.fspath(path) if isinstance(path, (str, os.PathLike)) else path
    p = check_output_file(path)
    created = _make_parents(p.parent, shown)
    suffix = "".join(p.suffixes[-1:])
    tmp = p.parent / f".{p.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}"
    try:
        try:
            yield tmp
            if not tmp.is_file():
                raise OutputError(f"output file {shown!r}: the writer did not create {str(tmp)!r}")
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, p)
            _fsync_dir(p.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except BaseException:
        _remove_empty(created)
        raise


def atomic_write_file(path, data: bytes) -> Path:
    """Write ``data`` (bytes) to ``path`` atomically: temporary file in the same directory, fsync, ``os.replace``.

    Returns the absolute path. Refusals as :func:`check_output_file` (:class:`OutputError`).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data: expected bytes, got {type(data).__name__}")
    with staged_file(path) as tmp:
        with open(tmp, "xb") as fh:
            fh.write(data)
    return check_output_file(path)

"""One training process per run folder: an advisory lock on ``<run>/.rfn.lock``.

:class:`RunLock` takes an exclusive :func:`fcntl.flock` on the lock file and writes
its process id, host and start time into it. The operating system drops the lock
when the process ends, however it ends (``kill -9`` included), so a lock can never
outlive its process; a lock file that still names a process which is gone is
*stale*: the next run takes it over and says so. A second ``rfn train --resume``
on a folder in use fails at once with :class:`RunLockedError`, naming the process
that holds it.

The lock file is opened without following links (``O_NOFOLLOW``) and checked before
anything is written to it: a symbolic link, a hard link to another file, something that
is not a regular file, or a file of another user there is refused with
:class:`LockFileError`, so the lock never writes a file outside the run folder.

Where ``fcntl`` is missing (Windows) the lock is a no-op. On network file systems
that ignore ``flock`` it protects processes of one machine only.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with RunLock(d):
    ...     try:
    ...         RunLock(d).acquire()
    ...     except RunLockedError as err:
    ...         print("in use" in str(err))
    True
    >>> RunLock(d).acquire().release()  # free again
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "LockFileError", "RunLock", "RunLockedError"]

LOCK_NAME = ".rfn.lock"


class RunLockedError(ValueError):
    """Another live process holds the run folder's lock."""


class LockFileError(ValueError):
    """The run folder's lock file is a link, not a regular file, or not the user's: it is not written to."""


class RunLock:
    """Exclusive advisory lock of one run folder (a context manager; :meth:`acquire` / :meth:`release`).

    Args:
        folder: the run folder (must exist).
        verbose: print a note when a stale lock of a dead process is taken over.
    """

    def __init__(self, folder: str | os.PathLike, verbose: bool = True):
        self.path = Path(folder) / LOCK_NAME
        self.verbose = verbose
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    @staticmethod
    def _holder(fd: int) -> dict:
        try:
            who = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        except (OSError, ValueError):
            return {}
        return who if isinstance(who, dict) else {}

    def _open(self) -> int:
        """Open the lock file without following a link; refuse anything but the user's own regular file."""
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fix = f"remove it (rm {self.path}) and run again, or choose another --out"
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as err:
            if self.path.is_symlink():  # ELOOP from O_NOFOLLOW
                msg = f"the run lock {self.path} is a symbolic link, which rfn does not follow; {fix}"
                raise LockFileError(msg) from None
            if self.path.exists():  # a folder, or a file that cannot be opened for writing
                raise LockFileError(f"the run lock {self.path} cannot be opened ({err.strerror}); {fix}") from None
            raise
        st = os.fstat(fd)
        problem = None
        if not stat.S_ISREG(st.st_mode):
            problem = "is not a regular file"
        elif st.st_nlink != 1:
            problem = f"is a hard link ({st.st_nlink} names for one file)"
        elif hasattr(os, "getuid") and st.st_uid != os.getuid():
            problem = f"belongs to another user (uid {st.st_uid})"
        if problem is not None:
            os.close(fd)
            raise LockFileError(f"the run lock {self.path} {problem}; rfn writes only its own plain lock file; {fix}")
        return fd

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`RunLockedError` naming the process that holds it."""
        if self._fd is not None or fcntl is None:
            return self
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            who = self._holder(fd)
            os.close(fd)
            pid, host = who.get("pid", "?"), who.get("host", "?")
            since = who.get("since", "?")
            raise RunLockedError(
                f"run folder {self.path.parent} is in use by process {pid} on {host} (since {since}); wait for it "
                f"to finish or stop it (kill -INT {pid} saves a checkpoint), or choose another --out"
            ) from None
        old = self._holder(fd)  # a holder that released the lock cleared it: a record left means it died
        if old.get("pid") not in (None, os.getpid()) and self.verbose:
            print(
                f"rfn: stale lock in {self.path.parent}: process {old.get('pid')} on {old.get('host', '?')} (since "
                f"{old.get('since', '?')}) ended without releasing it (killed?); taking it over",
                file=sys.stderr,
            )
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock back (clears the holder's record); safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        finally:
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()

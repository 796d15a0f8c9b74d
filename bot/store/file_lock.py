"""One process per SQLite run store: an exclusive lock on a file beside the database.

Why a lock and not the store's run leases: without Redis a process coordinates only in its
own memory. Leases in the runs table would stop two processes on one SQLite file from
running one run twice, but Cancel clicks, the per-person limit, Slack pacing and the
replay guard would still be each process's own: a Cancel that Slack delivers to the other
process would find nothing to cancel. Several processes need Redis (and, on several
machines, PostgreSQL); then leases decide who runs what and no lock is taken.

Why `flock`: the kernel releases it when the process ends, however it ends (SIGKILL, OOM),
so a crash never leaves a stale lock behind, unlike a pid file; and it is per open file, so
a second open in the same process is refused too. The holder writes its pid into the file
so that the refusal can name it."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from bot.store.url import async_url, is_sqlite, sqlite_file


def lock_path(database_url: str) -> Path | None:
    """`<database file>.lock` for a SQLite file store; None for PostgreSQL or in memory."""
    url = async_url(database_url)
    path = sqlite_file(url) if is_sqlite(url) else None
    return None if path is None else path.with_name(path.name + ".lock")


class StoreFileLock:
    """The exclusive lock on one lock file, held until `release` or the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (never waits); True once held."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> int | None:
        """The pid the holder wrote into the lock file, if it can be read."""
        with contextlib.suppress(OSError, ValueError):
            return int(self.path.read_text().strip() or "x")
        return None

    def release(self) -> None:
        """Give the lock up (closing the file releases it)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

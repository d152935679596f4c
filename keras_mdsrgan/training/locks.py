"""One process per run folder: an OS lock on RUN_DIR/.lock, held while the process lives.

The operating system releases the lock when its process ends, however it ends (a crash,
SIGKILL, a lost machine), so a stale lock file never blocks a rerun: only a live process does.
"""

from __future__ import annotations

import os

from keras_mdsrgan.errors import UserError

LOCK_FILE = ".lock"
_held: dict[str, int] = {}  # run folder -> open descriptor, kept for the life of the process


class BusyError(UserError):
    """The run folder is being trained by another live process."""


def hold(run_dir: str) -> None:
    """Lock ``run_dir`` for this process, or refuse in one line naming the folder and the process
    that holds it. Locking a folder this process already holds does nothing."""
    key = os.path.realpath(run_dir)
    if key in _held:
        return
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        import fcntl
    except ImportError:  # Windows: no fcntl; runs there are not guarded
        _held[key] = fd
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise BusyError(
            f"{run_dir} is in use by another run (process {other}); wait for it to end or pass another --run_dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _held[key] = fd


def release(run_dir: str) -> None:
    """Give the lock up before the process ends (tests; library users running several folders)."""
    fd = _held.pop(os.path.realpath(run_dir), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock

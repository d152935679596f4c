"""Atomic file writes: readers see the old file or the whole new one, never half of it.

A write goes to ``.mdsrgan-tmp-PID-XXXX`` beside its target, then is renamed onto it. A
process killed mid-write (SIGKILL, a lost machine) leaves that temporary file behind;
``remove_stale_temporaries`` deletes those whose process is gone.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``; the temporary file is removed on failure."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(), suffix=suffix, dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual mode
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError) and err.errno:  # name the file the user asked for, not the temporary
            raise OSError(err.errno, err.strerror, path) from None
        raise


TEMPORARY = re.compile(r"\.mdsrgan-tmp-(\d+)-")


def temporary_prefix() -> str:
    """The name every temporary file or folder of this process starts with."""
    return f".mdsrgan-tmp-{os.getpid()}-"


def remove_stale_temporaries(folder: str) -> list[str]:
    """Delete the temporary files and folders in ``folder`` left by processes that no longer run
    (a write cut short by SIGKILL); the names removed. Those of live processes are kept."""
    removed = []
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        match = TEMPORARY.match(name)
        if match and not _alive(int(match.group(1))):
            path = os.path.join(folder, name)
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)
            removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def write_text(path: str, text: str, mode: str = "w") -> None:
    """``text`` (str, or bytes with ``mode="wb"``) into ``path`` atomically."""

    def write(tmp):
        with open(tmp, mode, **({} if "b" in mode else {"newline": ""})) as f:
            f.write(text)

    atomic_write(path, write)


def write_json(path: str, payload) -> None:
    """``payload`` as indented, strict JSON (one trailing newline) into ``path`` atomically: a
    non-finite float (PSNR = inf of identical images, a mean of none) is written as null, which
    every JSON reader accepts, where Python's default would write Infinity / NaN."""
    write_text(path, json.dumps(finite_or_null(payload), indent=1, allow_nan=False) + "\n")


def finite_or_null(value):
    """``value`` with every non-finite float (in nested dicts and lists) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(v) for v in value]
    return value

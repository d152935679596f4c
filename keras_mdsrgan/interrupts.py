"""Ctrl-C (SIGINT) and SIGTERM: one line and a clean stop instead of a traceback.

Training defers the first signal to the end of the current step (``deferred``), saves a
checkpoint and raises ``Interrupted``; the commands that only read and write files stop at
once (``quiet_main``), their outputs being written atomically. Any second signal exits at once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A stop asked for by SIGINT / SIGTERM; the message says what was kept. A KeyboardInterrupt,
    so that code catching ``Exception`` (TensorFlow's import machinery does) lets it through."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.exit_status = 128 + signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


class StopRequest:
    """The first SIGINT / SIGTERM received while ``deferred`` is active (None: none yet)."""

    def __init__(self):
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None


def _exit_now(signum, frame) -> None:
    del frame
    sys.stderr.write(f"\n{signal.Signals(signum).name} again: stopped at once\n")
    sys.stderr.flush()
    os._exit(128 + signum)


@contextlib.contextmanager
def deferred():
    """Inside: the first SIGINT / SIGTERM only sets the yielded ``StopRequest`` (the caller checks
    it between steps); a second one exits at once. Outside the main thread: no handling."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def request(signum, frame):
        del frame
        stop.signum = signum
        for s in SIGNALS:
            signal.signal(s, _exit_now)

    previous = {s: signal.signal(s, request) for s in SIGNALS}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _exit_before_main(signum, frame) -> None:
    del frame
    sys.stderr.write(f"\ninterrupted while starting; {OUTPUTS_KEPT}\n")
    sys.stderr.flush()
    os._exit(128 + signum)


def quiet_while_starting() -> None:
    """For a program's first lines: a SIGINT / SIGTERM before ``main`` runs (while TensorFlow
    loads) exits in one line; nothing has been written yet. ``quiet_main`` takes over."""
    for s in SIGNALS:
        signal.signal(s, _exit_before_main)


def _raise_interrupt(signum, frame) -> None:
    del frame
    for s in SIGNALS:
        signal.signal(s, _exit_now)
    raise Interrupted("interrupted", signum)


OUTPUTS_KEPT = "outputs finished before it are complete, none is half-written"


def quiet_main(kept: str = OUTPUTS_KEPT):
    """Decorate a command's ``main``: SIGINT / SIGTERM stop it with one line on stderr
    (``interrupted; KEPT``, or the message of an ``Interrupted`` the command raised itself) and
    status 128 + signal; outputs are written to temporary names first, so none is left
    half-written. A second signal exits at once."""

    def decorate(main):
        @functools.wraps(main)
        def wrapper(argv):
            for s in SIGNALS:
                signal.signal(s, _raise_interrupt)
            try:
                return main(argv)
            except KeyboardInterrupt as err:  # Interrupted included
                for s in SIGNALS:
                    signal.signal(s, _exit_now)
                own = isinstance(err, Interrupted) and str(err) != "interrupted"
                print(f"\n{err if own else 'interrupted; ' + kept}", file=sys.stderr)
                return getattr(err, "exit_status", 128 + signal.SIGINT)

        return wrapper

    return decorate

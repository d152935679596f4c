"""The one exception family the command-line tools turn into a one-line ``error:`` message.

A ``UserError`` is something the user can fix: a file, a flag, a setting, missing weights. The
CLIs catch it (and only it) and exit with status 2; any other exception is a bug and surfaces
with its traceback, so that it can be reported.
"""

from __future__ import annotations


class UserError(Exception):
    """Unusable input or settings; the message names the file or flag in one line."""


class ConfigError(UserError, ValueError):
    """Settings that contradict each other or are out of range."""


class TrainingError(UserError, RuntimeError):
    """A run that cannot go on (a non-finite loss, checkpoints of other settings); says which."""

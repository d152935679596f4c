"""Where the bundled flagfiles (x2, x4, quickstart, quickstart_start, repro_x2, repro_x4) are, installed or not.

  mdsrgan-train --flagfile=$(mdsrgan-flagfile x2)     # or python -m keras_mdsrgan.flagfile x2
  mdsrgan-flagfile                                    # lists them

A checkout keeps them in the repository's flags/; the wheel installs that folder as
``keras_mdsrgan/flagfiles``. Their relative paths (``--run_dir=runs/x2``, data folders) are
relative to the directory the training runs in.
"""

from __future__ import annotations

import os

from absl import app

from keras_mdsrgan import cli
from keras_mdsrgan.errors import UserError

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def folder() -> str:
    """The installed ``keras_mdsrgan/flagfiles``, else the checkout's ``flags/``."""
    installed = os.path.join(_PACKAGE, "flagfiles")
    return installed if os.path.isdir(installed) else os.path.join(os.path.dirname(_PACKAGE), "flags")


def names() -> list[str]:
    """The bundled flagfiles' names, without ``.cfg``."""
    return sorted(name[: -len(".cfg")] for name in os.listdir(folder()) if name.endswith(".cfg"))


def path(name: str) -> str:
    """The path of bundled flagfile ``name`` (``x2`` or ``x2.cfg``)."""
    stem = name[: -len(".cfg")] if name.endswith(".cfg") else name
    if stem not in names():
        raise UserError(f"no bundled flagfile {name!r}; choose from {', '.join(names())}")
    return os.path.join(folder(), stem + ".cfg")


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        raise app.UsageError("give at most one flagfile name")
    try:
        print(path(argv[1]) if len(argv) == 2 else "\n".join(names()))
    except UserError as err:
        return cli.user_error(err)
    return 0


if __name__ == "__main__":
    app.run(main)

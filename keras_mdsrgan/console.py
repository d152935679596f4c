"""The installed commands (pyproject's ``[project.scripts]``): each runs one module's absl ``main``.

``mdsrgan-upscale`` is ``python -m keras_mdsrgan.upscale`` from any directory, and so on. The
module's flags are made key flags of the script, so that ``--help`` lists them and its docstring
is the usage text, as with ``python -m``.
"""

from __future__ import annotations

import importlib
import sys

from absl import app, flags


def run_module(name: str) -> None:
    """Run module ``name``'s ``main`` under absl as if it were the program itself."""
    from keras_mdsrgan import interrupts

    interrupts.quiet_while_starting()
    module = importlib.import_module(name)
    for flag in flags.FLAGS.get_key_flags_for_module(module):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    sys.modules["__main__"].__doc__ = module.__doc__
    app.run(module.main)


def train() -> None:
    run_module("keras_mdsrgan.train")


def evaluate() -> None:
    run_module("keras_mdsrgan.evaluate")


def compare() -> None:
    run_module("keras_mdsrgan.compare")


def export() -> None:
    run_module("keras_mdsrgan.export.__main__")


def upscale() -> None:
    run_module("keras_mdsrgan.upscale")


def zoo() -> None:
    run_module("keras_mdsrgan.zoo.__main__")


def flagfile() -> None:
    run_module("keras_mdsrgan.flagfile")

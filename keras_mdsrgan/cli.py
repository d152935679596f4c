"""The command line's edge: the installed commands (pyproject's ``[project.scripts]``) and what
every command shares (quiet TensorFlow, one-line errors, the image-size flag).

``mdsrgan-upscale`` is ``python -m keras_mdsrgan.upscale`` from any directory, and so on: each
script runs one module's absl ``main``, with the module's flags made key flags of the script so
that ``--help`` lists them and its docstring is the usage text, as with ``python -m``.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import sys
import tempfile
import types
import typing

from absl import app, flags


def quiet_tensorflow() -> None:
    """Import TensorFlow and probe its devices with the start-up chatter silenced.

    TF 2.21 writes oneDNN / CUDA notices to stderr from C++ before its log settings apply
    (``TF_CPP_MIN_LOG_LEVEL`` does not stop them), which buries our one-line errors; they are
    captured and shown only if the import fails. Later warnings still show. TensorFlow's own
    INFO messages through absl (e.g. a "Sharding callback duration" line at every checkpoint)
    are hidden at the default --verbosity=0; --verbosity=1 shows them.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as chatter:
        os.dup2(chatter.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        except Exception:  # not on Ctrl-C: the command says that in one line
            os.dup2(saved, 2)
            chatter.seek(0)
            sys.stderr.write(chatter.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    tf.get_logger().setLevel(logging.WARNING)
    absl_logger = logging.getLogger("absl")
    if not any(isinstance(f, _LibraryInfo) for f in absl_logger.filters):
        absl_logger.addFilter(_LibraryInfo())


class _LibraryInfo(logging.Filter):
    """Drops the INFO records that TensorFlow sends through absl below --verbosity=1. A filter, not
    a logger level: TensorFlow resets absl's verbosity while it saves a SavedModel
    (``AutoTrackable._trackable_children``), which brought its INFO lines back to the console."""

    def filter(self, record: logging.LogRecord) -> bool:
        from absl import logging as absl_logging

        return record.levelno >= logging.WARNING or absl_logging.get_verbosity() >= 1


def user_error(err: Exception) -> int:
    """Report a ``UserError`` as one ``error:`` line on stderr; the exit status it ends with."""
    print(f"error: {err}", file=sys.stderr)
    return 2


def define_max_image_pixels() -> None:
    """``--max_image_pixels``, the decompression-bomb guard that every command reading images
    has; the command passes it to ``imageio.set_max_image_pixels``. Defined once per process, so
    that one process may import several commands (the demo imports ``upscale``'s functions)."""
    from keras_mdsrgan.data import imageio  # here: an installed command imports this module first, light

    if "max_image_pixels" in flags.FLAGS:
        return
    flags.DEFINE_integer(
        "max_image_pixels",
        imageio.DEFAULT_MAX_IMAGE_PIXELS,
        "Refuse input images of more pixels (a guard against decompression bombs; default: Pillow's limit).",
        lower_bound=1,
    )


def _field_type(hint) -> tuple[type, bool]:
    """(the base type, whether None is allowed) of a settings field's annotation."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (base,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return typing.get_origin(base) or base, True
    return typing.get_origin(hint) or hint, False


def define_config_flags(config_type) -> None:
    """One absl flag per ``config.setting`` field of the dataclass ``config_type``: its name, default,
    help, bounds and choices from the field, defined as the calling module's own flags (as if it
    had called ``flags.DEFINE_*`` itself: its ``--help`` and flagfile list them)."""
    caller = sys._getframe(1).f_globals["__name__"]
    module_name = sys.argv[0] if caller == "__main__" else caller  # absl's name for a main module
    hints = typing.get_type_hints(config_type)
    for field in dataclasses.fields(config_type):
        meta = field.metadata
        if "help" not in meta:
            continue  # set by code, not a flag
        name, kind = meta.get("flag", field.name), _field_type(hints[field.name])[0]
        common = {"module_name": module_name}
        bounds = {k: meta[k] for k in ("lower_bound", "upper_bound") if k in meta}
        if "choices" in meta:
            flags.DEFINE_enum(name, str(field.default), [str(c) for c in meta["choices"]], meta["help"], **common)
        elif kind is bool:
            flags.DEFINE_bool(name, field.default, meta["help"], **common)
        elif kind is int:
            flags.DEFINE_integer(name, field.default, meta["help"], **bounds, **common)
        elif kind is float:
            flags.DEFINE_float(name, field.default, meta["help"], **bounds, **common)
        elif kind is tuple:
            flags.DEFINE_list(name, list(field.default), meta["help"], **common)
        else:
            flags.DEFINE_string(name, field.default, meta["help"], **common)


def config_from_flags(config_type, **set_by_code):
    """The ``config_type`` the parsed flags describe (its ``setting`` fields), plus ``set_by_code``."""
    hints = typing.get_type_hints(config_type)
    values = dict(set_by_code)
    for field in dataclasses.fields(config_type):
        if "help" not in field.metadata:
            continue
        value = flags.FLAGS[field.metadata.get("flag", field.name)].value
        kind, optional = _field_type(hints[field.name])
        if optional and value in (None, ""):
            value = None  # --ma_model= (empty) means unset, as leaving it out does
        elif kind is tuple:
            value = tuple(value)
        elif kind is int and isinstance(value, str):
            value = int(value)  # choices are flags of strings (--scale)
        values[field.name] = value
    return config_type(**values)


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


def demo() -> None:
    run_module("keras_mdsrgan.demo.__main__")


def flagfile() -> None:
    run_module("keras_mdsrgan.flagfile")

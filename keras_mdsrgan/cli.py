"""Shared by the command-line entry points."""

from __future__ import annotations

import logging
import os
import sys
import tempfile

from absl import flags

from keras_mdsrgan import imageio


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
    if absl_logger.getEffectiveLevel() == logging.INFO:
        absl_logger.setLevel(logging.WARNING)


def user_error(err: Exception) -> int:
    """Report a ``UserError`` as one ``error:`` line on stderr; the exit status it ends with."""
    print(f"error: {err}", file=sys.stderr)
    return 2


def define_max_image_pixels() -> None:
    """``--max_image_pixels``, the decompression-bomb guard that every command reading images
    has; the command passes it to ``imageio.set_max_image_pixels``."""
    flags.DEFINE_integer("max_image_pixels", imageio.DEFAULT_MAX_IMAGE_PIXELS, "Refuse input images of more pixels "
                         "(a guard against decompression bombs; default: Pillow's limit).", lower_bound=1)

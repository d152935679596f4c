"""Shared by the command-line entry points."""

from __future__ import annotations

import logging
import os


def quiet_tensorflow() -> None:
    """Import TensorFlow with its start-up chatter and INFO logs silenced (warnings still show)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.get_logger().setLevel(logging.WARNING)

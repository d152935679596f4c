"""A checkout's shortcut for ``python -m export``; the code is ``keras_mdsrgan.export``."""

"""``python -m export`` from a checkout: the same command as ``mdsrgan-export`` and
``python -m keras_mdsrgan.export``. This folder is not installed (a top-level module named
``export`` would collide with other code); the export lives in ``keras_mdsrgan.export``.
"""

from keras_mdsrgan import cli

if __name__ == "__main__":
    cli.export()

"""Named network architectures: a new generator or discriminator is one module and one line here.

A generator module defines ``build(config, scale, name)`` (``config`` a ``ModelConfig``) and
``describe(model)`` (the model in words, or None when the model is not of this architecture);
a discriminator module defines ``build(config, patch_size, name)``. Modules are imported only
when used, so the settings (``config.py``) can list the names without loading Keras.
"""

from __future__ import annotations

import importlib

from keras_mdsrgan.errors import ConfigError

GENERATORS = {"srresnet": "keras_mdsrgan.model.generators"}
DISCRIMINATORS = {"srgan": "keras_mdsrgan.model.discriminators"}


def _module(table: dict[str, str], kind: str, name: str):
    if name not in table:
        raise ConfigError(f"unknown {kind} architecture {name!r}; choose from {', '.join(table)}")
    return importlib.import_module(table[name])


def build_generator(name: str, config, scale: int, model_name: str):
    """A fresh generator of architecture ``name``, sized by ``config``, for ``scale``."""
    return _module(GENERATORS, "generator", name).build(config, scale, model_name)


def build_discriminator(name: str, config, patch_size: int, model_name: str):
    """A fresh discriminator of architecture ``name``, sized by ``config``, for ``patch_size`` squared HR."""
    return _module(DISCRIMINATORS, "discriminator", name).build(config, patch_size, model_name)


def describe_generator(model) -> str:
    """A built or loaded generator in words, by the first architecture that recognises it."""
    for name in GENERATORS:
        words = _module(GENERATORS, "generator", name).describe(model)
        if words:
            return words
    return f"Keras model of {len(model.layers)} layers"

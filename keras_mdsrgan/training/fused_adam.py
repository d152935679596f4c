"""Keras's Adam with each variable's update as one TensorFlow op.

``keras.optimizers.Adam`` builds its update from about forty small ops per variable, every one of
them traced, instantiated and run as its own pass over the weights. ``tf.raw_ops.ResourceApplyAdam``
computes the same formula in one kernel (CPU, GPU and XLA):

    lr_t = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ),  m += (g − m)(1 − β₁),  v += (g² − v)(1 − β₂),
    w −= lr_t · m / (√v + ε).

The state is Keras's (iterations, momentums, velocities), so a checkpoint written with either
restores into the other. The scalars (β powers, rate, ε) are computed once per update, dtype and
device, not once per variable. Results agree with Keras's to float rounding, not bit for bit: the
kernel orders some arithmetic differently.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` (same arguments and state), updating each variable in one op."""

    _scalars: dict | None = None  # per update: (dtype, device) -> the kernel's scalar arguments

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        self._scalars = {}
        try:
            super()._backend_update_step(grads, trainable_variables, learning_rate)
        finally:
            self._scalars = None

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:  # no fused kernel keeps AMSGrad's maximum
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        scalars = self._scalars if self._scalars is not None else {}  # outside an update: no sharing
        key = (dtype, getattr(variable, "device", None))
        if key not in scalars:
            scalars[key] = self._scalar_arguments(dtype, learning_rate)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            grad=ops.cast(gradient, dtype),
            **scalars[key],
        )

    def _scalar_arguments(self, dtype, learning_rate) -> dict:
        """ResourceApplyAdam's scalars at this update's step."""
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        return {
            "beta1_power": ops.power(beta_1, step),
            "beta2_power": ops.power(beta_2, step),
            "lr": ops.cast(learning_rate, dtype),
            "beta1": beta_1,
            "beta2": beta_2,
            "epsilon": ops.cast(self.epsilon, dtype),
        }

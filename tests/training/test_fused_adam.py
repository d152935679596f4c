"""FusedAdam: Keras's Adam to float rounding, with Keras's state, in far fewer traced ops."""

import keras
import numpy as np
import tensorflow as tf

from keras_mdsrgan.training.fused_adam import FusedAdam

SHAPES = [(3, 3, 4, 8), (8,), (50,)]


def _gradients(steps: int, seed: int = 0) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(steps)]


def _train(optimizer_class, gradients, start=None, checkpoint=None):
    """Variables (from ``start`` or seeded) after ``optimizer_class`` applied ``gradients`` in a
    traced step, a decay of the rate inside; the optimizer restored first from ``checkpoint``."""
    rng = np.random.default_rng(1)
    variables = [keras.Variable(w) for w in start or [rng.normal(size=s).astype(np.float32) for s in SHAPES]]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2], [1e-2, 1e-3])
    optimizer = optimizer_class(schedule, beta_1=0.5)
    optimizer.build(variables)
    if checkpoint:
        tf.train.Checkpoint(optimizer=optimizer).read(checkpoint).assert_consumed()
    step = tf.function(lambda grads: optimizer.apply_gradients(zip(grads, variables)), autograph=False)
    for grads in gradients:
        step([tf.constant(g) for g in grads])
    return [v.numpy() for v in variables], optimizer


def test_the_same_updates_as_keras_adam():
    gradients = _gradients(5)
    keras_weights, _ = _train(keras.optimizers.Adam, gradients)
    fused_weights, _ = _train(FusedAdam, gradients)
    for a, b in zip(keras_weights, fused_weights, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_keras_adam_checkpoints_resume_in_fused_adam(tmp_path):
    """Runs saved before the fused optimizer (Keras's Adam state) resume with it, and the other way."""
    gradients = _gradients(4)
    for first, second in ((keras.optimizers.Adam, FusedAdam), (FusedAdam, keras.optimizers.Adam)):
        weights, optimizer = _train(first, gradients[:2])
        path = tf.train.Checkpoint(optimizer=optimizer).write(str(tmp_path / first.__name__))
        resumed, _ = _train(second, gradients[2:], start=weights, checkpoint=path)
        straight, _ = _train(first, gradients)
        for a, b in zip(straight, resumed, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_an_update_traces_far_fewer_ops():
    def ops_of(optimizer_class, shapes=SHAPES):
        variables = [keras.Variable(np.zeros(s, np.float32)) for s in shapes]
        optimizer = optimizer_class(1e-3)
        optimizer.build(variables)
        step = tf.function(lambda grads: optimizer.apply_gradients(zip(grads, variables)), autograph=False)
        graph = step.get_concrete_function([tf.TensorSpec(s) for s in shapes]).graph
        return len(graph.get_operations())

    assert ops_of(FusedAdam) < 0.6 * ops_of(keras.optimizers.Adam)
    # The scalars are shared: a variable adds its inputs (itself, m, v, gradient) and its kernel, about
    # 6 ops, not another set of scalars (about 17 ops).
    assert ops_of(FusedAdam, SHAPES + [(4,)] * 10) - ops_of(FusedAdam) <= 8 * 10

"""tf.distribute plumbing: which strategy, who writes files, and one distributed step.

The training loop calls ``strategy.run`` itself (rather than ``Model.fit``), which works alike
for one device, MirroredStrategy and MultiWorkerMirroredStrategy (Keras 3's ``fit`` fails under
the last: keras-team/keras#20585).
"""

from __future__ import annotations

import os

import tensorflow as tf

from keras_mdsrgan.errors import TrainingError


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``auto``: MirroredStrategy over several GPUs, else the default single device.

    ``multi_worker``: MultiWorkerMirroredStrategy configured by the standard TF_CONFIG.
    """
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    return tf.distribute.get_strategy()


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints, logs and models (always, but for multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def barrier(strategy: tf.distribute.Strategy) -> None:
    """Wait until every worker gets here (a tiny all-reduce)."""
    strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)), axis=None)


def check_same_step(strategy: tf.distribute.Strategy, step: tf.Variable) -> None:
    """All workers must resume at the same step (their checkpoint folders might differ)."""
    value = tf.cast(step.read_value(), tf.float64)
    moments = strategy.run(lambda: tf.stack([value, value * value]))
    mean, mean_square = strategy.reduce(tf.distribute.ReduceOp.MEAN, moments, axis=None).numpy()
    if mean_square - mean * mean > 1e-6:
        raise TrainingError(
            f"workers restored different steps (this one: {int(step)}); "
            "give every worker the same --run_dir on shared storage"
        )


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN CPU kernels: TF_ENABLE_ONEDNN_OPTS, else TensorFlow 2.21's
    default, on only for CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX (so off on AVX2-only
    CPUs such as AMD EPYC Zen 3, which run its Eigen kernels)."""
    from tensorflow.python.util import _pywrap_util_port  # TensorFlow's own answer; no public API has it

    return bool(_pywrap_util_port.IsMklEnabled())


def describe_machine() -> str:
    """The CPU model (lscpu), core count, which CPU kernels TensorFlow runs and any GPUs: named
    beside every measured time, since the same step takes about 3x longer on Eigen's kernels."""
    import platform
    import subprocess

    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown CPU"
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return (
        f"{model}, {os.cpu_count()} cores"
        + ("" if onednn_enabled() else ", Eigen CPU kernels (oneDNN off)")
        + (f", GPUs: {', '.join(gpus)}" if gpus else ", no GPU")
    )


def use_xla(jit_compile: bool | None, strategy: tf.distribute.Strategy) -> bool:
    """``jit_compile`` when given. None (auto): XLA on a single CPU replica whose TensorFlow runs
    the Eigen kernels, where the XLA-compiled SRGAN step took 0.69x the time of the plain one
    (benchmarks/train_step.py, docs/PERFORMANCE.md); off where oneDNN's kernels run (XLA took
    1.31x there), on GPUs (not measured) and across replicas."""
    if jit_compile is not None:
        return jit_compile
    return strategy.num_replicas_in_sync == 1 and not tf.config.list_logical_devices("GPU") and not onednn_enabled()


def step_function(strategy: tf.distribute.Strategy, step_fn, jit_compile: bool = False):
    """A tf.function that runs ``step_fn`` on every replica's next batch and means the logs.
    The steps branch and loop in plain Python (over pairs and loss terms), so AutoGraph, whose
    conversion only adds tracing time to every new process, is off (CHANGELOG.md)."""
    replica_step = tf.function(step_fn, jit_compile=True, autograph=False) if jit_compile else step_fn

    @tf.function(autograph=False)
    def distributed_step(iterator):
        per_replica = strategy.run(replica_step, args=(next(iterator),))
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

    return distributed_step

"""tf.distribute on a CPU-only machine: 2 logical CPUs under MirroredStrategy, 2 local workers."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np

from conftest import REPO, SMALL_VAL, run_python

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def mirrored_vs_single():
    result = run_python(os.path.join(REPO, "tests", "helpers", "mirrored_vs_single.py"), env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mirrored_two_replicas_match_single_device_with_sync_batchnorm():
    """Same global batch of 4, 3 `ml` steps. Losses agree to float precision. Weights are compared
    absolutely: conv biases that feed BatchNorm have zero true gradient, and Adam turns their
    float-noise gradients into steps of up to lr (1e-4) each, so 2·lr·steps bounds them."""
    measured = mirrored_vs_single()
    synced = measured["sync"]
    assert measured["replicas"] == 2
    assert synced["loss_rel_diff"] < 1e-4
    assert synced["weight_abs_diff"] < 2 * 1e-4 * 3
    # Per-replica batch statistics (2 images each) would visibly change the discriminators'
    # output: the agreement above is sync batch norm's doing, not the data's.
    assert measured["replica_batch_rel_diff"] > 1e-2


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_local_workers_train_like_one_process_and_only_the_chief_writes(tmp_path):
    """Both workers end with the same weights, equal (to float precision, as the mirrored test)
    to one process training on the same global batch, with batch norm synchronised."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    args = [
        "--nojit_compile",  # the single process would otherwise compile XLA where oneDNN is off
        "--train=sample:train",
        f"--val={SMALL_VAL}",
        "--val_max_images=1",
        "--scale=2",
        "--hr_patch=16",
        "--batch_size=4",
        "--gen_filters=4",
        "--gen_blocks=1",
        "--disc_filters=4",
        "--disc_dense=8",
        "--perceptual_weight=0",
        "--pixel_weight=1",
        "--pretrain_steps=2",
        "--gan_steps=3",
        "--checkpoint_every=2",
        "--log_every=1",
        "--sync_batchnorm",
        "--verbosity=-1",
    ]
    helper = os.path.join(REPO, "tests", "helpers", "worker_weights.py")
    processes = []
    for index in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    helper,
                    str(tmp_path / f"worker{index}.npz"),
                    *args,
                    "--strategy=multi_worker",
                    f"--run_dir={tmp_path / f'worker{index}'}",
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    single = run_python(  # the reference trains only: validation changes no weight
        helper, str(tmp_path / "single.npz"), *args, "--val=", f"--run_dir={tmp_path / 'single'}", env=ENV, timeout=300
    )
    assert single.returncode == 0, single.stderr[-3000:]
    deadline = time.time() + 300
    try:
        for p in processes:
            p.wait(timeout=max(1, deadline - time.time()))
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for p in processes:
        assert p.returncode == 0, p.stderr.read()[-3000:]
    chief, worker = tmp_path / "worker0", tmp_path / "worker1"
    assert (chief / "checkpoints" / "ckpt-5.index").is_file()
    assert (chief / "generator_0.keras").is_file() and (chief / "results.json").is_file()
    written = [os.path.join(root, f) for root, _, files in os.walk(worker) for f in files] if worker.exists() else []
    assert not [f for f in written if "ckpt" in f or f.endswith((".keras", "results.json"))]
    workers = [np.load(tmp_path / f"{name}.npz") for name in ("worker0", "worker1")]
    for key in workers[0].files:
        np.testing.assert_array_equal(workers[0][key], workers[1][key])
    # Weights are compared through what they compute: conv biases before batch norm have no true
    # gradient, Adam turns their float noise into steps of up to lr, and batch norm cancels them.
    chief_losses, single_losses = _losses(chief / "tensorboard"), _losses(tmp_path / "single" / "tensorboard")
    assert set(chief_losses) == set(single_losses) and len(chief_losses) == 2 + 3 * 2 * 3  # every step's terms
    for key, value in single_losses.items():
        assert abs(chief_losses[key] - value) <= 1e-4 * max(abs(value), 1e-3), key


def _losses(folder) -> dict[tuple[int, str], float]:
    """{(step, tag): value} of the loss terms logged (every step) in a TensorBoard folder."""
    import tensorflow as tf

    values = {}
    for path in sorted(folder.glob("events.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag.split("/")[-1] in ("pretrain_mse", "g_total", "d_total", "g_pixel"):
                    values[(event.step, value.tag)] = float(tf.make_ndarray(value.tensor))
    return values


def test_xla_by_default_only_where_tensorflow_runs_its_eigen_cpu_kernels():
    """--jit_compile unset: XLA where oneDNN is off (AVX2-only CPUs), not where oneDNN runs;
    an explicit choice always wins."""
    code = (
        "import tensorflow as tf; from keras_mdsrgan.training import distributed as d; "
        "s = tf.distribute.get_strategy(); "
        "print(d.onednn_enabled(), d.use_xla(None, s), d.use_xla(True, s), d.use_xla(False, s))"
    )
    answers = {}
    for onednn in ("0", "1"):
        result = run_python(
            "-c", code, env={**ENV, "TF_ENABLE_ONEDNN_OPTS": onednn, "CUDA_VISIBLE_DEVICES": ""}, timeout=120
        )
        assert result.returncode == 0, result.stderr[-3000:]
        answers[onednn] = result.stdout.split()
    assert answers == {"0": ["False", "True", "True", "False"], "1": ["True", "False", "True", "False"]}

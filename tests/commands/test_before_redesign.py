"""Files written by the code before the package was regrouped (tests/fixtures/before_redesign) still
work: a checkpoint resumes with every object restored, a .keras generator loads and computes the
same output. Long trainings resume across the move."""

import os
import shutil

import numpy as np

from conftest import REPO, TINY_RUN, run_command

DATA = os.path.join(REPO, "tests", "fixtures", "before_redesign")
# The command that wrote checkpoints/ckpt-10 (stopped there), now run on to step 12.
TINY = [
    *TINY_RUN,
    "--num_pairs=2",
    "--checkpoint_every=5",
    "--keep_checkpoints=2",
    "--log_every=1",
    "--val_every=5",
    "--pretrain_steps=6",
    "--gan_steps=6",
    "--lr_decay_steps=3",
    "--verbosity=-1",
]


def test_a_checkpoint_from_before_resumes(tmp_path, capfd):
    run_dir = tmp_path / "run"
    shutil.copytree(os.path.join(DATA, "checkpoints"), run_dir / "checkpoints")
    result = run_command(capfd, "train", *TINY, f"--run_dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    from keras_mdsrgan.training.validation import read_history

    # Only steps 11-12 ran, in a process that began at step 10 (a fresh start would validate 5 and 10).
    assert [(r["step"], r["from_step"]) for r in read_history(str(run_dir))] == [(12, 10)]
    assert sorted(os.listdir(run_dir / "checkpoints"))[-1].startswith("ckpt-12")
    assert (run_dir / "generator_1.keras").exists()


def test_a_generator_saved_before_loads_and_computes_the_same():
    from keras_mdsrgan.model import inference

    stored = np.load(os.path.join(DATA, "generator_0_output.npz"))
    model = inference.load(os.path.join(DATA, "generator_0.keras"))
    np.testing.assert_allclose(model.float_call(stored["lr"]), stored["sr"], atol=1e-5)

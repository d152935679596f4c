"""Train a cohort of mutually distilled SRGANs.

  python -m keras_mdsrgan.train --flagfile=flags/x4.cfg [--run_dir=DIR] [--mode=ml]

Running the same command again resumes from the newest checkpoint; --restart starts over.
absl's --verbosity sets the console: -1 hides the progress bar and info messages.
"""

from __future__ import annotations

from absl import app, flags

from keras_mdsrgan import cli, interrupts
from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig
from keras_mdsrgan.data import imageio

FLAGS = flags.FLAGS
# Run
flags.DEFINE_string("run_dir", "runs/default", "Folder for checkpoints, logs, models and results.")
flags.DEFINE_bool("restart", False, "Delete the run's checkpoints and start from step 0.")
cli.define_max_image_pixels()
# Every setting of the config dataclasses, with the default, help and bounds written there.
for _config_type in (DataConfig, ModelConfig, LossConfig, TrainConfig):
    cli.define_config_flags(_config_type)


def config_from_flags() -> RunConfig:
    """The flags as a RunConfig: the only place flags are read."""
    return RunConfig(
        data=cli.config_from_flags(DataConfig),
        model=cli.config_from_flags(ModelConfig),
        loss=cli.config_from_flags(LossConfig),
        train=cli.config_from_flags(TrainConfig, verbosity=int(FLAGS.verbosity >= 0)),
    )


def flagfile_text() -> str:
    """This module's flags as a flagfile that reruns (resumes) the same run."""
    module = FLAGS.find_module_defining_flag("run_dir")
    lines = [flag.serialize() for flag in FLAGS.get_flags_for_module(module) if flag.name != "restart"]
    return "\n".join(line for line in lines if line) + "\n"  # unset optional flags serialize to ""


@interrupts.quiet_main(kept="the checkpoints are as they were; run the same command to resume")
def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_tensorflow()
    from keras_mdsrgan.errors import UserError
    from keras_mdsrgan.quality import evaluation  # imported late: TensorFlow is slow
    from keras_mdsrgan.training import loop  # imported late: TensorFlow is slow

    config = config_from_flags()
    imageio.set_max_image_pixels(FLAGS.max_image_pixels)
    try:
        results = loop.run(config, FLAGS.run_dir, restart=FLAGS.restart, flagfile=flagfile_text())
    except UserError as err:  # bad settings, files or data; a bug keeps its traceback
        return cli.user_error(err)
    except OSError as err:  # a full disk or a read-only folder under a log, model or result file
        return cli.user_error(
            f"cannot write {err.filename or FLAGS.run_dir} ({err.strerror or err}); "
            "the checkpoints are intact: free space or fix the folder, then run the same command"
        )
    if results:  # only the chief evaluates
        print(f"\nrun directory: {FLAGS.run_dir}\n{evaluation.markdown_table(results)}")
    return 0


if __name__ == "__main__":
    app.run(main)

"""The generators shipped with the package: list them, or pack a trained run's best one.

  mdsrgan-zoo [--json]            (or python -m keras_mdsrgan.zoo)
  mdsrgan-zoo --pack=NAME --run_dir=DIR [--pair=K] --datasets=Set5=HR[:LR],Set14=...

The list gives each model's name, scale, architecture, parameters, file size, scores (PSNR on Y
with a border of `scale` pixels, SSIM, NIQE) and training (chosen step, hours, images). Packing
scores the run's best/generator_K.keras in float32 and float16 on --datasets, stores float16 when it
costs at most 0.01 dB on every dataset, and writes keras_mdsrgan/resources/zoo/NAME.npz with that
card. Use any model by name: `mdsrgan-upscale --model=zoo:NAME`.
"""

from __future__ import annotations

import json
import os

from absl import app, flags

from keras_mdsrgan import cli, interrupts
from keras_mdsrgan.errors import UserError
from keras_mdsrgan.model import zoo
from keras_mdsrgan.zoo import cards as cards_table

FLAGS = flags.FLAGS
flags.DEFINE_bool("json", False, "Print the cards as JSON instead of a table.")
flags.DEFINE_string("pack", None, "Pack a run's best generator under this name.")
flags.DEFINE_string(
    "run_dir", None, "The training run to pack (its best/generator_K.keras, config.json and validation.jsonl)."
)
flags.DEFINE_integer("pair", 0, "Which pair of the run to pack.", lower_bound=0)
flags.DEFINE_list("datasets", [], "NAME=HR_DIR[:LR_DIR] sets the packed model is scored on, comma-separated.")


def listing() -> None:
    if not zoo.names():
        print("no models in the zoo")
    elif FLAGS.json:
        print(json.dumps({name: zoo.info(name) for name in zoo.names()}, indent=1))
    else:
        print(cards_table.shipped_table())


@interrupts.quiet_main()
def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        if not FLAGS.pack:
            listing()
            return 0
        if not FLAGS.run_dir or not FLAGS.datasets:
            raise UserError("--pack needs --run_dir and --datasets")
        cli.quiet_tensorflow()
        from keras_mdsrgan.quality import evaluation
        from keras_mdsrgan.zoo import packing

        target, card = packing.pack_run(
            FLAGS.pack, FLAGS.run_dir, evaluation.parse_datasets(FLAGS.datasets), FLAGS.pair
        )
        print(
            f"packed {FLAGS.run_dir} pair {FLAGS.pair} (step {card['training']['step']}) as {zoo.PREFIX}"
            f"{FLAGS.pack}: {target}, {card['dtype']} (float16 moves PSNR by {card['float16_cost_db']} dB)"
        )
        print(cards_table.table({FLAGS.pack: card}, {FLAGS.pack: os.path.getsize(target)}))
    except (UserError, OSError) as err:
        return cli.user_error(err)
    return 0


if __name__ == "__main__":
    app.run(main)

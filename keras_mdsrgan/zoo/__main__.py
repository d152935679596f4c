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

FLAGS = flags.FLAGS
flags.DEFINE_bool("json", False, "Print the cards as JSON instead of a table.")
flags.DEFINE_string("pack", None, "Pack a run's best generator under this name.")
flags.DEFINE_string(
    "run_dir", None, "The training run to pack (its best/generator_K.keras, config.json and validation.jsonl)."
)
flags.DEFINE_integer("pair", 0, "Which pair of the run to pack.", lower_bound=0)
flags.DEFINE_list("datasets", [], "NAME=HR_DIR[:LR_DIR] sets the packed model is scored on, comma-separated.")


def _scores(card: dict, dataset: str) -> str:
    s = card.get("scores", {}).get(dataset)
    return f"{s['psnr']:.2f} / {s['ssim']:.4f} / {s['niqe']:.2f}" if s else "-"


def table(cards: dict[str, dict], sizes: dict[str, int]) -> str:
    """One row per model; a column of PSNR / SSIM / NIQE per dataset any card was scored on."""
    datasets = list(dict.fromkeys(d for card in cards.values() for d in card.get("scores", {})))
    head = [
        "name",
        "scale",
        "architecture",
        "parameters",
        "file",
        *(f"{d} PSNR / SSIM / NIQE" for d in datasets),
        "training",
    ]
    rows = [" | ".join(head), " | ".join("---" for _ in head)]
    for name, card in cards.items():
        t = card.get("training", {})
        training = (
            f"step {t.get('step')} of {t.get('steps_run')}, {t.get('hours')} h, "
            f"{t.get('images')} images ({' + '.join(map(str, t.get('data', [])))})"
        )
        rows.append(
            " | ".join(
                [
                    zoo.PREFIX + name,
                    f"x{card.get('scale')}",
                    str(card.get("architecture")),
                    f"{card.get('parameters', 0) / 1e6:.2f} M",
                    f"{sizes[name] / 1e6:.1f} MB {card.get('dtype', '')}",
                    *(_scores(card, d) for d in datasets),
                    training,
                ]
            )
        )
    return "\n".join(f"| {row} |" for row in rows)


def listing() -> None:
    shipped = zoo.names()
    if not shipped:
        print("no models in the zoo")
        return
    cards = {name: zoo.info(name) for name in shipped}
    if FLAGS.json:
        print(json.dumps(cards, indent=1))
    else:
        print(table(cards, {name: os.path.getsize(zoo.path(name)) for name in shipped}))


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
        print(table({FLAGS.pack: card}, {FLAGS.pack: os.path.getsize(target)}))
    except (UserError, OSError) as err:
        return cli.user_error(err)
    return 0


if __name__ == "__main__":
    app.run(main)

"""The zoo's cards (what ``packing`` measured) as one Markdown table: no flags, so any code can
print it."""

from __future__ import annotations

import os

from keras_mdsrgan.model import zoo


def _scores(card: dict, dataset: str) -> str:
    s = card.get("scores", {}).get(dataset)
    return f"{s['psnr']:.2f} / {s['ssim']:.4f} / {s['niqe']:.2f}" if s else "-"


def shipped_table() -> str:
    """The table of every model the package ships, its file sizes read from disk."""
    return table(
        {name: zoo.info(name) for name in zoo.names()}, {name: os.path.getsize(zoo.path(name)) for name in zoo.names()}
    )


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

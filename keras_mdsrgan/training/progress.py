"""What a run shows while it trains: a console bar per stage and TensorBoard scalars.

Both report means over the logging window (every ``log_every`` steps, as keras-io's ``Mean``
trackers do), not the last batch's noisy value, plus the current learning rates of the stage.
"""

from __future__ import annotations

import keras
import tensorflow as tf

SHOWN = ("pretrain_mse", "g_total", "d_total", "d_distill_kl")  # per pair, on the console


def learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The optimizer's current rate (schedules evaluated at its own iteration count)."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class ResumedProgbar(keras.utils.Progbar):
    """Keras's bar with its time per step measured from where the run resumed.

    Keras divides the time since the bar was made by the whole step count, so after a resume
    at step 5000 of 24000 it showed microseconds a step and an ETA of minutes for hours of work.
    """

    def __init__(self, target: int, resumed_at: int, **kwargs):
        super().__init__(target, **kwargs)
        self.resumed_at = resumed_at
        super().update(resumed_at)

    def _estimate_step_duration(self, current, now):
        done = current - self.resumed_at
        return (now - self._start) / done if done > 0 else 0


class Progress:
    """Window means of the step logs, written every ``log_every`` steps and at a stage's end."""

    def __init__(self, writer, log_every: int, verbose: bool):
        self.writer, self.log_every, self.verbose = writer, log_every, verbose
        self.bar, self.stage = None, None
        self._reset()

    def _reset(self) -> None:
        self.sums, self.count = {}, 0

    def start(self, stage, step: int) -> None:
        """A new stage, resumed after global step ``step``."""
        self.stage = stage
        self._reset()
        if self.verbose:
            print(f"{stage.name}: steps {stage.first + 1}-{stage.end}")
            self.bar = ResumedProgbar(stage.end - stage.first, step - stage.first, verbose=1)

    def update(self, step: int, logs: dict[str, float]) -> dict[str, float] | None:
        """Add one step's logs; at a logging step write and return the window means."""
        for name, value in logs.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.count += 1
        means = None
        if step % self.log_every == 0 or step == self.stage.end:
            means = {name: total / self.count for name, total in self.sums.items()}
            means.update({name: learning_rate(opt) for name, opt in self.stage.optimizers.items()})
            with self.writer.as_default(step=step):
                for name, value in means.items():
                    tf.summary.scalar(name, value)
            self._reset()
        if self.bar:
            shown = [(k, v) for k, v in (means or {}).items() if k.partition("/")[2] in SHOWN]
            self.bar.stateful_metrics.update(k for k, _ in shown)  # show window means as they are
            self.bar.update(step - self.stage.first, shown, finalize=False)
        return means

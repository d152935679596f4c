"""MutualSRGAN: K generator-discriminator pairs whose discriminators distill into each other.

One training step, from the batch (LR, HR):
  1. every G_k makes SR_k; every D_k judges each *source* as a batch of its own: HR, SR_k and,
     in the mutual modes (all but ``independent``), every peer's SR_j (so batch norm sees one
     source at a time, as in BasicSR and krasserm's SRGAN, and D_k's statistics on HR and SR_k
     are the same in every mode);
  2. G_k is updated by pixel + perceptual + adversarial loss, the last from D_k(SR_k) only;
  3. D_k is updated by its adversarial loss on (HR, SR_k) plus, in the mutual modes,
     λ·T²·KL(target ‖ P_k) averaged over HR and *all* generators' SR batches, where
     P(x) = sigmoid(logit(x) / T) and the targets (``distill.TARGETS``) are constants.
Both updates use the networks as they were at the start of the step (BasicSR's G-then-D order
gives the same gradients, since D's loss uses SR computed before G's update). D_k(SR_k) is run
once and recorded on both tapes; the VGG features of HR are computed once for all pairs. With
λ = 0 the mutual modes train exactly as ``independent`` (the distillation-only control);
``independent`` makes no peer passes: the cohort is K separate SRGANs.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from keras_mdsrgan import names
from keras_mdsrgan.config import INDEPENDENT, MODES, LossConfig
from keras_mdsrgan.model import distill, losses


class MutualSRGAN(keras.Model):
    """The cohort. ``call`` runs every generator; ``train_step`` / ``pretrain_step`` train it."""

    def __init__(self, generators, discriminators, weights: LossConfig, vgg_features=None, **kwargs):
        """``discriminators`` empty: a cohort that only pre-trains (``pretrain_step``)."""
        super().__init__(**kwargs)
        if not generators or len(discriminators) not in (0, len(generators)):
            raise ValueError("need generators and as many discriminators (or none, to pre-train only)")
        if weights.mode not in MODES:
            raise ValueError(f"unknown mode {weights.mode!r}")
        if discriminators and weights.perceptual_weight > 0 and vgg_features is None:
            raise ValueError("a perceptual weight needs VGG features")
        self.generators = list(generators)
        self.discriminators = list(discriminators)
        self.weights_cfg = weights
        self.vgg_features = vgg_features

    @property
    def num_pairs(self) -> int:
        return len(self.generators)

    def compile(self, gen_optimizers, disc_optimizers, pretrain_optimizers=(), **kwargs):
        """One optimizer per network, and one per pre-trained generator (the first ones)."""
        super().compile(**kwargs)
        self.gen_optimizers = list(gen_optimizers)
        self.disc_optimizers = list(disc_optimizers)
        self.pretrain_optimizers = list(pretrain_optimizers)
        for opts, nets in (
            (self.gen_optimizers, self.generators),
            (self.disc_optimizers, self.discriminators),
            (self.pretrain_optimizers, self.generators),
        ):
            for opt, net in zip(opts, nets):
                opt.build(net.trainable_variables)

    def call(self, lr, training=False):
        return [g(lr, training=training) for g in self.generators]

    # ----------------------------------------------------------------- loss terms

    @property
    def mutual(self) -> bool:
        return self.weights_cfg.mode != INDEPENDENT

    def own_source(self, k: int) -> int:
        """Row of SR_k in ``judge``'s logits of D_k: [HR, SR_k] or [HR, SR_0, .., SR_K-1]."""
        return k + 1 if self.mutual else 1

    def judge(self, hr, fakes, generator_tape=None):
        """Per discriminator, logits of shape (sources, batch): D_k on HR, then on SR_k (or on every
        SR_j in the mutual modes), each source its own batch. Only D_k(SR_k) is recorded on
        ``generator_tape``: it is the one output a generator's loss uses."""
        logits = []
        for k, d in enumerate(self.discriminators):
            rows = {self.own_source(k): _logit(d, fakes[k])}
            with generator_tape.stop_recording() if generator_tape else contextlib.nullcontext():
                rows[0] = _logit(d, hr)
                if self.mutual:
                    rows.update({j + 1: _logit(d, fakes[j]) for j in range(self.num_pairs) if j != k})
            logits.append(tf.stack([rows[row] for row in sorted(rows)]))
        return logits

    def embed(self, images):
        """VGG features for the perceptual loss, scaled as SRGAN does."""
        return losses.vgg_embedding(self.vgg_features, images, self.weights_cfg.perceptual_rescale)

    def generator_terms(self, hr, fakes, logits, hr_features=None):
        """Per pair, the generator's per-example loss terms (``hr_features``: ``embed(hr)``)."""
        w = self.weights_cfg
        perceptual = w.perceptual_weight > 0
        if perceptual:  # one VGG pass over every pair's SR batch
            sr_features = tf.split(self.embed(tf.concat(fakes, 0)), self.num_pairs)
        terms = []
        for k, sr in enumerate(fakes):
            t = {
                "g_pixel": losses.pixel_loss(hr, sr),
                "g_adversarial": losses.adversarial_loss(logits[k][self.own_source(k)][:, None], is_real=True),
            }
            total = w.pixel_weight * t["g_pixel"] + w.adversarial_weight * t["g_adversarial"]
            if perceptual:
                t["g_perceptual"] = losses.perceptual_loss(hr_features, sr_features[k])
                total += w.perceptual_weight * t["g_perceptual"]
            t["g_total"] = total
            terms.append(t)
        return terms

    def discriminator_terms(self, logits):
        """Per pair, the discriminator's per-example loss terms and mean probabilities."""
        w = self.weights_cfg
        if self.mutual:
            probs = [tf.stop_gradient(tf.sigmoid(z / w.temperature)) for z in logits]
        terms = []
        for k, z in enumerate(logits):
            own_fake = z[self.own_source(k)]
            real_loss = losses.adversarial_loss(z[0][:, None], is_real=True)
            fake_loss = losses.adversarial_loss(own_fake[:, None], is_real=False)
            t = {
                "d_adversarial": real_loss + fake_loss,
                "d_real_prob": tf.sigmoid(z[0]),
                "d_fake_prob": tf.sigmoid(own_fake),
            }
            t["d_total"] = t["d_adversarial"]
            if self.mutual:
                targets = distill.TARGETS[w.mode](probs, k)
                kl = tf.add_n([losses.bernoulli_kl(p[..., None], z[..., None], w.temperature) for p in targets]) / len(
                    targets
                )
                t["d_distill_kl"] = tf.reduce_mean(kl, axis=0)  # per example, over all sources
                t["d_total"] += w.distill_weight * w.temperature**2 * t["d_distill_kl"]
            terms.append(t)
        return terms

    # ----------------------------------------------------------------- steps

    def train_step(self, data):
        lr, hr = data
        hr_features = self.embed(hr) if self.weights_cfg.perceptual_weight > 0 else None  # off the tapes
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fakes = [tf.cast(g(lr, training=True), tf.float32) for g in self.generators]  # float32 losses
            logits = self.judge(hr, fakes, g_tape)
            g_terms = self.generator_terms(hr, fakes, logits, hr_features)
            d_terms = self.discriminator_terms(logits)
            g_total = self._total(g_terms, "g_total", self.gen_optimizers)
            d_total = self._total(d_terms, "d_total", self.disc_optimizers)
        self._apply(g_tape, g_total, self.generators, self.gen_optimizers)
        self._apply(d_tape, d_total, self.discriminators, self.disc_optimizers)
        return self._logs(g_terms, d_terms)

    def pretrain_step(self, data, pairs=None):
        """SRResNet pre-training of the generators of ``pairs`` (default: every one with a
        pre-training optimizer) by pixel MSE only."""
        lr, hr = data
        pairs = range(len(self.pretrain_optimizers)) if pairs is None else pairs
        generators = [self.generators[k] for k in pairs]
        with tf.GradientTape() as tape:
            terms = {
                k: {"pretrain_mse": losses.pixel_loss(hr, tf.cast(self.generators[k](lr, training=True), tf.float32))}
                for k in pairs
            }
            total = self._total(list(terms.values()), "pretrain_mse", [self.pretrain_optimizers[k] for k in pairs])
        self._apply(tape, total, generators, [self.pretrain_optimizers[k] for k in pairs])
        return self._logs(terms)

    def _total(self, terms, name, optimizers):
        """Sum over pairs of each pair's (optimizer-scaled) global-batch mean of ``name``."""
        return tf.add_n([opt.scale_loss(self._average(t[name])) for opt, t in zip(optimizers, terms)])

    @staticmethod
    def _average(per_example):
        """Mean over the global batch (correct gradient sums under tf.distribute)."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        global_batch = tf.shape(per_example)[0] * replicas
        return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)

    @staticmethod
    def _apply(tape, loss, networks, optimizers):
        """One backward pass for all ``networks``: each one's variables only reach its own
        (optimizer-scaled) loss term, so each gets exactly its own gradient."""
        variables = [net.trainable_variables for net in networks]
        grads = tape.gradient(loss, variables)
        for opt, g, v in zip(optimizers, grads, variables):
            opt.apply_gradients(zip(g, v))

    @staticmethod
    def _logs(*per_pair_terms):
        """Batch means named ``pairK/term``; each argument is a list or a {pair: terms} dict."""
        logs = {}
        for terms in per_pair_terms:
            items = terms.items() if isinstance(terms, dict) else enumerate(terms)
            for k, t in items:
                for name, value in t.items():
                    logs[f"{names.pair_name(k)}/{name}"] = tf.reduce_mean(value)
        return logs


def _logit(discriminator, images):
    """One logit per image, in float32 (the losses' precision under mixed precision)."""
    return tf.cast(discriminator(images, training=True), tf.float32)[:, 0]

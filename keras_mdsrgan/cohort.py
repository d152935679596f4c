"""MutualSRGAN: K generator-discriminator pairs whose discriminators distill into each other.

One training step (BasicSR order: generators first, then discriminators):
  1. every G_k makes SR_k from the shared LR batch and is updated by
     pixel + perceptual + adversarial loss, the last against its own D_k only;
  2. every D_k is updated by its adversarial loss on (HR, SR_k) plus, in ``ml`` / ``ml_star``,
     λ·T²·KL(target ‖ P_k) averaged over the HR batch and *all* generators' SR batches,
     where P(x) = sigmoid(logit(x) / T) and the targets (``distill.TARGETS``) are constants.
In ``independent`` mode no peer passes are made: D_k sees only HR and SR_k, so the cohort
is K separate SRGANs.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_mdsrgan import distill, losses, names
from keras_mdsrgan.config import INDEPENDENT, MODES, LossConfig


class MutualSRGAN(keras.Model):
    """The cohort. ``call`` runs every generator; ``train_step`` / ``pretrain_step`` train it."""

    def __init__(self, generators, discriminators, weights: LossConfig, vgg_features=None, **kwargs):
        super().__init__(**kwargs)
        if len(generators) != len(discriminators) or not generators:
            raise ValueError("need the same positive number of generators and discriminators")
        if weights.mode not in MODES:
            raise ValueError(f"unknown mode {weights.mode!r}")
        if weights.perceptual_weight > 0 and vgg_features is None:
            raise ValueError("a perceptual weight needs VGG features")
        self.generators = list(generators)
        self.discriminators = list(discriminators)
        self.weights_cfg = weights
        self.vgg_features = vgg_features

    @property
    def num_pairs(self) -> int:
        return len(self.generators)

    def compile(self, gen_optimizers, disc_optimizers, pretrain_optimizers=(), **kwargs):
        """One optimizer per network (and per generator for the MSE pre-training stage)."""
        super().compile(**kwargs)
        self.gen_optimizers = list(gen_optimizers)
        self.disc_optimizers = list(disc_optimizers)
        self.pretrain_optimizers = list(pretrain_optimizers)
        for opts, nets in ((self.gen_optimizers, self.generators),
                           (self.disc_optimizers, self.discriminators),
                           (self.pretrain_optimizers, self.generators)):
            for opt, net in zip(opts, nets):
                opt.build(net.trainable_variables)

    def call(self, lr, training=False):
        return [g(lr, training=training) for g in self.generators]

    # ----------------------------------------------------------------- loss terms

    def generator_terms(self, lr, hr):
        """SR batches and, per pair, the generator's per-example loss terms."""
        w = self.weights_cfg
        fakes, terms = [], []
        for g, d in zip(self.generators, self.discriminators):
            sr = tf.cast(g(lr, training=True), tf.float32)  # losses in float32 under mixed precision
            logits = tf.cast(d(sr, training=True), tf.float32)
            t = {"g_pixel": losses.pixel_loss(hr, sr),
                 "g_adversarial": losses.adversarial_loss(logits, is_real=True)}
            total = w.pixel_weight * t["g_pixel"] + w.adversarial_weight * t["g_adversarial"]
            if w.perceptual_weight > 0:
                t["g_perceptual"] = losses.perceptual_loss(self.vgg_features, hr, sr, w.perceptual_rescale)
                total += w.perceptual_weight * t["g_perceptual"]
            t["g_total"] = total
            fakes.append(sr)
            terms.append(t)
        return fakes, terms

    def discriminator_terms(self, hr, fakes):
        """Per pair, the discriminator's per-example loss terms and mean probabilities."""
        w = self.weights_cfg
        batch = tf.shape(hr)[0]
        if w.mode == INDEPENDENT:
            logits = [tf.cast(d(tf.concat([hr, fakes[k]], 0), training=True), tf.float32)
                      for k, d in enumerate(self.discriminators)]
            chunks = [tf.reshape(z, [2, batch]) for z in logits]
            own_fake = [c[1] for c in chunks]
        else:  # every discriminator judges HR and all SR batches
            judged = tf.concat([hr, *fakes], 0)
            logits = [tf.cast(d(judged, training=True), tf.float32) for d in self.discriminators]
            chunks = [tf.reshape(z, [self.num_pairs + 1, batch]) for z in logits]
            own_fake = [c[k + 1] for k, c in enumerate(chunks)]
            probs = [tf.stop_gradient(tf.sigmoid(c / w.temperature)) for c in chunks]

        terms = []
        for k, c in enumerate(chunks):
            real_loss = losses.adversarial_loss(c[0][:, None], is_real=True)
            fake_loss = losses.adversarial_loss(own_fake[k][:, None], is_real=False)
            t = {"d_adversarial": real_loss + fake_loss,
                 "d_real_prob": tf.sigmoid(c[0]), "d_fake_prob": tf.sigmoid(own_fake[k])}
            t["d_total"] = t["d_adversarial"]
            if w.mode != INDEPENDENT:
                targets = distill.TARGETS[w.mode](probs, k)
                kl = tf.add_n([losses.bernoulli_kl(p[..., None], c[..., None], w.temperature)
                               for p in targets]) / len(targets)
                t["d_distill_kl"] = tf.reduce_mean(kl, axis=0)  # per example, over all inputs
                t["d_total"] += w.distill_weight * w.temperature ** 2 * t["d_distill_kl"]
            terms.append(t)
        return terms

    # ----------------------------------------------------------------- steps

    def train_step(self, data):
        lr, hr = data
        with tf.GradientTape() as tape:
            fakes, g_terms = self.generator_terms(lr, hr)
            g_total = tf.add_n([opt.scale_loss(self._average(t["g_total"]))
                                for opt, t in zip(self.gen_optimizers, g_terms)])
        self._apply(tape, g_total, self.generators, self.gen_optimizers)

        fakes = [tf.stop_gradient(f) for f in fakes]
        with tf.GradientTape() as tape:
            d_terms = self.discriminator_terms(hr, fakes)
            d_total = tf.add_n([opt.scale_loss(self._average(t["d_total"]))
                                for opt, t in zip(self.disc_optimizers, d_terms)])
        self._apply(tape, d_total, self.discriminators, self.disc_optimizers)
        return self._logs(g_terms, d_terms)

    def pretrain_step(self, data, pairs=None):
        """SRResNet pre-training of the generators of ``pairs`` (default all) by pixel MSE only."""
        lr, hr = data
        pairs = range(self.num_pairs) if pairs is None else pairs
        generators = [self.generators[k] for k in pairs]
        with tf.GradientTape() as tape:
            terms = {k: {"pretrain_mse": losses.pixel_loss(
                hr, tf.cast(self.generators[k](lr, training=True), tf.float32))} for k in pairs}
            total = tf.add_n([self.pretrain_optimizers[k].scale_loss(self._average(t["pretrain_mse"]))
                              for k, t in terms.items()])
        self._apply(tape, total, generators, [self.pretrain_optimizers[k] for k in pairs])
        return self._logs(terms)

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

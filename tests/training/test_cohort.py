import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import xlogy

from keras_mdsrgan.config import LossConfig
from keras_mdsrgan.model.discriminators import build_srgan_discriminator
from keras_mdsrgan.model.generators import build_srresnet
from keras_mdsrgan.training.cohort import MutualSRGAN

PATCH, SCALE, BATCH = 16, 2, 4


def make_cohort(mode, num_pairs=2, seed=0, optimizer=keras.optimizers.Adam, **weights):
    keras.utils.set_random_seed(seed)
    gens = [build_srresnet(SCALE, 8, 1, name=f"g{k}") for k in range(num_pairs)]
    discs = [build_srgan_discriminator(PATCH, 4, 16, name=f"d{k}") for k in range(num_pairs)]
    cohort = MutualSRGAN(gens, discs, LossConfig(mode=mode, pixel_weight=1.0, perceptual_weight=0.0, **weights))
    cohort.compile([optimizer(1e-3) for _ in gens], [optimizer(1e-3) for _ in discs], [optimizer(1e-3) for _ in gens])
    return cohort


def batch(seed=0):
    rng = np.random.default_rng(seed)
    hr = rng.random((BATCH, PATCH, PATCH, 3), dtype=np.float32)
    lr = hr.reshape(BATCH, PATCH // 2, 2, PATCH // 2, 2, 3).mean(axis=(2, 4))
    return tf.constant(lr), tf.constant(hr)


def copy_pair(cohort, k, single):
    single.generators[0].set_weights(cohort.generators[k].get_weights())
    single.discriminators[0].set_weights(cohort.discriminators[k].get_weights())


def test_independent_cohort_equals_separate_srgans():
    cohort = make_cohort("independent")
    singles = [make_cohort("independent", num_pairs=1, seed=10 + k) for k in range(2)]
    for k, single in enumerate(singles):
        copy_pair(cohort, k, single)
    data = batch()
    cohort_logs = cohort.train_step(data)
    for k, single in enumerate(singles):
        single_logs = single.train_step(data)
        for net_a, net_b in (
            (cohort.generators[k], single.generators[0]),
            (cohort.discriminators[k], single.discriminators[0]),
        ):
            for a, b in zip(net_a.get_weights(), net_b.get_weights()):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert float(cohort_logs[f"pair{k}/d_total"]) == pytest.approx(float(single_logs["pair0/d_total"]), rel=1e-5)
    assert "pair0/d_distill_kl" not in cohort_logs


def _nonzero(grads):
    return [g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads]


@pytest.mark.parametrize("mode", ["ml", "ml_star", "labels"])
def test_discriminator_loss_reaches_only_its_own_weights(mode):
    cohort = make_cohort(mode, num_pairs=3)
    lr, hr = batch()
    fakes = [tf.stop_gradient(g(lr)) for g in cohort.generators]
    everything = [v for net in cohort.generators + cohort.discriminators for v in net.trainable_variables]
    for k in range(3):
        with tf.GradientTape() as tape:
            terms = cohort.discriminator_terms(cohort.judge(hr, fakes))
            loss = tf.reduce_mean(terms[k]["d_total"])
        grads = tape.gradient(loss, everything)
        own = set(id(v) for v in cohort.discriminators[k].trainable_variables)
        for v, reached in zip(everything, _nonzero(grads)):
            if id(v) not in own:
                assert not reached, f"D{k}'s loss reached {v.path}"
        assert any(r for v, r in zip(everything, _nonzero(grads)) if id(v) in own)


def test_generator_adversarial_gradient_only_through_own_discriminator():
    cohort = make_cohort("ml", num_pairs=3)
    lr, hr = batch()
    nets = cohort.generators + cohort.discriminators
    for k in range(3):
        with tf.GradientTape() as tape:
            fakes = [g(lr, training=True) for g in cohort.generators]
            terms = cohort.generator_terms(hr, fakes, cohort.judge(hr, fakes))
            loss = tf.reduce_mean(terms[k]["g_adversarial"])
        grads = tape.gradient(loss, [net.trainable_variables for net in nets])
        reached = [any(_nonzero(g)) for g in grads]
        expected = [j == k for j in range(3)] + [j == k for j in range(3)]  # G_k and D_k only
        assert reached == expected


def test_distillation_shrinks_disagreement():
    data = batch(3)

    def kl_after(mode, steps=45):
        cohort = make_cohort(mode, distill_weight=20.0)
        step = tf.function(cohort.train_step)
        for _ in range(steps):
            step(data)
        lr, hr = data
        fakes = [g(lr) for g in cohort.generators]
        p, q = (tf.sigmoid(tf.concat([d(x, training=True) for x in (hr, *fakes)], 0)) for d in cohort.discriminators)
        kl = p * tf.math.log(p / q) + (1 - p) * tf.math.log((1 - p) / (1 - q))
        return float(tf.reduce_mean(kl))

    independent, mutual = kl_after("independent"), kl_after("ml")
    assert mutual < 0.5 * independent, (mutual, independent)


def test_pretrain_step_trains_only_requested_pairs():
    cohort = make_cohort("ml")
    before = [g.get_weights() for g in cohort.generators]
    logs = cohort.pretrain_step(batch(), pairs=[0])
    assert set(logs) == {"pair0/pretrain_mse"}
    changed = [
        any(not np.array_equal(a, b) for a, b in zip(w, g.get_weights())) for w, g in zip(before, cohort.generators)
    ]
    assert changed == [True, False]


def test_logs_report_every_term_per_pair():
    logs = make_cohort("ml").train_step(batch())
    for k in range(2):
        for term in (
            "g_pixel",
            "g_adversarial",
            "g_total",
            "d_adversarial",
            "d_distill_kl",
            "d_total",
            "d_real_prob",
            "d_fake_prob",
        ):
            assert np.isfinite(float(logs[f"pair{k}/{term}"]))
    assert 0 < float(logs["pair0/d_real_prob"]) < 1


def bernoulli_kl(p, q):
    return xlogy(p, p / q) + xlogy(1 - p, (1 - p) / (1 - q))


def numpy_targets(mode, probs, k):
    """The targets of D_k's KL term, written out per mode."""
    if mode == "ml":
        return [p for j, p in enumerate(probs) if j != k]
    if mode == "ml_star":
        return [np.mean(probs, axis=0)]
    real = np.zeros_like(probs[k])
    real[: len(probs[k]) // (len(probs) + 1)] = 1.0  # the HR rows come first
    return [real]


@pytest.mark.parametrize("mode", ["ml", "ml_star", "labels"])
def test_distillation_term_is_lambda_t2_mean_kl(mode):
    """d_total - d_adversarial = λ·T²·mean over HR and every SR batch of KL(target ‖ P_k),
    computed here in NumPy from the discriminators' logits on each source."""
    weight, temperature = 0.7, 2.0
    cohort = make_cohort(mode, num_pairs=3, distill_weight=weight, temperature=temperature)
    lr, hr = batch(5)
    fakes = [g(lr) for g in cohort.generators]
    sources = [hr, *fakes]  # each judged as a batch of its own
    probs = [
        1
        / (
            1
            + np.exp(
                -np.concatenate([d(x, training=True).numpy()[:, 0] for x in sources]).astype(np.float64) / temperature
            )
        )
        for d in cohort.discriminators
    ]
    terms = cohort.discriminator_terms(cohort.judge(hr, fakes))
    for k in range(3):
        targets = numpy_targets(mode, probs, k)
        expected = weight * temperature**2 * np.mean([bernoulli_kl(t, probs[k]) for t in targets])
        got = float(tf.reduce_mean(terms[k]["d_total"] - terms[k]["d_adversarial"]))
        assert got == pytest.approx(expected, rel=1e-4)
        assert expected > 1e-4  # the check is not vacuous


def reference_step(cohort, lr, hr):
    """The step's definition written plainly, in two phases: generators, then discriminators on
    the SR batches from before the generators' update; every source judged as its own batch."""
    w = cohort.weights_cfg
    with tf.GradientTape() as tape:
        fakes = [g(lr, training=True) for g in cohort.generators]
        g_losses = [
            w.pixel_weight * tf.reduce_mean((hr - sr) ** 2)
            + w.adversarial_weight * tf.reduce_mean(tf.nn.softplus(-d(sr, training=True)))
            for g, d, sr in zip(cohort.generators, cohort.discriminators, fakes)
        ]
        g_total = tf.add_n(g_losses)
    variables = [g.trainable_variables for g in cohort.generators]
    for opt, grads, v in zip(cohort.gen_optimizers, tape.gradient(g_total, variables), variables):
        opt.apply_gradients(zip(grads, v))
    with tf.GradientTape() as tape:
        logits = [[d(x, training=True)[:, 0] for x in (hr, *fakes)] for d in cohort.discriminators]
        d_losses = []
        for k, z in enumerate(logits):
            loss = tf.reduce_mean(tf.nn.softplus(-z[0])) + tf.reduce_mean(tf.nn.softplus(z[k + 1]))
            if w.mode == "ml":
                p = [tf.stop_gradient(tf.sigmoid(tf.concat(zj, 0) / w.temperature)) for zj in logits]
                q = tf.sigmoid(tf.concat(z, 0) / w.temperature)
                kl = [
                    pj * tf.math.log(pj / q) + (1 - pj) * tf.math.log((1 - pj) / (1 - q))
                    for j, pj in enumerate(p)
                    if j != k
                ]
                loss += w.distill_weight * w.temperature**2 * tf.reduce_mean(tf.add_n(kl) / len(kl))
            d_losses.append(loss)
        d_total = tf.add_n(d_losses)
    variables = [d.trainable_variables for d in cohort.discriminators]
    for opt, grads, v in zip(cohort.disc_optimizers, tape.gradient(d_total, variables), variables):
        opt.apply_gradients(zip(grads, v))
    return g_losses, d_losses


def trainable(cohort):
    return [v.numpy() for net in cohort.generators + cohort.discriminators for v in net.trainable_variables]


@pytest.mark.parametrize("mode", ["independent", "ml"])
def test_fused_step_equals_its_two_phase_definition(mode):
    """One forward of D_k on SR_k for both tapes and shared VGG work change no loss and no update."""
    # SGD: Adam would turn float noise in exactly-zero gradients (a conv bias before batch norm)
    # into whole steps.
    fused, reference = (make_cohort(mode, seed=4, optimizer=keras.optimizers.SGD) for _ in range(2))
    lr, hr = batch(2)
    for _ in range(2):
        logs = fused.train_step((lr, hr))
        g_losses, d_losses = reference_step(reference, lr, hr)
    for k in range(2):
        assert float(logs[f"pair{k}/g_total"]) == pytest.approx(float(g_losses[k]), rel=1e-5)
        assert float(logs[f"pair{k}/d_total"]) == pytest.approx(float(d_losses[k]), rel=1e-5)
    for a, b in zip(trainable(fused), trainable(reference), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_mutual_mode_without_distillation_trains_as_independent():
    """The λ = 0 control: each source is its own batch, so ml differs from independent only
    through the KL term (batch norm sees the same HR and SR_k batches in both modes)."""
    control, independent = make_cohort("ml", seed=6, distill_weight=0.0), make_cohort("independent", seed=6)
    data = batch(4)
    for _ in range(3):
        control.train_step(data)
        independent.train_step(data)
    for a, b in zip(trainable(control), trainable(independent), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    distilled = make_cohort("ml", seed=6)
    for _ in range(3):
        distilled.train_step(data)
    assert any(not np.allclose(a, b) for a, b in zip(trainable(distilled), trainable(independent)))

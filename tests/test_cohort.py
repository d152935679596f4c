import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mdsrgan.cohort import MutualSRGAN
from keras_mdsrgan.config import LossConfig
from keras_mdsrgan.discriminators import build_srgan_discriminator
from keras_mdsrgan.generators import build_srresnet

PATCH, SCALE, BATCH = 16, 2, 4


def make_cohort(mode, num_pairs=2, seed=0, **weights):
    keras.utils.set_random_seed(seed)
    gens = [build_srresnet(SCALE, 8, 1, name=f"g{k}") for k in range(num_pairs)]
    discs = [build_srgan_discriminator(PATCH, 4, 16, name=f"d{k}") for k in range(num_pairs)]
    cohort = MutualSRGAN(gens, discs, LossConfig(mode=mode, pixel_weight=1.0, perceptual_weight=0.0, **weights))
    cohort.compile([keras.optimizers.Adam(1e-3) for _ in gens],
                   [keras.optimizers.Adam(1e-3) for _ in discs],
                   [keras.optimizers.Adam(1e-3) for _ in gens])
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
        for net_a, net_b in ((cohort.generators[k], single.generators[0]),
                             (cohort.discriminators[k], single.discriminators[0])):
            for a, b in zip(net_a.get_weights(), net_b.get_weights()):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert float(cohort_logs[f"pair{k}/d_total"]) == pytest.approx(float(single_logs["pair0/d_total"]), rel=1e-5)
    assert "pair0/d_distill_kl" not in cohort_logs


def _nonzero(grads):
    return [g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads]


@pytest.mark.parametrize("mode", ["ml", "ml_star"])
def test_discriminator_loss_reaches_only_its_own_weights(mode):
    cohort = make_cohort(mode, num_pairs=3)
    lr, hr = batch()
    fakes = [tf.stop_gradient(g(lr)) for g in cohort.generators]
    everything = [v for net in cohort.generators + cohort.discriminators for v in net.trainable_variables]
    for k in range(3):
        with tf.GradientTape() as tape:
            terms = cohort.discriminator_terms(hr, fakes)
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
            _, terms = cohort.generator_terms(lr, hr)
            loss = tf.reduce_mean(terms[k]["g_adversarial"])
        grads = tape.gradient(loss, [net.trainable_variables for net in nets])
        reached = [any(_nonzero(g)) for g in grads]
        expected = [j == k for j in range(3)] + [j == k for j in range(3)]  # G_k and D_k only
        assert reached == expected


def test_distillation_shrinks_disagreement():
    data = batch(3)

    def kl_after(mode, steps=15):
        cohort = make_cohort(mode, distill_weight=20.0)
        for _ in range(steps):
            cohort.train_step(data)
        lr, hr = data
        fakes = [g(lr) for g in cohort.generators]
        logits = [d(tf.concat([hr, *fakes], 0), training=True) for d in cohort.discriminators]
        p, q = (tf.sigmoid(z) for z in logits)
        kl = p * tf.math.log(p / q) + (1 - p) * tf.math.log((1 - p) / (1 - q))
        return float(tf.reduce_mean(kl))

    independent, mutual = kl_after("independent"), kl_after("ml")
    assert mutual < 0.6 * independent, (mutual, independent)


def test_pretrain_step_trains_only_requested_pairs():
    cohort = make_cohort("ml")
    before = [g.get_weights() for g in cohort.generators]
    logs = cohort.pretrain_step(batch(), pairs=[0])
    assert set(logs) == {"pair0/pretrain_mse"}
    changed = [any(not np.array_equal(a, b) for a, b in zip(w, g.get_weights()))
               for w, g in zip(before, cohort.generators)]
    assert changed == [True, False]


def test_logs_report_every_term_per_pair():
    logs = make_cohort("ml").train_step(batch())
    for k in range(2):
        for term in ("g_pixel", "g_adversarial", "g_total", "d_adversarial", "d_distill_kl",
                     "d_total", "d_real_prob", "d_fake_prob"):
            assert np.isfinite(float(logs[f"pair{k}/{term}"]))
    assert 0 < float(logs["pair0/d_real_prob"]) < 1


def bernoulli_kl(p, q):
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


@pytest.mark.parametrize("mode", ["ml", "ml_star"])
def test_distillation_term_is_lambda_t2_mean_kl(mode):
    """d_total - d_adversarial = λ·T²·mean over the joint batch of KL(target ‖ P_k), computed
    here in NumPy from the discriminators' logits on [HR, SR_0, .., SR_K-1]."""
    weight, temperature = 0.7, 2.0
    cohort = make_cohort(mode, num_pairs=3, distill_weight=weight, temperature=temperature)
    lr, hr = batch(5)
    fakes = [g(lr) for g in cohort.generators]
    judged = tf.concat([hr, *fakes], 0)
    probs = [1 / (1 + np.exp(-d(judged, training=True).numpy()[:, 0].astype(np.float64) / temperature))
             for d in cohort.discriminators]
    terms = cohort.discriminator_terms(hr, fakes)
    for k in range(3):
        targets = [p for j, p in enumerate(probs) if j != k] if mode == "ml" else [np.mean(probs, axis=0)]
        expected = weight * temperature ** 2 * np.mean([bernoulli_kl(t, probs[k]) for t in targets])
        got = float(tf.reduce_mean(terms[k]["d_total"] - terms[k]["d_adversarial"]))
        assert got == pytest.approx(expected, rel=1e-4)
        assert expected > 1e-4  # the check is not vacuous

"""Discriminator scores (from logits) against their definitions on probabilities and on cases whose answer is known."""

import numpy as np
import pytest
from scipy import special

from keras_mdsrgan.quality import discriminator_metrics as dm


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    probs = np.clip(0.3 * labels + 0.7 * rng.random(500), 0, 1)
    probs = np.clip(probs, 1e-6, 1 - 1e-6)
    probs[:20] = np.round(probs[:20], 1)  # ties
    return special.logit(probs), probs, labels


def test_against_the_definitions_on_probabilities(scored):
    """References computed another way: ROC-AUC over every (real, generated) pair, ties counted
    half (the scores rank logits); Brier, log loss and accuracy on the probabilities."""
    logits, probs, labels = scored
    real, generated = probs[labels == 1][:, None], probs[labels == 0][None, :]
    pairwise_auc = np.mean((real > generated) + 0.5 * (real == generated))
    assert dm.roc_auc(logits, labels) == pytest.approx(pairwise_auc, abs=1e-12)
    assert dm.brier(logits, labels) == pytest.approx(np.mean((probs - labels) ** 2), abs=1e-12)
    log_loss = -np.mean(np.log(np.where(labels == 1, probs, 1 - probs)))  # the probability of the true label
    assert dm.nll(logits, labels) == pytest.approx(log_loss, abs=1e-9)
    assert dm.accuracy(logits, labels) == pytest.approx(np.mean((probs > 0.5) == labels))


def test_nll_of_a_confident_mistake_grows_with_its_logit():
    """From logits, a wrong call at logit 40 or 100 costs 40 or 100 nats; through a float32
    P(real), both would be exactly 1.0 and cost the same."""
    assert dm.nll([40.0], [0]) == pytest.approx(40.0)
    assert dm.nll([-100.0], [1]) == pytest.approx(100.0)
    assert dm.nll([40.0, -100.0], [1, 0]) == pytest.approx(0.0, abs=1e-15)
    assert dm.roc_auc([40.0, 41.0], [0, 1]) == 1.0  # saturated probabilities would tie at 0.5


def test_ece_by_hand():
    # Bins of width 1/15: 0.05 and 0.06 share bin 0 (mean p 0.055, 1 real of 2); 0.95 and
    # 1 - 1e-12 share bin 14 (both real, mean p 0.975).
    probs, labels = np.array([0.05, 0.06, 0.95, 1.0 - 1e-12]), [0, 1, 1, 1]
    expected = (2 * abs(0.055 - 0.5) + 2 * abs(0.975 - 1.0)) / 4
    assert dm.ece(special.logit(probs), labels) == pytest.approx(expected)


def test_perfect_and_constant_discriminators():
    labels = np.array([1] * 10 + [0] * 30)
    perfect = dm.summary(np.where(labels == 1, 50.0, -50.0), labels)
    assert perfect == pytest.approx({"acc": 1.0, "auc": 1.0, "nll": 0.0, "ece": 0.0, "brier": 0.0}, abs=1e-9)
    constant = dm.summary(np.full(40, special.logit(0.25)), labels)  # the base rate: calibrated but blind
    assert constant["auc"] == 0.5 and constant["acc"] == 0.75 and constant["ece"] == pytest.approx(0.0)
    assert constant["brier"] == pytest.approx(0.25 * 0.75)
    assert constant["nll"] == pytest.approx(-(0.25 * np.log(0.25) + 0.75 * np.log(0.75)))
    inverted = dm.summary(np.where(labels == 1, -50.0, 50.0), labels)
    assert inverted["auc"] == 0.0 and inverted["acc"] == 0.0 and inverted["ece"] == 1.0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="both real and generated"):
        dm.roc_auc([0.2, 0.4], [1, 1])
    with pytest.raises(ValueError, match="0 \\(generated\\) or 1"):
        dm.brier([0.2], [2])
    with pytest.raises(ValueError, match="as many labels"):
        dm.nll([0.2, 0.3], [1])
    with pytest.raises(ValueError, match="NaN"):
        dm.accuracy([np.nan], [1])

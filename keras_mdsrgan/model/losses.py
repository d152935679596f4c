"""Loss terms as pure functions returning one value per example (shape [batch]).

Per-example values let the training step average over the *global* batch under
tf.distribute (``tf.nn.compute_average_loss``).
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from keras_mdsrgan.errors import ConfigError, UserError
from keras_mdsrgan.model import SRGAN_VGG_RESCALE

VGG19_NOTOP_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"


class MissingWeightsError(UserError, FileNotFoundError):
    """Pretrained weights that are not on this machine; the message says what to fetch."""


def pixel_loss(hr: tf.Tensor, sr: tf.Tensor) -> tf.Tensor:
    """Mean squared error per example."""
    return tf.reduce_mean(tf.math.squared_difference(hr, sr), axis=[1, 2, 3])


def adversarial_loss(logits: tf.Tensor, is_real: bool) -> tf.Tensor:
    """Binary cross-entropy of one logit per example against the label real/fake."""
    labels = tf.ones_like(logits) if is_real else tf.zeros_like(logits)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits), axis=-1)


def bernoulli_kl(target_prob: tf.Tensor, student_logits: tf.Tensor, temperature: float) -> tf.Tensor:
    """KL(P ‖ Q) per example for Bernoulli P = ``target_prob`` and Q = sigmoid(logits / T).

    Computed from logits (log-sigmoid) so it stays finite when Q saturates.
    """
    p = target_prob
    z = student_logits / temperature
    neg_entropy = tf.math.xlogy(p, p) + tf.math.xlogy(1.0 - p, 1.0 - p)
    cross = p * tf.math.log_sigmoid(z) + (1.0 - p) * tf.math.log_sigmoid(-z)
    return tf.reduce_mean(neg_entropy - cross, axis=-1)


def resolve_vgg19_weights(weights: str | None) -> str | None:
    """The VGG19 weights file to load, ``None`` for random init, or a one-line error.

    ``weights``: a file path, ``"random"`` (tests only), or ``None`` for Keras' cache.
    """
    if weights == "random":
        return None
    path = weights or os.path.join(os.path.expanduser("~"), ".keras", "models", VGG19_NOTOP_FILE)
    if not os.path.isfile(path):
        raise MissingWeightsError(
            f"VGG19 ImageNet weights not found at {path}: download {VGG19_NOTOP_FILE} "
            "(keras-applications release v0.1) and put it there or pass --vgg_weights=PATH"
        )
    return path


def build_vgg_features(layer: str = "block5_conv4", weights: str | None = None) -> keras.Model:
    """A frozen VGG19 truncated at ``layer`` (after its ReLU; SRGAN's φ5,4 by default)."""
    path = resolve_vgg19_weights(weights)
    vgg = keras.applications.VGG19(include_top=False, weights=path, input_shape=(None, None, 3))
    try:
        output = vgg.get_layer(layer).output
    except ValueError:
        names = ", ".join(v.name for v in vgg.layers if "conv" in v.name)
        raise ConfigError(f"unknown VGG19 layer {layer!r}; choose one of {names}") from None
    features = keras.Model(vgg.input, output, name=f"vgg19_{layer}")
    features.trainable = False
    return features


def vgg_embedding(features: keras.Model, images: tf.Tensor, rescale: float = SRGAN_VGG_RESCALE) -> tf.Tensor:
    """VGG feature maps of images in [0, 1] (Caffe preprocessing, as the weights expect) × ``rescale``."""
    caffe = keras.applications.vgg19.preprocess_input(images * 255.0)
    return tf.cast(features(caffe, training=False), tf.float32) * rescale


def perceptual_loss(hr_features: tf.Tensor, sr_features: tf.Tensor) -> tf.Tensor:
    """MSE per example between the ``vgg_embedding`` of HR and of SR."""
    return tf.reduce_mean(tf.math.squared_difference(hr_features, sr_features), axis=[1, 2, 3])

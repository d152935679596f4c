"""A plain Keras 3 SRGAN step written the way krasserm/super-resolution's ``SrganTrainer`` works:
the yardstick ``train_step.py`` measures our step against.

One generator forward, the discriminator on HR and on SR once each (separate batches), two
tapes, SRGAN's VGG54 content loss (features / 12.75) + 1e-3 BCE adversarial loss, BCE for the
discriminator. Same networks and sizes as ours, so only the way the step is written differs.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_mdsrgan.model import losses
from keras_mdsrgan.model.discriminators import build_srgan_discriminator
from keras_mdsrgan.model.generators import build_srresnet

_bce = keras.losses.BinaryCrossentropy(from_logits=True)


class ReferenceSrganStep:
    """One SRGAN pair trained krasserm-style; call ``step(lr, hr)``."""

    def __init__(
        self,
        scale: int,
        blocks: int,
        filters: int,
        disc_filters: int,
        disc_dense: int,
        hr_patch: int,
        vgg_layer: str = "block5_conv4",
    ):
        self.generator = build_srresnet(scale, filters, blocks, name="reference_generator")
        self.discriminator = build_srgan_discriminator(
            hr_patch, disc_filters, disc_dense, name="reference_discriminator"
        )
        self.vgg = losses.build_vgg_features(vgg_layer, "random")
        self.gen_optimizer = keras.optimizers.Adam(1e-4)
        self.disc_optimizer = keras.optimizers.Adam(1e-4)

    def _content_loss(self, hr, sr):
        sr_features = self.vgg(keras.applications.vgg19.preprocess_input(sr * 255.0)) / 12.75
        hr_features = self.vgg(keras.applications.vgg19.preprocess_input(hr * 255.0)) / 12.75
        return tf.reduce_mean(tf.square(hr_features - sr_features))

    @tf.function
    def step(self, lr, hr):
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            sr = self.generator(lr, training=True)
            hr_output = self.discriminator(hr, training=True)
            sr_output = self.discriminator(sr, training=True)
            perceptual_loss = self._content_loss(hr, sr) + 1e-3 * _bce(tf.ones_like(sr_output), sr_output)
            disc_loss = _bce(tf.ones_like(hr_output), hr_output) + _bce(tf.zeros_like(sr_output), sr_output)
        gen_grads = gen_tape.gradient(perceptual_loss, self.generator.trainable_variables)
        disc_grads = disc_tape.gradient(disc_loss, self.discriminator.trainable_variables)
        self.gen_optimizer.apply_gradients(zip(gen_grads, self.generator.trainable_variables))
        self.disc_optimizer.apply_gradients(zip(disc_grads, self.discriminator.trainable_variables))
        return perceptual_loss

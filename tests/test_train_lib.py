import keras
import numpy as np
import tensorflow as tf

from keras_mdsrgan import train_lib
from keras_mdsrgan.config import DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig


def test_mixed_precision_cohort_trains_with_loss_scaling():
    config = RunConfig(data=DataConfig(scale=2, hr_patch=16, batch_size=2),
                       model=ModelConfig(gen_filters=4, gen_blocks=1, disc_filters=4, disc_dense=8),
                       loss=LossConfig(mode="ml", pixel_weight=1.0, perceptual_weight=1.0,
                                       perceptual_layer="block1_conv2", vgg_weights="random"),
                       train=TrainConfig(mixed_precision=True))
    cohort = train_lib.build_cohort(config)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    assert cohort.generators[0].get_layer("head_conv").compute_dtype == "float16"
    assert all(isinstance(o, keras.optimizers.LossScaleOptimizer)
               for o in cohort.gen_optimizers + cohort.disc_optimizers + cohort.pretrain_optimizers)
    lr, hr = tf.random.uniform([2, 8, 8, 3], seed=1), tf.random.uniform([2, 16, 16, 3], seed=2)
    before = cohort.generators[1].get_weights()
    logs = cohort.train_step((lr, hr))
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.array_equal(a, b) for a, b in zip(before, cohort.generators[1].get_weights()))


def test_chief_detection_without_a_cluster():
    assert train_lib.is_chief(tf.distribute.get_strategy())

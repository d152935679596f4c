import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import run_python
from keras_mdsrgan.model.discriminators import build_srgan_discriminator
from keras_mdsrgan.model.generators import build_srresnet, upsampling_factors


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
@pytest.mark.parametrize("size", [(7, 11), (16, 16)])
def test_generator_output_shape_any_size(scale, size):
    g = build_srresnet(scale, filters=8, num_blocks=1)
    out = g(tf.zeros([2, *size, 3]))
    assert out.shape == (2, size[0] * scale, size[1] * scale, 3)


def test_generator_structure_follows_srresnet():
    g = build_srresnet(4, filters=64, num_blocks=16)
    assert g.get_layer("head_conv").kernel.shape == (9, 9, 3, 64)
    assert g.get_layer("tail_conv").kernel.shape == (9, 9, 64, 3)
    assert len([layer for layer in g.layers if layer.name.endswith("_add")]) == 16
    assert upsampling_factors(4) == [2, 2] and upsampling_factors(3) == [3]
    assert 1.5e6 < g.count_params() < 1.6e6  # SRResNet: 1.55 M parameters
    with pytest.raises(ValueError, match="unsupported scale"):
        upsampling_factors(5)


def test_generator_without_batch_norm_has_none_and_the_same_convolutions():
    with_bn, without = build_srresnet(4, 8, 3), build_srresnet(4, 8, 3, batchnorm=False)
    assert not [layer for layer in without.layers if "BatchNormalization" in type(layer).__name__]
    assert len([layer for layer in with_bn.layers if "BatchNormalization" in type(layer).__name__]) == 7
    convs = [(layer.name, layer.kernel.shape) for layer in without.layers if hasattr(layer, "kernel")]
    assert convs == [(layer.name, layer.kernel.shape) for layer in with_bn.layers if hasattr(layer, "kernel")]


def test_msrresnet_options_start_near_the_bilinear_image():
    x = np.random.default_rng(0).random((1, 10, 12, 3), dtype=np.float32)
    bilinear = tf.image.resize(x, (20, 24), "bilinear").numpy()  # half-pixel centres, as BasicSR
    small = build_srresnet(2, 8, 2, batchnorm=False, bilinear_skip=True, init_scale=1e-3)
    assert np.abs(small(x).numpy() - bilinear).max() < 1e-3
    # Without the skip the same network starts near zero; with Glorot weights far from both.
    assert np.abs(build_srresnet(2, 8, 2, batchnorm=False, init_scale=1e-3)(x).numpy()).max() < 1e-3
    assert np.abs(build_srresnet(2, 8, 2, batchnorm=False, bilinear_skip=True)(x).numpy() - bilinear).max() > 0.05
    # He-normal times the scale: std sqrt(2 / fan_in) * scale.
    g = build_srresnet(2, 64, 1, batchnorm=False, init_scale=0.1)
    kernel = g.get_layer("block0_conv1").kernel.numpy()
    assert kernel.std() == pytest.approx(np.sqrt(2 / (9 * 64)) * 0.1, rel=0.05)
    assert not np.array_equal(kernel, g.get_layer("block0_conv2").kernel.numpy())  # each layer its own draw


def test_bilinear_skip_tiles_and_reloads_exactly(tmp_path):
    from keras_mdsrgan.model import inference

    g = build_srresnet(2, 8, 2, batchnorm=False, bilinear_skip=True, init_scale=0.5)
    path = str(tmp_path / "g.keras")
    g.save(path)
    model = inference.load(path)
    lr = (np.random.default_rng(1).random((40, 52, 3)) * 255).astype(np.uint8)
    whole = inference.upscale(model, lr)
    assert np.array_equal(whole, inference.to_uint8(g(lr[None] / 255.0)[0].numpy()))
    assert np.abs(inference.upscale(model, lr, tile=16).astype(int) - whole).max() <= 1


def test_discriminator_is_srgan_shaped():
    d = build_srgan_discriminator(96)
    convs = [layer for layer in d.layers if layer.name.startswith("conv")]
    assert [c.filters for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.strides[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert d.get_layer("dense").units == 1024
    assert d(tf.zeros([3, 96, 96, 3])).shape == (3, 1)


def test_keras_round_trip_in_fresh_process(tmp_path):
    g = build_srresnet(4, filters=8, num_blocks=2)
    x = np.random.default_rng(0).random((1, 9, 13, 3), dtype=np.float32)
    path = str(tmp_path / "g.keras")
    g.save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", g(x).numpy())
    # The reloading process imports only keras and the custom layer module, no training code.
    script = (
        "import numpy as np, keras, keras_mdsrgan.model.layers, sys;"
        f"m = keras.saving.load_model({path!r});"
        f"y = m(np.load({str(tmp_path / 'x.npy')!r})).numpy();"
        f"sys.exit(0 if np.array_equal(y, np.load({str(tmp_path / 'y.npy')!r})) else 3)"
    )
    result = run_python("-c", script, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_registry_builds_and_describes_by_name():
    from keras_mdsrgan.config import ModelConfig
    from keras_mdsrgan.errors import ConfigError
    from keras_mdsrgan.model import registry

    config = ModelConfig(gen_filters=8, gen_blocks=3, gen_batchnorm=False, disc_filters=4, disc_dense=8)
    generator = registry.build_generator("srresnet", config, 2, "g")
    assert generator.name == "g" and generator.get_layer("head_conv").filters == 8
    assert registry.describe_generator(generator).startswith("SRResNet: 3 residual block(s) × 8 channels")
    assert registry.build_discriminator("srgan", config, 16, "d")(tf.zeros([1, 16, 16, 3])).shape == (1, 1)
    plain = tf.keras.Sequential([tf.keras.layers.Input((4, 4, 3)), tf.keras.layers.Conv2D(3, 3, padding="same")])
    assert registry.describe_generator(plain) == "Keras model of 1 layers"
    with pytest.raises(ConfigError, match="unknown generator architecture 'edsr'; choose from srresnet"):
        registry.build_generator("edsr", config, 2, "g")

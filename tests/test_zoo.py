"""The zoo's mechanism, on a small generator packed into a temporary zoo folder."""

import numpy as np
import pytest

from keras_mdsrgan import build, inference, zoo
from keras_mdsrgan.generators import build_srresnet


@pytest.fixture
def small_zoo(tmp_path, monkeypatch):
    import keras

    keras.utils.set_random_seed(3)
    generator = build_srresnet(2, filters=8, num_blocks=2, batchnorm=False)
    folder = tmp_path / "zoo"
    size = zoo.pack(generator, str(folder / "tiny.npz"))
    monkeypatch.setattr(zoo, "FOLDER", str(folder))
    return generator, size


def test_a_packed_model_loads_by_name_in_half_precision(small_zoo):
    generator, size = small_zoo
    assert zoo.names() == ["tiny"]
    loaded = zoo.load("zoo:tiny")
    assert [w.dtype for w in loaded.get_weights()] == [np.float32] * len(generator.get_weights())
    for a, b in zip(loaded.get_weights(), generator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b.astype(np.float16).astype(np.float32))
    assert size < len(generator.to_json()) + 2.2 * sum(w.size for w in generator.get_weights())  # 2 bytes a weight
    lr = np.random.default_rng(0).random((1, 9, 7, 3), dtype=np.float32)
    np.testing.assert_allclose(loaded(lr).numpy(), generator(lr).numpy(), atol=2e-3)


def test_zoo_names_work_where_model_paths_do(small_zoo, monkeypatch):
    upscaler = inference.load("zoo:tiny")
    assert upscaler.float_call(np.zeros((1, 5, 6, 3), np.float32)).shape == (1, 10, 12, 3)
    target = build_srresnet(2, filters=8, num_blocks=2, batchnorm=False)
    build.copy_generator_weights("zoo:tiny", [target])
    assert build.generator_path("zoo:tiny").endswith("tiny.npz")
    with pytest.raises(zoo.ZooError, match=r"^zoo:x9: no such model in the zoo \(zoo:tiny\)$"):
        inference.load("zoo:x9")


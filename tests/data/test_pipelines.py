import logging
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from keras_mdsrgan.data import imageio, pipelines, resize


def _photo(h=64, w=80, seed=0):
    """A smooth, textured RGB test image."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 127 + 60 * np.sin(x / 5.0 + seed)[..., None] * np.cos(y / 7.0)[..., None]
    return np.clip(base + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture
def odd_folder(tmp_path):
    """Every odd input kind of issue 4, plus two good photos."""
    rgb = _photo()
    Image.fromarray(rgb).save(tmp_path / "good_rgb.png")
    Image.fromarray(_photo(seed=1)).save(tmp_path / "good.jpg", quality=95)
    gray16 = rgb[..., 0].astype(np.uint16) * 257
    Image.fromarray(gray16).save(tmp_path / "gray16.png")
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE).save(tmp_path / "palette.png")
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])).save(tmp_path / "rgba.png")
    Image.fromarray(rgb[..., 1]).save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([rgb[..., 1], rgb[..., 2]]), "LA").save(tmp_path / "gray_alpha.png")
    Image.fromarray(_photo(10, 10)).save(tmp_path / "tiny.png")
    full = (tmp_path / "good_rgb.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(full[: len(full) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image at all")
    return tmp_path


def test_conversion_rule(odd_folder):
    rgb = imageio.read_image(str(odd_folder / "good_rgb.png"))
    assert rgb.shape == (64, 80, 3) and rgb.dtype == np.uint8
    gray16 = imageio.read_image(str(odd_folder / "gray16.png"))
    np.testing.assert_array_equal(gray16[..., 0], rgb[..., 0])  # 16-bit keeps the high byte
    assert np.array_equal(gray16[..., 0], gray16[..., 2])
    np.testing.assert_array_equal(imageio.read_image(str(odd_folder / "rgba.png")), rgb)  # alpha dropped
    gray = imageio.read_image(str(odd_folder / "gray.png"))
    assert np.array_equal(gray[..., 0], rgb[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    assert np.array_equal(imageio.read_image(str(odd_folder / "gray_alpha.png"))[..., 0], rgb[..., 1])
    palette = imageio.read_image(str(odd_folder / "palette.png"))
    assert palette.shape == rgb.shape and np.abs(palette.astype(int) - rgb).mean() < 12


@pytest.mark.parametrize(
    "name,reason", [("truncated.png", "cannot decode"), ("empty.png", "empty file"), ("text.png", "cannot decode")]
)
def test_bad_files_raise_naming_the_file(odd_folder, name, reason):
    with pytest.raises(imageio.ImageError, match=reason) as err:
        imageio.read_image(str(odd_folder / name))
    assert name in str(err.value)


def test_bad_files_stop_by_default_and_are_listed(odd_folder):
    pairs = pipelines.resolve_pairs(str(odd_folder))
    with pytest.raises(pipelines.DataError) as err:
        pipelines.build_store(pairs, scale=2, hr_patch=32)
    message = str(err.value)
    assert "3 unusable" in message
    for name in ("truncated.png", "empty.png", "text.png"):
        assert name in message


def test_skip_bad_files_keeps_going_and_counts(odd_folder, caplog):
    pairs = pipelines.resolve_pairs(str(odd_folder))
    with caplog.at_level(logging.WARNING):
        store = pipelines.build_store(pairs, scale=2, hr_patch=32, skip_bad_files=True)
    assert len(store) == 7  # 11 files - 3 undecodable - 1 smaller than the patch
    assert "skipped 3 unusable" in caplog.text and "smaller than the 32x32" in caplog.text
    batch = next(iter(pipelines.training_dataset(store, 16, 8, seed=0)))
    assert batch[1].shape == (8, 32, 32, 3)


def test_everything_bad_is_a_clear_error(tmp_path):
    Image.fromarray(_photo(10, 10)).save(tmp_path / "tiny.png")
    with pytest.raises(pipelines.DataError, match="none of the 1 training image"):
        pipelines.build_store(pipelines.resolve_pairs(str(tmp_path)), scale=4, hr_patch=96)


def test_sixteen_bit_grey_alpha_png_is_grey(tmp_path):
    """Pillow opens a 16-bit grey + alpha PNG as RGBA; it is still scored on its grey levels."""
    grey = _photo(12, 10)[..., 0].astype(">u2") * 257
    samples = np.dstack([grey, np.full_like(grey, 65535)])
    rows = b"".join(b"\x00" + row.tobytes() for row in samples)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    path = tmp_path / "grey_alpha16.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 10, 12, 16, 4, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    image, alpha = imageio.read_image_and_alpha(str(path))
    np.testing.assert_array_equal(image[..., 2], grey // 256)
    assert (alpha == 255).all() and imageio.is_grey_file(str(path))


def test_folders_find_every_listed_format(tmp_path):
    """TGA, JPEG 2000, AVIF and PNM files in a folder are images too; other files, hidden ones and
    folders are not."""
    photo = _photo(24, 32)
    for ext, options in ((".tga", {}), (".jp2", {}), (".AVIF", {"quality": 100}), (".pnm", {})):
        Image.fromarray(photo).save(tmp_path / f"img{ext}", **options)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "._img.tga").write_bytes(b"\x00\x05\x16\x07AppleDouble")  # macOS metadata
    (tmp_path / "album.png").mkdir()
    found = imageio.list_images(str(tmp_path))
    assert [os.path.basename(p) for p in found] == ["img.AVIF", "img.jp2", "img.pnm", "img.tga"]
    for path in found:
        decoded = imageio.read_image(path)
        assert decoded.shape == photo.shape and np.abs(decoded.astype(int) - photo).mean() < 8


def test_a_file_that_cannot_be_read_is_not_called_undecodable(tmp_path):
    with pytest.raises(imageio.ImageError, match=r"gone.png: cannot read \(No such file or directory\)$"):
        imageio.read_image(str(tmp_path / "gone.png"))
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(imageio.ImageError, match=r"dir.png: cannot read \(Is a directory\)$"):
        imageio.read_image(str(tmp_path / "dir.png"))


def test_unreadable_folder_is_a_one_line_error(tmp_path, monkeypatch):
    def refuse(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "listdir", refuse)
    with pytest.raises(imageio.ImageError, match="cannot list the folder \\(Permission denied\\)"):
        pipelines.resolve_pairs(str(tmp_path))


def test_evaluation_images_too_small_to_score_are_named(tmp_path):
    """Below SSIM's 11x11 window inside the border the scores would be NaN: refused, naming the file."""
    from keras_mdsrgan.quality import metrics

    check = metrics.require_scorable
    Image.fromarray(_photo(23, 40)).save(tmp_path / "a.png")  # modcropped to 20 >= 11 + 2 x 4: scored
    assert [hr.shape for _, _, hr, _ in pipelines.evaluation_images(str(tmp_path), 4, check=check)] == [(20, 40, 3)]
    Image.fromarray(_photo(18, 40)).save(tmp_path / "b.png")  # modcropped to 16 < 19
    with pytest.raises(imageio.ImageError, match=r"b.png: 40x16 HR pixels are too few to score at x4: .* need 19"):
        list(pipelines.evaluation_images(str(tmp_path), 4, check=check))
    assert len(list(pipelines.evaluation_images(str(tmp_path), 4))) == 2  # no check: any size


def _store(tmp_path, n=3, scale=2):
    for i in range(n):
        Image.fromarray(_photo(60 + 4 * i, 72, seed=i)).save(tmp_path / f"img{i}.png")
    return pipelines.build_store(pipelines.resolve_pairs(str(tmp_path)), scale=scale, hr_patch=32)


def test_same_seed_same_batches_and_resume_position(tmp_path):
    store = _store(tmp_path)
    first = [b[1].numpy() for b in pipelines.training_dataset(store, 16, 4, seed=7).take(3)]
    again = [b[1].numpy() for b in pipelines.training_dataset(store, 16, 4, seed=7).take(3)]
    other = [b[1].numpy() for b in pipelines.training_dataset(store, 16, 4, seed=8).take(3)]
    resumed = next(iter(pipelines.training_dataset(store, 16, 4, seed=7, start_step=2)))[1].numpy()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not any(np.array_equal(a, b) for a, b in zip(first, other))
    np.testing.assert_array_equal(resumed, first[2])


def test_aligned_crops_line_up(tmp_path):
    """The LR patch is the MATLAB bicubic of its HR patch (up to ±1: a 90° rotation swaps the
    order of MATLAB's two rounded passes), and its bicubic upscale lines up with the HR patch
    better than any 1-pixel shift."""
    store = _store(tmp_path, n=1, scale=2)
    lr, hr = next(iter(pipelines.training_dataset(store, 16, 6, seed=3)))
    lr = np.round(lr.numpy() * 255).astype(np.uint8)
    hr = np.round(hr.numpy() * 255).astype(np.uint8)
    for lr_patch, hr_patch in zip(lr, hr):
        own = resize.degrade(hr_patch, 2).numpy().astype(int)[3:-3, 3:-3]
        assert np.abs(own - lr_patch[3:-3, 3:-3]).max() <= 1
        up = resize.imresize(lr_patch, 2.0).numpy().astype(float)[4:-4, 4:-4]
        errors = {
            (dy, dx): np.mean((up - np.roll(hr_patch, (dy, dx), (0, 1)).astype(float)[4:-4, 4:-4]) ** 2)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        }
        assert min(errors, key=errors.get) == (0, 0)


def test_hr_lr_folder_pairs(tmp_path):
    hr_dir, lr_dir = tmp_path / "HR", tmp_path / "LR"
    hr_dir.mkdir(), lr_dir.mkdir()
    hr = _photo(48, 64)
    Image.fromarray(hr).save(hr_dir / "a.png")
    Image.fromarray(resize.degrade(hr, 4).numpy()).save(lr_dir / "a.png")
    ((name, lr_img, hr_img, grey),) = pipelines.evaluation_images(f"{hr_dir}:{lr_dir}", 4)
    assert name == "a" and lr_img.shape == (12, 16, 3) and hr_img.shape == (48, 64, 3) and not grey
    Image.fromarray(hr[:, :60]).save(hr_dir / "b.png")
    Image.fromarray(resize.degrade(hr, 4).numpy()).save(lr_dir / "b.png")
    with pytest.raises(pipelines.DataError, match="does not match HR"):
        list(pipelines.evaluation_images(f"{hr_dir}:{lr_dir}", 4))
    Image.fromarray(hr).save(hr_dir / "c.png")
    with pytest.raises(pipelines.DataError, match="no LR file .* for HR image"):
        pipelines.resolve_pairs(f"{hr_dir}:{lr_dir}")


def test_evaluation_modcrops_hr(tmp_path):
    Image.fromarray(_photo(50, 66)).save(tmp_path / "odd.png")
    Image.fromarray(_photo(21, 30)[..., 0]).save(tmp_path / "small.png")  # single-channel
    (_, lr, hr, grey), (_, _, _, small_grey) = pipelines.evaluation_images(str(tmp_path), 4)
    assert hr.shape == (48, 64, 3) and lr.shape == (12, 16, 3) and not grey and small_grey
    names = [
        (n.numpy().decode(), lr.shape, hr.shape, bool(g))
        for n, lr, hr, g in pipelines.evaluation_dataset(str(tmp_path), 4)
    ]
    assert names == [("odd", (12, 16, 3), (48, 64, 3), False), ("small", (5, 7, 3), (20, 28, 3), True)]


def test_disk_cache_is_used(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    store = _store(folder)
    cached = pipelines.build_store(pipelines.resolve_pairs(str(folder)), 2, 32, cache_dir=str(tmp_path / "cache"))
    assert len(os.listdir(tmp_path / "cache")) == 6
    assert isinstance(cached.hrs[0], np.memmap)
    for a, b in zip(store.hrs + store.lrs, cached.hrs + cached.lrs):
        np.testing.assert_array_equal(a, b)


def test_missing_div2k_archives_say_what_to_place(tmp_path):
    with pytest.raises(pipelines.DataError) as err:
        pipelines._check_div2k_archives("div2k/bicubic_x4", str(tmp_path))
    message = str(err.value)
    for archive in ("DIV2K_train_HR.zip", "DIV2K_valid_HR.zip", "DIV2K_train_LR_bicubic_X4.zip"):
        assert archive in message
    assert str(tmp_path) in message


def test_sample_split_ships_with_dependencies():
    pairs = pipelines.resolve_pairs("sample:train")
    assert len(pairs) >= 4 and all(os.path.isfile(p.hr_path) for p in pairs)
    with pytest.raises(pipelines.DataError, match="unknown sample split"):
        pipelines.resolve_pairs("sample:nope")


def test_tfds_source_with_a_locally_built_dataset(tmp_path):
    """The tfds: path end to end, on a tiny LR/HR dataset this test builds (DIV2K itself
    needs archives that cannot be fetched here)."""
    import tensorflow_datasets as tfds

    class TinySuperResolution(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict({"lr": tfds.features.Image(), "hr": tfds.features.Image()}),
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            for i in range(3):
                hr = _photo(64, 48, seed=i)
                yield i, {"hr": hr, "lr": resize.degrade(hr, 4).numpy()}

    store = pipelines.build_training_store(["tfds:tiny_super_resolution"], 4, 32, tfds_data_dir=str(tmp_path))
    assert len(store) == 3 and store.hrs[0].shape == (64, 48, 3) and store.lrs[0].shape == (16, 12, 3)
    lr, hr = next(iter(pipelines.training_dataset(store, 8, 2, seed=0)))
    assert lr.shape == (2, 8, 8, 3) and hr.shape == (2, 32, 32, 3)
    with pytest.raises(pipelines.DataError, match="not at scale 2"):
        pipelines.build_training_store(["tfds:tiny_super_resolution"], 2, 32, tfds_data_dir=str(tmp_path))


class _FakeBuilder:
    """A prepared TFDS builder of three x2 LR/HR pairs, the last smaller than a 32px HR patch;
    counts how often the split is read."""

    def __init__(self):
        hrs = [_photo(64, 48, seed=0), _photo(40, 56, seed=1), _photo(20, 24, seed=2)]
        self.examples = [(resize.degrade(hr, 2).numpy(), hr) for hr in hrs]
        self.reads = 0

    def is_prepared(self):
        return True

    def as_dataset(self, split):
        import tensorflow as tf

        assert split == "train"
        self.reads += 1
        image = tf.TensorSpec([None, None, 3], tf.uint8)
        return tf.data.Dataset.from_generator(
            lambda: ({"lr": lr, "hr": hr} for lr, hr in self.examples), output_signature={"lr": image, "hr": image}
        )


@pytest.fixture
def fake_tfds(monkeypatch):
    import tensorflow_datasets as tfds

    builder = _FakeBuilder()
    monkeypatch.setattr(tfds, "builder", lambda name, data_dir=None: builder)
    return builder


def test_tfds_images_smaller_than_a_patch_are_skipped_with_a_warning(fake_tfds, caplog):
    with caplog.at_level(logging.WARNING):
        store = pipelines.build_training_store(["tfds:fake/bicubic_x2"], 2, 32)
    assert len(store) == 2
    assert "skipped 1 image(s) smaller than the 32x32 HR patch, e.g. fake/bicubic_x2 train #2" in caplog.text


def test_tfds_cache_is_memory_mapped_and_read_again_without_decoding(fake_tfds, tmp_path):
    cache = str(tmp_path / "cache")
    store = pipelines.build_training_store(["tfds:fake/bicubic_x2"], 2, 32, cache_dir=cache)
    assert fake_tfds.reads == 1 and len(store) == 2
    assert all(isinstance(a, np.memmap) for a in store.lrs + store.hrs)
    for (lr, hr), cached_lr, cached_hr in zip(fake_tfds.examples, store.lrs, store.hrs):
        np.testing.assert_array_equal(cached_lr, lr)
        np.testing.assert_array_equal(cached_hr, hr)

    again = pipelines.build_training_store(["tfds:fake/bicubic_x2"], 2, 16, cache_dir=cache)  # smaller patch
    assert fake_tfds.reads == 1  # the cache holds every example, whatever the patch size
    assert len(again) == 3 and all(isinstance(a, np.memmap) for a in again.lrs + again.hrs)
    np.testing.assert_array_equal(again.hrs[2], fake_tfds.examples[2][1])


def test_tfds_cache_without_its_index_is_decoded_again(fake_tfds, tmp_path):
    """An interrupted first run (no index yet) is not mistaken for a complete cache."""
    cache = tmp_path / "cache"
    pipelines.build_training_store(["tfds:fake/bicubic_x2"], 2, 32, cache_dir=str(cache))
    (index,) = cache.glob(f"tfds/*/{pipelines.TFDS_CACHE_INDEX}")
    index.unlink()
    store = pipelines.build_training_store(["tfds:fake/bicubic_x2"], 2, 32, cache_dir=str(cache))
    assert fake_tfds.reads == 2 and len(store) == 2 and index.exists()


def test_image_lists_select_files_relative_to_the_list(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "images").mkdir()
    for name in ("a", "b", "c"):
        imageio.write_image(str(tmp_path / "images" / f"{name}.png"), rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    (tmp_path / "lists").mkdir()
    listing = tmp_path / "lists" / "val.txt"
    listing.write_text("# held out\n../images/c.png\n\n../images/a.png\n")
    pairs = pipelines.resolve_pairs(str(listing))
    assert [p.name for p in pairs] == ["c", "a"]
    assert pairs[0].hr_path == os.path.normpath(str(tmp_path / "images" / "c.png"))
    assert [name for name, *_ in pipelines.evaluation_images(str(listing), 2)] == ["c", "a"]
    listing.write_text("../images/c.png\n../images/missing.png\n")
    with pytest.raises(pipelines.DataError, match=r"1 listed image\(s\) not found, e.g. .*missing.png"):
        pipelines.resolve_pairs(str(listing))
    listing.write_text("# nothing\n")
    with pytest.raises(pipelines.DataError, match="names no images"):
        pipelines.resolve_pairs(str(listing))
    with pytest.raises(pipelines.DataError, match="cannot read the image list"):
        pipelines.resolve_pairs(str(tmp_path / "absent.txt"))

"""Train a cohort of mutually distilled SRGANs.

  python -m keras_mdsrgan.train --flagfile=flags/x4.cfg [--run_dir=DIR] [--mode=ml]

Running the same command again resumes from the newest checkpoint; --restart starts over.
absl's --verbosity sets the console: -1 hides the progress bar and info messages.
"""

from __future__ import annotations


from absl import app, flags

from keras_mdsrgan import cli, imageio, interrupts
from keras_mdsrgan.config import MODES, SCALES, STRATEGIES, DataConfig, LossConfig, ModelConfig, RunConfig, TrainConfig

FLAGS = flags.FLAGS
# Every default comes from the config dataclasses: one source for the library and the CLI.
D, M, L, T = DataConfig(), ModelConfig(), LossConfig(), TrainConfig()

# Run
flags.DEFINE_string("run_dir", "runs/default", "Folder for checkpoints, logs, models and results.")
flags.DEFINE_bool("restart", False, "Delete the run's checkpoints and start from step 0.")
flags.DEFINE_enum("strategy", T.strategy, list(STRATEGIES),
                  "tf.distribute strategy; auto = mirrored over several GPUs, else one device; "
                  "multi_worker reads the cluster from TF_CONFIG.")
flags.DEFINE_bool("jit_compile", T.jit_compile, "XLA-compile the per-replica step; unset: on only where "
                  "TensorFlow runs its Eigen CPU kernels (AVX2-only CPUs), one replica, no GPU.")
flags.DEFINE_bool("mixed_precision", T.mixed_precision, "mixed_float16 compute with dynamic loss scaling per optimizer (GPUs).")
# Data
flags.DEFINE_list("train", list(D.train),
                  "Training sets: HR folders, HR_DIR:LR_DIR pairs, tfds:div2k/bicubic_x4, sample:train.")
flags.DEFINE_list("val", list(D.val), "Validation sets, each NAME=SPEC or SPEC (same forms as --train, no tfds); "
                  "reported under NAME, else under the folder's name with parents added until names differ.")
flags.DEFINE_integer("val_max_images", D.val_max_images, "Validation images used per set.", lower_bound=1)
flags.DEFINE_string("ma_model", D.ma_model, "The Ma et al. (2017) model (model.mat of the sr-metric release or pyiqa's "
                    "NRQM_model.mat): validation and the final evaluation then report PI = ((10 - Ma) + NIQE) / 2.")
flags.DEFINE_enum("scale", str(D.scale), [str(s) for s in SCALES], "Upscaling factor.")
flags.DEFINE_integer("hr_patch", D.hr_patch, "HR training patch side (LR patch = hr_patch / scale).", lower_bound=8)
flags.DEFINE_integer("batch_size", D.batch_size, "Global batch size (split across replicas).", lower_bound=1)
flags.DEFINE_bool("skip_bad_files", D.skip_bad_files, "Skip undecodable images with a warning instead of stopping.")
cli.define_max_image_pixels()
flags.DEFINE_string("cache_dir", D.cache_dir, "Cache decoded images as .npy here (memory-mapped); default in memory.")
flags.DEFINE_string("tfds_data_dir", D.tfds_data_dir, "TensorFlow Datasets data dir.")
flags.DEFINE_string("tfds_manual_dir", D.tfds_manual_dir, "Folder holding manually downloaded archives (DIV2K zips).")
flags.DEFINE_integer("data_seed", D.seed, "Seed of patch sampling and augmentation.")
# Model
flags.DEFINE_integer("num_pairs", M.num_pairs, "K, the number of generator-discriminator pairs.", lower_bound=1)
flags.DEFINE_integer("gen_filters", M.gen_filters, "Generator channels.", lower_bound=1)
flags.DEFINE_integer("gen_blocks", M.gen_blocks, "Generator residual blocks.", lower_bound=1)
flags.DEFINE_bool("gen_batchnorm", M.gen_batchnorm, "Batch norm in the generator's blocks (SRResNet); "
                  "off: the PSNR-oriented variant without it (EDSR, MSRResNet).")
flags.DEFINE_bool("gen_bilinear_skip", M.gen_bilinear_skip, "Add the bilinearly upsampled input to the generator's "
                  "output, so it learns the residual (MSRResNet).")
flags.DEFINE_float("gen_init_scale", M.gen_init_scale, "Generator conv weights He-normal times this (MSRResNet: "
                   "0.1, the untrained network starts near zero); unset: Keras' Glorot-uniform.")
flags.DEFINE_integer("disc_filters", M.disc_filters, "Discriminator channels of the first conv.", lower_bound=1)
flags.DEFINE_integer("disc_dense", M.disc_dense, "Discriminator dense units.", lower_bound=1)
flags.DEFINE_bool("sync_batchnorm", M.sync_batchnorm, "Batch-norm statistics over all replicas (several devices).")
# Losses
flags.DEFINE_enum("mode", L.mode, list(MODES), "independent (no distillation), ml (mutual learning), ml_star "
                  "(ensemble target) or labels (true labels as targets, a control); one per function in "
                  "distill.TARGETS.")
flags.DEFINE_float("pixel_weight", L.pixel_weight, "GAN-stage pixel MSE weight.", lower_bound=0)
flags.DEFINE_float("perceptual_weight", L.perceptual_weight, "VGG19 perceptual loss weight (0 disables VGG).", lower_bound=0)
flags.DEFINE_string("perceptual_layer", L.perceptual_layer, "VGG19 layer of the perceptual loss (φ5,4).")
flags.DEFINE_float("perceptual_rescale", L.perceptual_rescale, "Factor applied to VGG features (SRGAN: 1/12.75).")
flags.DEFINE_string("vgg_weights", L.vgg_weights,
                    "VGG19 notop .h5 file; default ~/.keras/models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5.")
flags.DEFINE_float("adversarial_weight", L.adversarial_weight, "Generator adversarial loss weight.", lower_bound=0)
flags.DEFINE_float("distill_weight", L.distill_weight, "λ, weight of the discriminators' distillation KL.", lower_bound=0)
flags.DEFINE_float("temperature", L.temperature, "T of the tempered sigmoid in the distillation term.", lower_bound=1e-6)
# Schedule
flags.DEFINE_integer("pretrain_steps", T.pretrain_steps, "SRResNet (MSE) pre-training steps.", lower_bound=0)
flags.DEFINE_integer("gan_steps", T.gan_steps, "GAN-stage steps.", lower_bound=0)
flags.DEFINE_bool("shared_pretrain", T.shared_pretrain, "Start every pair from pair 0's pre-trained generator.")
flags.DEFINE_string("init_generator", T.init_generator,
                    "A generator .keras file (e.g. generator_0.keras of a pre-training run), or "
                    "zoo:NAME (a shipped zoo model), or sample:srresnet_x4 (the quickstart's), every pair starts "
                    "from instead of "
                    "random weights; applied at step 0 only.")
flags.DEFINE_bool("init_partial", T.init_partial, "With --init_generator: copy only the layers whose names and "
                  "weight shapes match (e.g. an x2 body into an x4 generator, as EDSR does); the others start fresh.")
flags.DEFINE_float("pretrain_lr", T.pretrain_lr, "Adam learning rate of pre-training.", lower_bound=0)
flags.DEFINE_float("gen_lr", T.gen_lr, "Adam learning rate of the generators (GAN stage).", lower_bound=0)
flags.DEFINE_float("disc_lr", T.disc_lr, "Adam learning rate of the discriminators.", lower_bound=0)
flags.DEFINE_integer("lr_decay_steps", T.lr_decay_steps, "GAN steps after which GAN learning rates are multiplied "
                     "by --lr_decay_factor (0: never).", lower_bound=0)
flags.DEFINE_integer("pretrain_lr_decay_steps", T.pretrain_lr_decay_steps, "Pre-training steps after which "
                     "its learning rate is multiplied by --lr_decay_factor (0: never).", lower_bound=0)
flags.DEFINE_float("lr_decay_factor", T.lr_decay_factor, "Learning-rate factor after --lr_decay_steps.", lower_bound=0)
flags.DEFINE_float("adam_beta1", T.adam_beta1, "Adam β1.", lower_bound=0, upper_bound=1)
flags.DEFINE_integer("seed", T.seed, "Seed of weight initialisation.")
flags.DEFINE_integer("checkpoint_every", T.checkpoint_every, "Steps between checkpoints.", lower_bound=1)
flags.DEFINE_integer("keep_checkpoints", T.keep_checkpoints, "Checkpoints kept (at least 2: a damaged newest one "
                     "falls back to the one before).", lower_bound=2)
flags.DEFINE_integer("log_every", T.log_every, "Steps between TensorBoard scalar writes.", lower_bound=1)
flags.DEFINE_integer("val_every", T.val_every, "Steps between validation PSNR / image logs in TensorBoard.",
                     lower_bound=1)


def config_from_flags() -> RunConfig:
    """The flags as a RunConfig: the only place flags are read."""
    f = FLAGS
    return RunConfig(
        data=DataConfig(train=tuple(f.train), val=tuple(f.val), scale=int(f.scale),
                        hr_patch=f.hr_patch, batch_size=f.batch_size, skip_bad_files=f.skip_bad_files,
                        cache_dir=f.cache_dir, tfds_data_dir=f.tfds_data_dir,
                        tfds_manual_dir=f.tfds_manual_dir, val_max_images=f.val_max_images,
                        ma_model=f.ma_model or None, seed=f.data_seed),
        model=ModelConfig(num_pairs=f.num_pairs, gen_filters=f.gen_filters, gen_blocks=f.gen_blocks,
                          gen_batchnorm=f.gen_batchnorm, gen_bilinear_skip=f.gen_bilinear_skip,
                          gen_init_scale=f.gen_init_scale, disc_filters=f.disc_filters, disc_dense=f.disc_dense,
                          sync_batchnorm=f.sync_batchnorm),
        loss=LossConfig(mode=f.mode, pixel_weight=f.pixel_weight, perceptual_weight=f.perceptual_weight,
                        perceptual_layer=f.perceptual_layer, perceptual_rescale=f.perceptual_rescale,
                        vgg_weights=f.vgg_weights, adversarial_weight=f.adversarial_weight,
                        distill_weight=f.distill_weight, temperature=f.temperature),
        train=TrainConfig(pretrain_steps=f.pretrain_steps, gan_steps=f.gan_steps,
                          shared_pretrain=f.shared_pretrain, init_generator=f.init_generator or None,
                          init_partial=f.init_partial,
                          pretrain_lr=f.pretrain_lr,
                          gen_lr=f.gen_lr, disc_lr=f.disc_lr, lr_decay_steps=f.lr_decay_steps,
                          pretrain_lr_decay_steps=f.pretrain_lr_decay_steps,
                          lr_decay_factor=f.lr_decay_factor, adam_beta1=f.adam_beta1,
                          checkpoint_every=f.checkpoint_every, keep_checkpoints=f.keep_checkpoints,
                          log_every=f.log_every, val_every=f.val_every,
                          verbosity=int(f.verbosity >= 0), seed=f.seed, strategy=f.strategy,
                          jit_compile=f.jit_compile, mixed_precision=f.mixed_precision))


def flagfile_text() -> str:
    """This module's flags as a flagfile that reruns (resumes) the same run."""
    module = FLAGS.find_module_defining_flag("run_dir")
    lines = [flag.serialize() for flag in FLAGS.get_flags_for_module(module) if flag.name != "restart"]
    return "\n".join(line for line in lines if line) + "\n"  # unset optional flags serialize to ""


@interrupts.quiet_main(kept="the checkpoints are as they were; run the same command to resume")
def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    cli.quiet_tensorflow()
    from keras_mdsrgan import evaluation, train_lib  # imported late: TensorFlow is slow
    from keras_mdsrgan.errors import UserError

    config = config_from_flags()
    imageio.set_max_image_pixels(FLAGS.max_image_pixels)
    try:
        results = train_lib.run(config, FLAGS.run_dir, restart=FLAGS.restart, flagfile=flagfile_text())
    except UserError as err:  # bad settings, files or data; a bug keeps its traceback
        return cli.user_error(err)
    except OSError as err:  # a full disk or a read-only folder under a log, model or result file
        return cli.user_error(f"cannot write {err.filename or FLAGS.run_dir} ({err.strerror or err}); "
                              "the checkpoints are intact: free space or fix the folder, then run the same command")
    if results:  # only the chief evaluates
        print(f"\nrun directory: {FLAGS.run_dir}\n{evaluation.markdown_table(results)}")
    return 0


if __name__ == "__main__":
    app.run(main)

"""The networks and what they are trained with: layers, generators and discriminators (named in
``registry``), losses, the distillation targets, running a generator in any exported format
(``inference``) and the generators shipped with the package (``zoo``)."""

# SRGAN's scaling of VGG19 features (Ledig et al. 2017): the perceptual loss's default, and the
# config's. Here, not in ``losses``, so that reading a config does not import TensorFlow.
SRGAN_VGG_RESCALE = 1.0 / 12.75

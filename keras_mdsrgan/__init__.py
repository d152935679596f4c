"""keras_mdsrgan: SRGANs whose discriminators teach each other by mutual distillation.

Implements Lee & Park (2022), "Performance Improvement of SRGAN's Discriminator via
Mutual Distillation", in TensorFlow 2 / Keras 3.
"""

__version__ = "0.1.0"

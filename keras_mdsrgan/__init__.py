"""keras_mdsrgan: SRGANs whose discriminators teach each other by mutual distillation.

Implements Lee & Park (2022), "Performance Improvement of SRGAN's Discriminator via
Mutual Distillation", in TensorFlow 2 / Keras 3.
"""

import os

__version__ = "0.1.0"
RESOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resources")  # data shipped in the wheel

"""Train with keras_mdsrgan.train's flags (alone, or as one worker of TF_CONFIG's cluster) and save
every network's final weights, in order, to the .npz file named by the first argument.

  python tests/helpers/worker_weights.py OUT.npz --run_dir=... [train flags]

A non-chief worker writes no files of its own; this is how a test sees its weights.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from keras_mdsrgan import train  # noqa: E402
from keras_mdsrgan.training import build, loop  # noqa: E402

built = []
build_cohort = build.build_cohort
build.build_cohort = lambda config: built.append(build_cohort(config)) or built[-1]

out = sys.argv.pop(1)
flags.FLAGS(sys.argv)
loop.run(train.config_from_flags(), flags.FLAGS.run_dir)
cohort = built[0]
np.savez(out, *[w for net in cohort.generators + cohort.discriminators for w in net.get_weights()])

"""Images in: reading and writing files safely (``imageio``), MATLAB-compatible bicubic resizing
and degradation (``resize``), and the sources and ``tf.data`` pipelines of training and
evaluation pairs (``pipelines``)."""

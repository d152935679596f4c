"""``python -m keras_mdsrgan.zoo``: list the shipped generators or pack a run's best one
(``packing``). The zoo itself (loading ``zoo:NAME``) is ``keras_mdsrgan.model.zoo``."""

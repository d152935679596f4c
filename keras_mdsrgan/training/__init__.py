"""Training the K generator-discriminator pairs: the cohort and its ``train_step``
(``cohort``), building it from a RunConfig (``build``), the loop with its stages, checkpoints,
devices, validation, progress and final report (``loop`` and the modules it calls)."""

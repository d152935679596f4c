"""How good the results are: image metrics as pure functions (PSNR, SSIM, NIQE; Ma and PI in
``ma``), how well discriminators tell HR from SR (``discriminator_metrics``, ``probe``), and
scoring upscalers on datasets (``evaluation``)."""

"""The demo page (``mdsrgan-demo``): ``engine`` does the work, ``page`` is the Gradio page."""

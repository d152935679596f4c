"""Export trained generators for deployment: SavedModel for TF Serving, TFLite for devices.

``python -m export --help`` lists the options; ``exporter`` does the export (importable without
the command line), ``savedmodel`` and ``tflite`` hold the pieces.
"""

"""Export trained generators for deployment: SavedModel for TF Serving, TFLite for devices.

``python -m export --help`` lists the options; ``savedmodel`` and ``tflite`` hold the pieces.
"""

"""TFLite conversion of the float core SavedModel: fp32, fp16, dynamic-range int8, full int8."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf

from keras_mdsrgan.errors import UserError

FORMATS = ("tflite_fp32", "tflite_fp16", "tflite_int8_dynamic", "tflite_int8")
FLOAT_OPS = ["PRELU"]  # kept in float in tflite_int8


class ExportError(UserError, ValueError):
    """A conversion that did not give a usable model."""


def convert(core_dir: str, kind: str, representative: Callable[[], Iterable[list[np.ndarray]]] | None = None) -> bytes:
    """Convert the core SavedModel to ``kind`` (one of FORMATS), builtin ops only.

    ``tflite_int8`` quantizes weights and activations to int8, calibrated on
    ``representative`` LR patches, except PReLU: it stays float because the int8 PReLU kernel
    has no fast path on XNNPACK (measured: the all-int8 model is 2x slower, with the same
    output). Input and output stay float32, so the caller's pre/post-processing is unchanged.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(core_dir)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if kind == "tflite_fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif kind == "tflite_int8_dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif kind == "tflite_int8":
        if representative is None:
            raise ExportError("int8 quantization needs representative patches")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]  # float PReLU
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=representative,
            debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=FLOAT_OPS),
        )
        return debugger.get_nondebug_quantized_model()
    elif kind != "tflite_fp32":
        raise ExportError(f"unknown TFLite format {kind!r}; choose from {', '.join(FORMATS)}")
    return converter.convert()


def check_model(model: bytes, min_bytes: int) -> list[str]:
    """The model's op names; fails when it uses Flex (TF) ops or carries no weights.

    A TFLite file far smaller than its weights is the known failure of converting a plain
    ``tf.saved_model.save`` of a Keras 3 model: it runs and outputs NaN.
    """
    from ai_edge_litert.interpreter import Interpreter

    if len(model) < min_bytes:
        raise ExportError(
            f"converted model has {len(model)} bytes, less than its {min_bytes} bytes of weights: the weights were lost"
        )
    interpreter = Interpreter(model_content=model)
    ops = sorted({op["op_name"] for op in interpreter._get_ops_details()})
    flex = [op for op in ops if op.startswith("Flex")]
    if flex:
        raise ExportError(f"model needs TF (Flex) ops {flex}; stock mobile runtimes cannot run it")
    return ops

"""ONNX export of a generator with tf2onnx: float32 NCHW in [0, 1], any batch, height and width.

NCHW RGB in [0, 1] is the layout of the PyTorch-made super-resolution models that ONNX tools
(chaiNNer, OpenVINO, TensorRT) take; tf2onnx converts the channel order into the graph, which
then holds no Transpose at all. The converter, the ONNX package and onnxruntime (parity checks)
are optional: ``pip install 'keras-mdsrgan[onnx]'``.
"""

from __future__ import annotations

import importlib.util

from keras_mdsrgan.errors import UserError

OPSET = 17  # Conv, DepthToSpace, Add, Mul, Neg, Relu: TensorRT 8.6+, OpenVINO, onnxruntime all run it
INSTALL = "pip install 'keras-mdsrgan[onnx]'"
INPUT_DIMS = ("batch", 3, "height", "width")
OUTPUT_DIMS = ("batch", 3, "sr_height", "sr_width")


class OnnxUnavailable(UserError, ImportError):
    """An ONNX package is not installed; the message names the pip command."""


def require(purpose: str, modules: tuple[str, ...] = ("tf2onnx", "onnx", "onnxruntime")) -> None:
    """Fail in one line, naming the pip command, unless every module in ``modules`` is importable."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise OnnxUnavailable(f"{purpose} needs {', '.join(missing)}: {INSTALL}")


def convert(generator) -> bytes:
    """The serialized ONNX model of a Keras generator: ``lr`` [batch, 3, H, W] -> ``sr`` [batch, 3, sH, sW]."""
    import logging

    import tensorflow as tf
    import tf2onnx

    logging.getLogger("tf2onnx").setLevel(logging.WARNING)  # its INFO lines would bury ours

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="lr")])
    def core(lr):
        return {"sr": generator(lr, training=False)}

    proto, _ = tf2onnx.convert.from_function(
        core, input_signature=core.input_signature, opset=OPSET, inputs_as_nchw=["lr"], outputs_as_nchw=["sr"]
    )
    for value, dims in ((proto.graph.input[0], INPUT_DIMS), (proto.graph.output[0], OUTPUT_DIMS)):
        for dim, name in zip(value.type.tensor_type.shape.dim, dims):
            if isinstance(name, str):
                dim.dim_param = name  # tf2onnx's are unk__N; name them for the users' tools
    return proto.SerializeToString()


def check_model(model: bytes, min_bytes: int) -> list[str]:
    """The model's op types, after the ONNX checker; fails when it carries fewer bytes than its weights."""
    import onnx

    if len(model) < min_bytes:
        raise UserError(
            f"ONNX model has {len(model)} bytes, less than its {min_bytes} bytes of weights: the weights were lost"
        )
    proto = onnx.load_from_string(model)
    onnx.checker.check_model(proto)
    return sorted({node.op_type for node in proto.graph.node})


def versions() -> dict:
    """The converter and runtime versions, for the manifest."""
    import onnx
    import onnxruntime
    import tf2onnx

    return {
        "converter": f"tf2onnx {tf2onnx.__version__}",
        "onnx": onnx.__version__,
        "runtime": f"onnxruntime {onnxruntime.__version__}",
    }

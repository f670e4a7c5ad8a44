"""Weight-format variants of an exported fp32 graph (docs/model-package.md "Variants").

* ``fp16``: fp16 weights and activations inside, fp32 graph I/O (onnxruntime's float16 converter with
  ``keep_io_types``); ops listed in ``FP16_BLOCKED_OPS`` stay fp32 (normalisations accumulate in fp32, landscape §6).
* ``int8``: weight-only int8 for the wasm EP: MatMul → dynamic-quantised ``MatMulInteger`` (onnxruntime's
  ``quantize_dynamic``), embedding tables → int8 rows with a per-row scale (``Gather`` + ``Cast`` + ``Mul``,
  standard ops only); the caller may put a table on a coarser grid (``table_levels``, below).
* ``q4``: 4-bit ``MatMulNBits`` (block 32, symmetric) for WebGPU (onnxruntime's ``MatMulNBitsQuantizer``);
  embedding tables → ``GatherBlockQuantized`` 4-bit.
* ``fp16w`` (``make_fp16_weights``): float weights stored in fp16, each followed by a ``Cast`` to fp32, every
  activation fp32 — half the download, fp32 arithmetic (onnxruntime folds the casts into fp32 initializers when it
  creates the session), no ``shader-f16`` needed. For the flow on WebGPU without ``shader-f16`` and for HiFT, whose
  arithmetic must stay fp32 (spec §6.5).

Graph I/O never changes, so one TypeScript runner drives every variant.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

# Decomposed normalisations (RMSNorm as Pow→ReduceMean→Sqrt) overflow in fp16 (landscape §4: onnxruntime#31626);
# fused LayerNormalization kernels accumulate in fp32 and may run in fp16.
FP16_BLOCKED_OPS = ["ReduceMean", "Pow", "Sqrt", "Exp"]
# Embedding tables smaller than this stay fp32 in quantised variants: no download gain, only error.
MIN_QUANTIZED_TABLE = 1 << 16
# Weights with fewer values stay fp32 in fp16-weight graphs: a bias saves bytes, not a download.
MIN_FP16_WEIGHT = 256
FP16_MAX = 65504.0
# Symmetric int8: values in [-127, 127] × scale.
INT8_LEVELS = 127
Q4_BLOCK = 32
Q4_OPSET = 21
TWO_GB = 2**31 - 1


def load(path: str | Path) -> onnx.ModelProto:
    return onnx.load(str(path), load_external_data=True)


def save(model: onnx.ModelProto, path: str | Path) -> list[str]:
    """Saves deterministically; models over 2 GB get one external-data file ``<name>.data``. Returns its name(s)."""
    path = Path(path)
    if model.ByteSize() < TWO_GB:
        onnx.save(model, str(path))
        return []
    data_name = path.name + ".data"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data_name,
              size_threshold=1024, convert_attribute=False)
    return [data_name]


def _initializers(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    return {t.name: t for t in model.graph.initializer}


def _table_gathers(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Gather nodes that look up rows of a large 2-D float initializer (embedding tables)."""
    inits = _initializers(model)
    found = []
    for node in model.graph.node:
        if node.op_type != "Gather" or node.input[0] not in inits:
            continue
        t = inits[node.input[0]]
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        is_table = t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 2 and axis == 0
        if is_table and t.dims[0] * t.dims[1] >= MIN_QUANTIZED_TABLE:
            found.append(node)
    return found


def _replace_initializer(model: onnx.ModelProto, name: str, *new: onnx.TensorProto) -> None:
    keep = [t for t in model.graph.initializer if t.name != name]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep + list(new))


def quantize_tables_int8(model: onnx.ModelProto, levels: int = INT8_LEVELS) -> None:
    """Embedding Gather → int8 rows × per-row fp32 scale (symmetric, scale = max|row| / ``levels``).

    ``levels`` below 127 puts the rows on a coarser grid in the same int8 storage and graph: the file keeps its size,
    but its values carry fewer bits of information, which a compressed package (tools/export/compress.py) does not
    download.
    """
    if not 1 <= levels <= INT8_LEVELS:
        raise ValueError(f"levels must be in [1, {INT8_LEVELS}], got {levels}")
    inits = _initializers(model)
    for node in _table_gathers(model):
        name = node.input[0]
        table = numpy_helper.to_array(inits[name]).astype(np.float32)
        scale = np.abs(table).max(axis=1) / float(levels)
        scale[scale == 0] = 1.0
        q = np.clip(np.rint(table / scale[:, None]), -levels, levels).astype(np.int8)
        _replace_initializer(
            model,
            name,
            numpy_helper.from_array(q, name + "_int8"),
            numpy_helper.from_array(scale.astype(np.float32), name + "_scale"),
        )
        out = node.output[0]
        ids = node.input[1]
        nodes = [
            helper.make_node("Gather", [name + "_int8", ids], [out + "_q"], axis=0, name=node.name + "_q"),
            helper.make_node("Cast", [out + "_q"], [out + "_f"], to=onnx.TensorProto.FLOAT, name=node.name + "_cast"),
            helper.make_node("Gather", [name + "_scale", ids], [out + "_s"], axis=0, name=node.name + "_scale"),
            helper.make_node("Unsqueeze", [out + "_s", name + "_axes"], [out + "_s1"], name=node.name + "_unsq"),
            helper.make_node("Mul", [out + "_f", out + "_s1"], [out], name=node.name + "_mul"),
        ]
        model.graph.initializer.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), name + "_axes"))
        _splice(model, node, nodes)


def _splice(model: onnx.ModelProto, old: onnx.NodeProto, new: list[onnx.NodeProto]) -> None:
    nodes = list(model.graph.node)
    i = nodes.index(old)
    del model.graph.node[:]
    model.graph.node.extend(nodes[:i] + new + nodes[i + 1 :])


def make_fp16(src: onnx.ModelProto, blocked_ops: list[str] | None = None) -> onnx.ModelProto:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return convert_float_to_float16(
        src, keep_io_types=True, op_block_list=FP16_BLOCKED_OPS + list(blocked_ops or []), disable_shape_infer=True
    )


def make_fp16_weights(src: onnx.ModelProto) -> onnx.ModelProto:
    """Float initializers of at least ``MIN_FP16_WEIGHT`` values → fp16 storage + ``Cast`` to fp32 at graph entry.

    Only the stored values change (rounded to the nearest fp16, relative error ≤ 2^-11); names, I/O and every op
    stay, so the graph computes in fp32 exactly as before, on weights a rounding away. Refuses weights fp16 cannot
    hold (|w| > 65504) rather than store infinities.
    """
    model = onnx.ModelProto()
    model.CopyFrom(src)
    casts = []
    for tensor in model.graph.initializer:
        if tensor.data_type != onnx.TensorProto.FLOAT or math.prod(tensor.dims) < MIN_FP16_WEIGHT:
            continue
        values = numpy_helper.to_array(tensor)
        peak = float(np.abs(values).max())
        if peak > FP16_MAX:
            raise ValueError(f"{tensor.name}: |w| up to {peak:g} does not fit fp16 (max {FP16_MAX:g})")
        name = tensor.name
        tensor.CopyFrom(numpy_helper.from_array(values.astype(np.float16), name + "_fp16"))
        casts.append(helper.make_node("Cast", [name + "_fp16"], [name], to=onnx.TensorProto.FLOAT, name=name + "_cast"))
    nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(casts + nodes)
    return model


def make_int8(src: onnx.ModelProto, table_levels: int = INT8_LEVELS) -> onnx.ModelProto:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        onnx.save(src, str(a), save_as_external_data=src.ByteSize() >= TWO_GB)
        with _quiet("root"):
            quantize_dynamic(
                str(a), str(b), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"], per_channel=False,
                use_external_data_format=src.ByteSize() >= TWO_GB,
            )
        model = load(b)
    quantize_tables_int8(model, table_levels)
    return model


def make_q4(src: onnx.ModelProto) -> onnx.ModelProto:
    from onnx import version_converter
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    # GatherBlockQuantized stores int4 tables, a type that needs opset 21. The quantiser would only bump the opset
    # number (leaving e.g. ReduceMean's opset-17 attributes invalid), so convert the graph properly first.
    model = version_converter.convert_version(src, Q4_OPSET) if _default_opset(src) < Q4_OPSET else src
    ops = ("MatMul", "Gather")
    cfg = DefaultWeightOnlyQuantConfig(block_size=Q4_BLOCK, is_symmetric=True, op_types_to_quantize=ops)
    with _quiet("onnxruntime.quantization.matmul_nbits_quantizer"):
        q = MatMulNBitsQuantizer(
            model, block_size=Q4_BLOCK, is_symmetric=True, algo_config=cfg, op_types_to_quantize=ops
        )
        q.process()
    return q.model.model


def _default_opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """The quantisers log every node at INFO; keep the export output readable."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def gemm_to_matmul(model: onnx.ModelProto) -> None:
    """``Gemm(x, W, b)`` with constant W → ``MatMul`` + ``Add``, so the weight-only quantisers (which only look at
    MatMul) also cover linear layers the exporter emitted as Gemm (e.g. ``llm_decoder`` on a 2-D input)."""
    inits = _initializers(model)
    for node in list(model.graph.node):
        if node.op_type != "Gemm" or node.input[1] not in inits:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA", 0) != 0:
            continue
        weight = numpy_helper.to_array(inits[node.input[1]])
        if attrs.get("transB", 0):
            weight = weight.T
        name = node.input[1] + "_kn"
        model.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight), name))
        out = node.output[0]
        new = [helper.make_node("MatMul", [node.input[0], name], [out + "_mm" if len(node.input) > 2 else out],
                                name=node.name + "_matmul")]
        if len(node.input) > 2:
            new.append(helper.make_node("Add", [out + "_mm", node.input[2]], [out], name=node.name + "_bias"))
        _splice(model, node, new)
    used = {i for n in model.graph.node for i in n.input}
    keep = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def make_variant(src: onnx.ModelProto, dtype: str, table_levels: int = INT8_LEVELS) -> onnx.ModelProto:
    """``src`` (fp32) in ``dtype``; ``table_levels``: the grid of int8 embedding tables (quantize_tables_int8)."""
    if dtype == "fp32":
        return src
    if dtype in ("int8", "q4"):
        gemm_to_matmul(src)
    if dtype == "fp16":
        return make_fp16(src)
    if dtype == "fp16w":
        return make_fp16_weights(src)
    if dtype == "int8":
        return make_int8(src, table_levels)
    if dtype == "q4":
        return make_q4(src)
    raise ValueError(f"unknown dtype {dtype!r}; expected one of fp32, fp16, fp16w, int8, q4")

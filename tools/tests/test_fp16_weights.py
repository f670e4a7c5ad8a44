"""``variants.make_fp16_weights`` (dtype fp16w): fp16-stored weights, fp32 arithmetic; what fp16 cannot hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tools.export.variants import MIN_FP16_WEIGHT, make_fp16_weights

N = 32


def _matmul_graph(weight: np.ndarray, bias: np.ndarray) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, N])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model: onnx.ModelProto, path: Path, x: np.ndarray) -> np.ndarray:
    onnx.save(model, str(path))
    return np.asarray(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0])


def test_weights_are_stored_fp16_and_the_graph_computes_in_fp32(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((N, N)).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)  # fewer than MIN_FP16_WEIGHT values: stays fp32
    assert bias.size < MIN_FP16_WEIGHT <= weight.size
    src = _matmul_graph(weight, bias)
    compact = make_fp16_weights(src)
    inits = {t.name: t for t in compact.graph.initializer}
    assert inits["w_fp16"].data_type == TensorProto.FLOAT16 and inits["b"].data_type == TensorProto.FLOAT
    assert [n.op_type for n in compact.graph.node] == ["Cast", "MatMul", "Add"]
    assert src.graph.initializer[0].data_type == TensorProto.FLOAT  # the source graph is left alone

    x = rng.standard_normal((1, N)).astype(np.float32)
    got = _run(compact, tmp_path / "compact.onnx", x)
    # exactly fp32 arithmetic on the fp16-rounded weights
    rounded = weight.astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(got, _run(_matmul_graph(rounded, bias), tmp_path / "rounded.onnx", x), rtol=0, atol=0)
    # and a rounding away from the fp32 graph: each weight within 2^-11 relative, so |Δy| ≤ 2^-11 · Σ|x·w|
    bound = 2.0**-11 * (np.abs(x) @ np.abs(weight))
    assert np.all(np.abs(got - _run(src, tmp_path / "fp32.onnx", x)) <= bound + 1e-7)


def test_a_weight_fp16_cannot_hold_is_refused() -> None:
    weight = np.full((N, N), 1.0, np.float32)
    weight[3, 4] = 7.0e4
    with pytest.raises(ValueError, match=r"w: \|w\| up to 70000 does not fit fp16"):
        make_fp16_weights(_matmul_graph(weight, np.zeros(N, np.float32)))

"""``tools.export.shared_weights``: common initializers move to one data file, once; graphs compute the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from tools.export.shared_weights import MIN_SHARED_BYTES, share

N = 32  # a 32 × 32 float32 weight is 4 KiB: above MIN_SHARED_BYTES


def _graph(path: Path, weight_name: str, common: np.ndarray, own: np.ndarray, bias: np.ndarray) -> None:
    """y = (x @ common) @ own + bias, with ``common`` stored under a graph-specific name."""
    inits = [
        numpy_helper.from_array(common, weight_name),
        numpy_helper.from_array(own, "own"),
        numpy_helper.from_array(bias, "bias"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", weight_name], ["h"]),
        helper.make_node("MatMul", ["h", "own"], ["hy"]),
        helper.make_node("Add", ["hy", "bias"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, N])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N])],
        inits,
    )
    # IR 8: what this onnxruntime reads (the onnx package would write a newer one)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


def test_common_tensors_are_written_once_and_the_graphs_compute_the_same(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    common = rng.standard_normal((N, N)).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)  # common too, but below MIN_SHARED_BYTES: stays inline
    assert bias.nbytes < MIN_SHARED_BYTES <= common.nbytes
    paths = [tmp_path / "a.onnx", tmp_path / "b.onnx"]
    owns = [rng.standard_normal((N, N)).astype(np.float32) for _ in paths]
    for path, name, own in zip(paths, ["w_full", "w_incremental"], owns, strict=True):
        _graph(path, name, common, own, bias)
    x = rng.standard_normal((1, N)).astype(np.float32)
    before = [_run(p, x) for p in paths]

    data = tmp_path / "shared.data"
    assert share(paths, data) == {"shared.data"}

    assert data.stat().st_size == common.nbytes  # written once, at offset 0
    for path, name in zip(paths, ["w_full", "w_incremental"], strict=True):
        inits = {t.name: t for t in onnx.load(str(path), load_external_data=False).graph.initializer}
        assert inits[name].data_location == TensorProto.EXTERNAL
        entries = {e.key: e.value for e in inits[name].external_data}
        assert entries == {"location": "shared.data", "offset": "0", "length": str(common.nbytes)}
        assert all(inits[n].data_location != TensorProto.EXTERNAL for n in ("own", "bias"))
    for path, expected in zip(paths, before, strict=True):
        np.testing.assert_array_equal(_run(path, x), expected)


def test_nothing_in_common_leaves_the_graphs_alone(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    paths = [tmp_path / "a.onnx", tmp_path / "b.onnx"]
    for path in paths:
        mats = [rng.standard_normal((N, N)).astype(np.float32) for _ in range(2)]
        _graph(path, "w", mats[0], mats[1], rng.standard_normal(N).astype(np.float32))
    bytes_before = [p.read_bytes() for p in paths]
    assert share(paths, tmp_path / "shared.data") == set()
    assert not (tmp_path / "shared.data").exists()
    assert [p.read_bytes() for p in paths] == bytes_before

"""One external-data file for the weights several graphs hold byte for byte.

``flow_step`` and ``flow_step_incremental`` are the same estimator traced twice (full attention; chunk-causal with
caches), so their initializers are identical in every variant: the fp16 converter and both weight quantisers work
tensor by tensor and deterministically. Shipped as two self-contained files, a streaming client downloads the
estimator twice (full size: 285 MB more in fp32, 142 in fp16, 94 in int8, 70 in q4). :func:`share` moves every
initializer of at least ``MIN_SHARED_BYTES`` that two or more of the graphs hold into one data file, written once,
and points each graph's copy at it; everything else stays inline. The loader fetches and caches by path, so both
sessions read the one file: onnxruntime-web through the ``externalData`` session option, Python onnxruntime from the
directory of the ``.onnx``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx
from onnx.external_data_helper import set_external_data

from tools.export.graph import external_files

MIN_SHARED_BYTES = 1024
"""Smaller tensors (biases, scales) stay inline in each graph: sharing them saves less than their entries cost."""
ALIGNMENT = 64
"""Each tensor starts on a 64-byte boundary of the data file (what SIMD loads of a mapped file like)."""


def tensor_key(tensor: onnx.TensorProto) -> tuple[int, tuple[int, ...], bytes]:
    """What makes two initializers interchangeable: element type, shape and bytes (names differ between graphs)."""
    return tensor.data_type, tuple(tensor.dims), tensor.raw_data


def _shareable(tensor: onnx.TensorProto) -> bool:
    return tensor.HasField("raw_data") and len(tensor.raw_data) >= MIN_SHARED_BYTES


def share(graph_paths: list[Path], data_path: Path) -> set[str]:
    """Rewrites the graphs at ``graph_paths`` so that the initializers they have in common live in ``data_path``.

    The graphs may already use external data; it is loaded first, and the files no graph references any more are
    deleted. Returns the external-data file names (beside the graphs) the graphs now reference. Deterministic: graphs
    and initializers are visited in order, so the same inputs give the same bytes.
    """
    before = {name for path in graph_paths for name in external_files(path)}
    models = [onnx.load(str(path), load_external_data=True) for path in graph_paths]
    holders = Counter(key for model in models for key in {tensor_key(t) for t in model.graph.initializer})
    offsets: dict[tuple[int, tuple[int, ...], bytes], int] = {}
    chunks: list[bytes] = []
    size = 0
    for model in models:
        for tensor in model.graph.initializer:
            if not _shareable(tensor):
                continue
            key = tensor_key(tensor)
            if holders[key] < 2:
                continue
            if key not in offsets:
                padding = -size % ALIGNMENT
                chunks.append(bytes(padding))
                offsets[key] = size + padding
                chunks.append(tensor.raw_data)
                size += padding + len(tensor.raw_data)
            set_external_data(tensor, location=data_path.name, offset=offsets[key], length=len(tensor.raw_data))
            tensor.data_location = onnx.TensorProto.EXTERNAL
            tensor.ClearField("raw_data")
    if not offsets:
        return before  # nothing in common: the graphs stay as they were
    data_path.write_bytes(b"".join(chunks))
    for model, path in zip(models, graph_paths, strict=True):
        # the protobuf alone: onnx.save would try to write the external tensors again
        path.write_bytes(model.SerializeToString())
    after = {name for path in graph_paths for name in external_files(path)}
    for name in before - after:
        (data_path.parent / name).unlink(missing_ok=True)
    return after

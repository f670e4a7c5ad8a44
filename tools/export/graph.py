"""``export_graph``: the one way a graph of the model package is written, with every check applied to every graph.

Each exporter (``llm.py``, ``flow.py``, ``hift.py``) only builds an ``nn.Module`` adapter, example inputs and the
graph's I/O contract (docs/model-package.md); this module traces it and refuses a graph that is not what the
TypeScript runtime expects:

* one warning policy: a ``TracerWarning`` is an error (a shape or value the tracer would bake into the graph as a
  constant, wrong for every other length), the exporter's deprecation notices and the constant folder's "only steps=1"
  note (a reversed Slice left to the runtime, numerically the same) are expected and silenced;
* the contract's output shapes are declared (the tracer names some static axes after intermediate nodes), then the
  graph's inputs and outputs must equal the contract: names, order, element types, sizes and axis names;
* ``onnx.checker`` with ``full_check`` (strict shape inference);
* no forbidden op anywhere, nested sub-graphs included: no STFT/DFT (ORT-web's WebGPU EP lacks them) and no in-graph
  randomness (noise is an input, so every runtime reproduces the same audio);
* weights above ``external_data_threshold_bytes`` go to one ``<file name>.data`` beside the graph (protobuf's 2 GiB).

Exporter: torch's TorchScript tracer (``dynamo=False``): it honours ``opset_version=17`` and ``dynamic_axes`` names,
keeps every op in the default domain and re-exports byte-identically (torch marks it deprecated; the tests pin its
behaviour, so a torch that drops it fails loudly).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import onnx
import torch
from torch import Tensor, nn

OPSET = 17
FLOAT = onnx.TensorProto.FLOAT
INT64 = onnx.TensorProto.INT64
BOOL = onnx.TensorProto.BOOL

PROTOBUF_LIMIT_BYTES = 2**31
EXTERNAL_DATA_THRESHOLD_BYTES = PROTOBUF_LIMIT_BYTES - 64 * 2**20
"""Initializer bytes above which a graph is saved with external data (64 MiB head-room for the graph itself)."""

FORBIDDEN_OPS = frozenset({"STFT", "DFT", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike"})

Dim = int | str
"""A static size, or the name of a dynamic axis."""
TensorSpec = tuple[str, int, tuple[Dim, ...]]
"""(name, ONNX element type, shape) of one graph input or output."""
GraphIo = tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]
"""The contract of one graph: its inputs and outputs, in order."""


def export_graph(
    module: nn.Module,
    args: tuple[Tensor, ...],
    path: str | Path,
    io: GraphIo,
    external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES,
) -> Path:
    """Trace ``module`` on ``args`` into ``path`` as the graph ``io`` describes, or raise (see the module doc)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs, outputs = io
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings(), torch.no_grad():
        # documented public API, but torch's stubs do not re-export it from torch.jit
        warnings.simplefilter("error", torch.jit.TracerWarning)  # type: ignore[attr-defined]
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.onnx")
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        scratch_file = Path(scratch) / "graph.onnx"
        torch.onnx.export(
            module.eval(),
            args,
            str(scratch_file),
            input_names=[name for name, _, _ in inputs],
            output_names=[name for name, _, _ in outputs],
            dynamic_axes=dynamic_axes(inputs + outputs),
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        # loads any tracer-written external data, so the final file is laid out by save_graph alone
        model = onnx.load(scratch_file, load_external_data=True)
    declare_output_shapes(model, outputs)
    onnx.checker.check_model(model, full_check=True)
    assert_no_forbidden_ops(model, path.stem)
    assert_io_matches(model, io, path.stem)
    save_graph(model, path, external_data_threshold_bytes)
    return path


def dynamic_axes(specs: tuple[TensorSpec, ...]) -> dict[str, dict[int, str]]:
    """The exporter's ``dynamic_axes`` for the named axes of ``specs``."""
    return {name: {i: d for i, d in enumerate(shape) if isinstance(d, str)} for name, _, shape in specs if
            any(isinstance(d, str) for d in shape)}


def declare_output_shapes(model: onnx.ModelProto, outputs: tuple[TensorSpec, ...]) -> None:
    """Write the contract's output types and shapes into the graph.

    The tracer derives every axis of a traced intermediate from ``Shape`` nodes, so it may declare an output with a
    made-up symbolic name (``Transposemu_dim_0``) where the size is always 1 or 80; the runtime shapes are unchanged,
    and the full checker's shape inference below still verifies them against the graph.
    """
    by_name = {name: (elem_type, shape) for name, elem_type, shape in outputs}
    for value in model.graph.output:
        elem_type, shape = by_name[value.name]
        value.CopyFrom(onnx.helper.make_tensor_value_info(value.name, elem_type, list(shape)))


def initializer_bytes(proto: onnx.ModelProto) -> int:
    """Bytes of the graph's initializers with their data loaded."""
    return sum(len(t.raw_data) for t in proto.graph.initializer) + sum(
        t.ByteSize() for t in proto.graph.initializer if not t.raw_data
    )


def save_graph(proto: onnx.ModelProto, path: Path, external_data_threshold_bytes: int) -> None:
    """One ``.onnx`` file, or ``.onnx`` + a single ``<file name>.data`` when the weights exceed the threshold."""
    data_path = path.with_name(path.name + ".data")
    data_path.unlink(missing_ok=True)  # a stale data file from an earlier large export would mislead loaders
    if initializer_bytes(proto) > external_data_threshold_bytes:
        onnx.save(proto, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data_path.name)
    else:
        onnx.save(proto, path)


def assert_no_forbidden_ops(model: onnx.ModelProto, graph_name: str) -> None:
    """Fail if any node, including nodes of nested sub-graphs, is an STFT/DFT or a random-number op."""
    found = sorted({node.op_type for node in _all_nodes(model.graph)} & FORBIDDEN_OPS)
    if found:
        raise AssertionError(f"{graph_name}: forbidden ONNX op(s) in the exported graph: {', '.join(found)}")


def _all_nodes(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        nodes.append(node)
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                nodes.extend(_all_nodes(attribute.g))
            for subgraph in attribute.graphs:
                nodes.extend(_all_nodes(subgraph))
    return nodes


def graph_io(model: onnx.ModelProto) -> GraphIo:
    """The (name, element type, shape) of the model's inputs and outputs; unknown sizes come back as ``"?"``."""

    def spec(value: onnx.ValueInfoProto) -> TensorSpec:
        tensor = value.type.tensor_type
        return value.name, tensor.elem_type, tuple(_dim(d) for d in tensor.shape.dim)

    initializers = {init.name for init in model.graph.initializer}
    inputs = tuple(spec(v) for v in model.graph.input if v.name not in initializers)
    return inputs, tuple(spec(v) for v in model.graph.output)


def _dim(dim: onnx.TensorShapeProto.Dimension) -> Dim:
    if dim.dim_param:
        return dim.dim_param
    return dim.dim_value if dim.HasField("dim_value") else "?"


def assert_io_matches(model: onnx.ModelProto, expected: GraphIo, graph_name: str) -> None:
    """Fail unless the graph's inputs and outputs equal the contract (names, order, dtypes, shapes, axis names)."""
    actual = graph_io(model)
    if actual != expected:
        raise AssertionError(f"{graph_name}: graph I/O {actual} differs from the contract {expected}")


def external_files(path: Path) -> list[str]:
    """External-data files the ``.onnx`` at ``path`` references (names relative to its directory), sorted."""
    model = onnx.load(str(path), load_external_data=False)
    names = {
        entry.value
        for tensor in model.graph.initializer
        if tensor.data_location == onnx.TensorProto.EXTERNAL
        for entry in tensor.external_data
        if entry.key == "location"
    }
    return sorted(names)

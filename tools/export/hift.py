"""ONNX export of the HiFT vocoder as the ``hift_f0`` and ``hift_decoder`` graphs of docs/model-package.md.

* ``hift_f0``: ``mel [1, 80, T]`` → ``f0 [1, T]``.
* ``hift_decoder``: ``mel [1, 80, T]``, ``excitation [1, 480T, 9]``, ``cache_source [1, 1, S]`` →
  ``magnitude [1, 9, 120T+1]`` (clipped at 100), ``phase [1, 9, 120T+1]``, ``source [1, 1, 480T]``.

SineGen2 (the excitation) and the iSTFT run in TypeScript: SineGen2 needs random noise and fractional-scale
interpolation (export hazards, spec §6.5), and an in-graph iSTFT would need ONNX's STFT/DFT ops, which the WebGPU EP
lacks. The source STFT stays in the decoder graph as a Conv1d with fixed windowed-DFT kernels (spec §6.3).

Exporter: torch's TorchScript-based exporter (``dynamo=False``). In torch 2.13 it traces these convolutional graphs
reliably (the data-dependent cache slice ``source[:, :, S:]`` becomes Shape→Slice), names the dynamic axes as asked
and writes byte-identical files on re-export. Weights are folded from their weight-norm parametrization on a rebuilt
copy first, so the graphs hold plain Conv/ConvTranspose initializers.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import onnx
import torch
from torch import Tensor, nn

from tools.reference.config import HiftConfig
from tools.reference.hift import MAGNITUDE_CLIP, HiFT, padded_channels, portable_ops, zero_padded_input_channels

OPSET = 17
FLOAT = onnx.TensorProto.FLOAT
FORBIDDEN_OPS = frozenset({"STFT", "DFT", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike"})
"""No spectral transform (docs/model-package.md: ORT-web's WebGPU EP lacks them) and no in-graph randomness (the
sine noise is an input, so every runtime reproduces the same audio)."""
TRACE_FRAMES = 4
"""Mel frames of the example inputs used for tracing; every length is a named dynamic axis afterwards."""

Dim = int | str
"""A static size, or the name of a dynamic axis."""
TensorSpec = tuple[str, int, tuple[Dim, ...]]
"""(name, ONNX element type, shape) of one graph input or output."""
GraphIo = tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]


def f0_io(cfg: HiftConfig) -> GraphIo:
    """``hift_f0`` inputs and outputs exactly as docs/model-package.md lists them."""
    return (("mel", FLOAT, (1, cfg.in_channels, "frames")),), (("f0", FLOAT, (1, "frames")),)


def decoder_io(cfg: HiftConfig) -> GraphIo:
    """``hift_decoder`` inputs and outputs exactly as docs/model-package.md lists them."""
    n_bins = cfg.n_fft // 2 + 1
    inputs = (
        ("mel", FLOAT, (1, cfg.in_channels, "frames")),
        ("excitation", FLOAT, (1, "samples", cfg.nb_harmonics + 1)),
        ("cache_source", FLOAT, (1, 1, "cache_samples")),
    )
    outputs = (
        ("magnitude", FLOAT, (1, n_bins, "stft_frames")),
        ("phase", FLOAT, (1, n_bins, "stft_frames")),
        ("source", FLOAT, (1, 1, "samples")),
    )
    return inputs, outputs


class HiftF0Graph(nn.Module):
    """``hift_f0``: the F0 predictor alone."""

    def __init__(self, hift: HiFT) -> None:
        super().__init__()
        self.hift = hift

    def forward(self, mel: Tensor) -> Tensor:
        return self.hift.predict_f0(mel)


class HiftDecoderGraph(nn.Module):
    """``hift_decoder``: source projection with the streaming cache, conv STFT, decoder, magnitude clip."""

    def __init__(self, hift: HiFT) -> None:
        super().__init__()
        self.hift = hift

    def forward(self, mel: Tensor, excitation: Tensor, cache_source: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        source = self.hift.source(excitation, cache_source)
        magnitude, phase = self.hift.decode(mel, source)
        # The clip sits inside the graph so an exp() overflow never leaves it (spec §6.5 "exp(magnitude)").
        return magnitude.clamp(max=MAGNITUDE_CLIP), phase, source


def folded_copy(hift: HiFT) -> HiFT:
    """A float32, eval-mode rebuild with weight norm folded into plain weights (the caller's module is untouched).

    Rebuilt rather than ``copy.deepcopy``-ed: a deep copy shares torch's dynamically created parametrized classes, and
    folding deletes the ``weight`` property from that shared class, which breaks the original module.
    """
    rebuilt = HiFT(hift.cfg)
    rebuilt.load_state_dict({k: v.detach().float() for k, v in hift.state_dict().items()}, strict=True)
    return rebuilt.eval().fold_weight_norm()


def example_decoder_inputs(cfg: HiftConfig, frames: int = TRACE_FRAMES, cache_frames: int = 1) -> tuple[Tensor, ...]:
    """Zero ``mel``, ``excitation`` and ``cache_source`` for ``frames`` mel frames and ``cache_frames`` cached ones."""
    samples = frames * cfg.samples_per_frame
    return (
        torch.zeros(1, cfg.in_channels, frames),
        torch.zeros(1, samples, cfg.nb_harmonics + 1),
        torch.zeros(1, 1, cache_frames * cfg.samples_per_frame),
    )


def export_hift_f0(hift: HiFT, path: str | Path) -> Path:
    """Write ``hift_f0`` (fp32, opset 17, weight norm folded) to ``path``."""
    mel = torch.zeros(1, hift.cfg.in_channels, TRACE_FRAMES)
    return _export(HiftF0Graph(folded_copy(hift)), (mel,), Path(path), f0_io(hift.cfg))


def export_hift_decoder(hift: HiFT, path: str | Path) -> Path:
    """Write ``hift_decoder`` (fp32, opset 17, weight norm folded) to ``path``; ``cache_source`` may be empty."""
    folded = folded_copy(hift)
    for conv in folded.source_downs:
        # a constant in the graph, not a run-time pad of the weight
        conv.portable_weight = zero_padded_input_channels(conv.weight, padded_channels(conv.in_channels))  # type: ignore[assignment]
    graph = HiftDecoderGraph(folded)
    # the same function with ops that are exact on every backend, WebGPU included (see hift.portable_ops)
    with portable_ops():
        return _export(graph, example_decoder_inputs(hift.cfg), Path(path), decoder_io(hift.cfg))


def _export(module: nn.Module, args: tuple[Tensor, ...], path: Path, io: GraphIo) -> Path:
    inputs, outputs = io
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # Deprecation of the TorchScript exporter, and the note that the reflect-pad index arithmetic (a Slice with
        # step −1) is left to the runtime's constant folding: both expected, neither affects the graph's numerics.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=[name for name, _, _ in inputs],
            output_names=[name for name, _, _ in outputs],
            dynamic_axes=_dynamic_axes(inputs + outputs),
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    model = onnx.load(str(path))
    _declare_output_shapes(model, outputs)
    onnx.checker.check_model(model, full_check=True)
    assert_no_forbidden_ops(model, path.stem)
    assert_io_matches(model, io, path.stem)
    onnx.save(model, str(path))
    return path


def _dynamic_axes(specs: tuple[TensorSpec, ...]) -> dict[str, dict[int, str]]:
    return {name: {i: d for i, d in enumerate(shape) if isinstance(d, str)} for name, _, shape in specs}


def _declare_output_shapes(model: onnx.ModelProto, outputs: tuple[TensorSpec, ...]) -> None:
    """Write the contract's output shapes into the graph.

    The tracer's shape inference loses the static batch dimension after the channel Slice of ``conv_post``
    (it names it ``Clipmagnitude_dim_0``); every size here is exact by construction, so the declaration is safe.
    """
    by_name = {name: (elem_type, shape) for name, elem_type, shape in outputs}
    for value in model.graph.output:
        elem_type, shape = by_name[value.name]
        value.CopyFrom(onnx.helper.make_tensor_value_info(value.name, elem_type, list(shape)))


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

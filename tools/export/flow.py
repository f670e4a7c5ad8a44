"""Export the flow part of the model package (docs/model-package.md): ``flow_encoder``, ``flow_step``, the CFM noise.

Both graphs are fp32, opset 17, batch 1, with named dynamic axes only on the token / frame axes. The mode switch
``streaming`` is a graph input (bool ``[1]``), so chunked and full attention share one file per graph.

Exporter: torch's TorchScript-based exporter (``dynamo=False``). It traces the shape arithmetic of the
relative-position tables, chunk masks and look-ahead padding into ``Shape``/``Range`` nodes, keeps every op in the
default domain at opset 17, and re-exports byte-identically. (Caveat: torch marks it deprecated in favour of the
dynamo exporter; the tests pin its behaviour, so a torch upgrade that drops it fails loudly.)
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import Tensor, nn

from ..reference.flow import Flow, noise_buffer

OPSET = 17

ENCODER_INPUTS = ("tokens", "context", "streaming", "embedding")
STEP_INPUTS = ("x", "mu", "spks", "cond", "t", "dt", "streaming")

TOKENS_AXIS = "tokens"
CONTEXT_AXIS = "context"
FRAMES_AXIS = "frames"


class _EncoderGraph(nn.Module):
    """Adapter whose ``forward`` is :meth:`Flow.encode` (the exporter traces ``forward``)."""

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow

    def forward(self, tokens: Tensor, context: Tensor, streaming: Tensor, embedding: Tensor) -> tuple[Tensor, Tensor]:
        return self.flow.encode(tokens, context, streaming, embedding)


class _StepGraph(nn.Module):
    """Adapter whose ``forward`` is :meth:`Flow.cfg_euler_step`."""

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow

    def forward(
        self, x: Tensor, mu: Tensor, spks: Tensor, cond: Tensor, t: Tensor, dt: Tensor, streaming: Tensor
    ) -> Tensor:
        return self.flow.cfg_euler_step(x, mu, spks, cond, t, dt, streaming)


def _encoder_example(flow: Flow) -> tuple[Tensor, ...]:
    """Trace inputs with a real look-ahead context and streaming on, so no mode is constant-folded into the graph."""
    cfg = flow.cfg
    tokens = torch.arange(2 * cfg.encoder.static_chunk_size + 1, dtype=torch.int64).unsqueeze(0) % cfg.vocab_size
    context = torch.zeros(1, cfg.pre_lookahead_len, dtype=torch.int64)
    return tokens, context, torch.tensor([True]), torch.ones(1, cfg.spk_embed_dim)


def _step_example(flow: Flow) -> tuple[Tensor, ...]:
    channels = flow.cfg.output_size
    frames = 2 * flow.cfg.estimator.static_chunk_size + 1
    field = torch.zeros(1, channels, frames)
    return field, field, torch.zeros(1, channels), field, torch.zeros(1), torch.ones(1), torch.tensor([True])


Shape = list[int | str]
"""A declared tensor shape: fixed sizes and named symbolic axes."""


def _export(module: nn.Module, example: tuple[Tensor, ...], path: str | Path, inputs: tuple[str, ...],
            output_shapes: dict[str, Shape], dynamic_axes: dict[str, dict[int, str]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about every Python int derived from a shape; those are exactly the dynamic
        # lengths we want recorded as Shape nodes.
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        # Informational: a Slice the folder skips stays in the graph, numerically unchanged.
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        torch.onnx.export(
            module.eval(),
            example,
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=list(inputs),
            output_names=list(output_shapes),
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    _declare_output_shapes(path, output_shapes)
    return path


def _declare_output_shapes(path: Path, output_shapes: dict[str, Shape]) -> None:
    """Write the contract's output shapes into the graph outputs.

    The tracer derives every axis of a traced intermediate from ``Shape`` nodes, so it declares outputs with made-up
    symbolic names (``Transposemu_dim_0``) even where the size is always 1 or 80; the runtime shapes are unchanged.
    """
    model = onnx.load(str(path))
    for output in model.graph.output:
        dims = output.type.tensor_type.shape.dim
        for dim, size in zip(dims, output_shapes[output.name], strict=True):
            dim.Clear()
            if isinstance(size, str):
                dim.dim_param = size
            else:
                dim.dim_value = size
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def export_flow_encoder(flow: Flow, path: str | Path) -> Path:
    """Write ``flow_encoder``: tokens [1, L] int64, context [1, C] int64, streaming [1] bool, embedding [1, 192]
    → mu [1, 80, 2L], spks [1, 80]."""
    channels = flow.cfg.output_size
    outputs: dict[str, Shape] = {"mu": [1, channels, FRAMES_AXIS], "spks": [1, channels]}
    axes = {"tokens": {1: TOKENS_AXIS}, "context": {1: CONTEXT_AXIS}, "mu": {2: FRAMES_AXIS}}
    return _export(_EncoderGraph(flow), _encoder_example(flow), path, ENCODER_INPUTS, outputs, axes)


def export_flow_step(flow: Flow, path: str | Path) -> Path:
    """Write ``flow_step``: x, mu, cond [1, 80, T], spks [1, 80], t, dt [1], streaming [1] bool → x_next [1, 80, T]."""
    outputs: dict[str, Shape] = {"x_next": [1, flow.cfg.output_size, FRAMES_AXIS]}
    axes = {name: {2: FRAMES_AXIS} for name in ("x", "mu", "cond", "x_next")}
    return _export(_StepGraph(flow), _step_example(flow), path, STEP_INPUTS, outputs, axes)


def write_noise(path: str | Path, frames: int) -> Path:
    """Write ``cfm_noise.f32``: the first ``frames`` frames of the seed-0 noise, [80, frames] float32 little-endian."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(noise_buffer(frames)[0].numpy().astype("<f4").tobytes())
    return path


def read_noise(path: str | Path, channels: int = 80) -> np.ndarray:
    """Inverse of :func:`write_noise`: ``[channels, F]`` float32."""
    return np.fromfile(path, dtype="<f4").reshape(channels, -1)

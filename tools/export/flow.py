"""Export the flow part of the model package (docs/model-package.md): ``flow_encoder``, ``flow_step``, the CFM noise,
and ``flow_step_incremental`` (one streaming CFG Euler step over new frames with the kept keys/values and convolution
states, tools/reference/flow/incremental.py).

Both graphs are fp32, opset 17, batch 1, with named dynamic axes only on the token / frame axes. The mode switch
``streaming`` is a graph input (bool ``[1]``), so chunked and full attention share one file per graph.

Written by ``tools.export.graph.export_graph`` (tracer, checks, contract): the tracer records the shape arithmetic of
the relative-position tables, chunk masks and look-ahead padding as ``Shape``/``Range`` nodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from tools.export.graph import BOOL, FLOAT, INT64, GraphIo, export_graph
from tools.reference.flow import Flow, IncrementalEstimator, noise_buffer

TOKENS_AXIS = "tokens"
CONTEXT_AXIS = "context"
FRAMES_AXIS = "frames"
PAST_FRAMES_AXIS = "past_frames"
TOTAL_FRAMES_AXIS = "total_frames"


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


class _IncrementalStepGraph(nn.Module):
    """Adapter whose ``forward`` is :meth:`IncrementalEstimator.cfg_euler_step` with the flow's CFG rate."""

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.incremental = IncrementalEstimator(flow.decoder.estimator)
        self.cfg_rate = flow.cfg.inference_cfg_rate

    def forward(
        self, x: Tensor, mu: Tensor, spks: Tensor, cond: Tensor, t: Tensor, dt: Tensor, past_kv: Tensor, conv: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        return self.incremental.cfg_euler_step(x, mu, spks, cond, t, dt, past_kv, conv, self.cfg_rate)


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


def _incremental_step_example(flow: Flow) -> tuple[Tensor, ...]:
    """A past of one chunk and a new part of one chunk + 1 frame, so neither length is a degenerate 0 or 1."""
    chunk = flow.cfg.estimator.static_chunk_size
    field = torch.zeros(1, flow.cfg.output_size, chunk + 1)
    kv, conv = IncrementalEstimator(flow.decoder.estimator).empty_cache()
    past = torch.zeros(*kv.shape[:4], chunk, kv.shape[5])
    return field, field, torch.zeros(1, flow.cfg.output_size), field, torch.zeros(1), torch.ones(1), past, conv


def encoder_io(flow: Flow) -> GraphIo:
    """``flow_encoder`` inputs and outputs exactly as docs/model-package.md lists them."""
    channels = flow.cfg.output_size
    inputs = (
        ("tokens", INT64, (1, TOKENS_AXIS)),
        ("context", INT64, (1, CONTEXT_AXIS)),
        ("streaming", BOOL, (1,)),
        ("embedding", FLOAT, (1, flow.cfg.spk_embed_dim)),
    )
    return inputs, (("mu", FLOAT, (1, channels, FRAMES_AXIS)), ("spks", FLOAT, (1, channels)))


def step_io(flow: Flow) -> GraphIo:
    """``flow_step`` inputs and outputs exactly as docs/model-package.md lists them."""
    channels = flow.cfg.output_size
    field = (1, channels, FRAMES_AXIS)
    inputs = (
        ("x", FLOAT, field),
        ("mu", FLOAT, field),
        ("spks", FLOAT, (1, channels)),
        ("cond", FLOAT, field),
        ("t", FLOAT, (1,)),
        ("dt", FLOAT, (1,)),
        ("streaming", BOOL, (1,)),
    )
    return inputs, (("x_next", FLOAT, field),)


def incremental_step_io(flow: Flow) -> GraphIo:
    """``flow_step_incremental``: ``flow_step`` in streaming mode over the new frames, plus the step's cache in and out.

    ``past_kv`` / ``present_kv`` ``[blocks, 2 (keys, values), 2 (CFG rows), heads, frames, head_dim]``; ``conv_state``
    / ``next_conv_state`` ``[2 (CFG rows), channels of every causal convolution, kernel − 1]``.
    """
    step_inputs, step_outputs = step_io(flow)
    kv, conv = IncrementalEstimator(flow.decoder.estimator).empty_cache()
    blocks, pair, rows, heads, _, head_dim = kv.shape
    conv_shape = tuple(conv.shape)
    inputs = (
        *(spec for spec in step_inputs if spec[0] != "streaming"),
        ("past_kv", FLOAT, (blocks, pair, rows, heads, PAST_FRAMES_AXIS, head_dim)),
        ("conv_state", FLOAT, conv_shape),
    )
    outputs = (
        *step_outputs,
        ("present_kv", FLOAT, (blocks, pair, rows, heads, TOTAL_FRAMES_AXIS, head_dim)),
        ("next_conv_state", FLOAT, conv_shape),
    )
    return inputs, outputs


def export_flow_encoder(flow: Flow, path: str | Path) -> Path:
    """Write ``flow_encoder``: tokens [1, L] int64, context [1, C] int64, streaming [1] bool, embedding [1, 192]
    → mu [1, 80, 2L], spks [1, 80]."""
    return export_graph(_EncoderGraph(flow), _encoder_example(flow), path, encoder_io(flow))


def export_flow_step(flow: Flow, path: str | Path) -> Path:
    """Write ``flow_step``: x, mu, cond [1, 80, T], spks [1, 80], t, dt [1], streaming [1] bool → x_next [1, 80, T]."""
    return export_graph(_StepGraph(flow), _step_example(flow), path, step_io(flow))


def export_flow_step_incremental(flow: Flow, path: str | Path) -> Path:
    """Write ``flow_step_incremental``: x, mu, cond [1, 80, N], spks [1, 80], t, dt [1], past_kv (P frames),
    conv_state → x_next [1, 80, N], present_kv (P + N frames), next_conv_state. Streaming (chunk-causal) only."""
    return export_graph(
        _IncrementalStepGraph(flow), _incremental_step_example(flow), path, incremental_step_io(flow)
    )


def write_noise(path: str | Path, frames: int) -> Path:
    """Write ``cfm_noise.f32``: the first ``frames`` frames of the seed-0 noise, [80, frames] float32 little-endian."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(noise_buffer(frames)[0].numpy().astype("<f4").tobytes())
    return path


def read_noise(path: str | Path, channels: int = 80) -> np.ndarray:
    """Inverse of :func:`write_noise`: ``[channels, F]`` float32."""
    return np.fromfile(path, dtype="<f4").reshape(channels, -1)

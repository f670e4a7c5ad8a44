"""ONNX export of the HiFT vocoder as the ``hift_f0`` and ``hift_decoder`` graphs of docs/model-package.md.

* ``hift_f0``: ``mel [1, 80, T]`` → ``f0 [1, T]``.
* ``hift_decoder``: ``mel [1, 80, T]``, ``excitation [1, 480T, 9]``, ``cache_source [1, 1, S]`` →
  ``magnitude [1, 9, 120T+1]`` (clipped at 100), ``phase [1, 9, 120T+1]``, ``source [1, 1, 480T]``.

SineGen2 (the excitation) and the iSTFT run in TypeScript: SineGen2 needs random noise and fractional-scale
interpolation (export hazards, spec §6.5), and an in-graph iSTFT would need ONNX's STFT/DFT ops, which the WebGPU EP
lacks. The source STFT stays in the decoder graph as a Conv1d with fixed windowed-DFT kernels (spec §6.3).

Written by ``tools.export.graph.export_graph`` (tracer, checks, contract); the data-dependent cache slice
``source[:, :, S:]`` becomes Shape→Slice. Weights are folded from their weight-norm parametrization on a rebuilt
copy first, so the graphs hold plain Conv/ConvTranspose initializers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeGuard

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tools.export.graph import FLOAT, GraphIo, export_graph
from tools.reference.config import HiftConfig
from tools.reference.hift import (
    MAGNITUDE_CLIP,
    PORTABLE_CHANNEL_MULTIPLE,
    HiFT,
    padded_channels,
    portable_ops,
    zero_padded_input_channels,
)
from tools.reference.modules import ModuleT, children_of

TRACE_FRAMES = 4
"""Mel frames of the example inputs used for tracing; every length is a named dynamic axis afterwards."""


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


class ChannelPaddedConv(nn.Module):
    """``conv`` with its input padded by zero channels to a multiple of ``PORTABLE_CHANNEL_MULTIPLE`` and its weight
    padded to match: the same numbers at a width onnxruntime-web's WebGPU Conv computes correctly (see
    ``tools.reference.hift.PORTABLE_CHANNEL_MULTIPLE``). The padded weight is a graph constant."""

    padded_weight: Tensor

    def __init__(self, conv: nn.Conv1d | nn.ConvTranspose1d) -> None:
        super().__init__()
        self.conv = conv
        self.extra = padded_channels(conv.in_channels) - conv.in_channels
        with torch.no_grad():
            # Conv1d weights are [out, in, k]; ConvTranspose1d weights are [in, out, k].
            pad = (0, 0, 0, self.extra) if isinstance(conv, nn.Conv1d) else (0, 0, 0, 0, 0, self.extra)
            self.register_buffer("padded_weight", F.pad(conv.weight.detach(), pad).contiguous())

    def forward(self, x: Tensor) -> Tensor:
        x = F.pad(x, (0, 0, 0, self.extra))
        c = self.conv
        if isinstance(c, nn.Conv1d):
            return F.conv1d(x, self.padded_weight, c.bias, c.stride, c.padding, c.dilation, c.groups)
        assert not isinstance(c.padding, str)  # only Conv1d takes "same"/"valid"
        return F.conv_transpose1d(
            x, self.padded_weight, c.bias, c.stride, c.padding, c.output_padding, c.groups, c.dilation
        )


def needs_channel_padding(conv: nn.Module) -> TypeGuard[nn.Conv1d | nn.ConvTranspose1d]:
    """Whether ``conv`` runs into the WebGPU Conv bug: an ungrouped Conv1d with kernel > 1, or a ConvTranspose1d,
    whose input width is above and not a multiple of ``PORTABLE_CHANNEL_MULTIPLE``.

    Widths below the multiple are left alone: the tiny package's 2-channel last stage matches the reference on
    WebGPU (SwiftShader, test/browser/tts.browser.test.ts), and leaving them keeps its graphs unchanged.
    ConvTranspose1d is padded on the same rule although the bug was only measured for Conv: zero channels are exact.
    """
    if not isinstance(conv, nn.Conv1d | nn.ConvTranspose1d) or conv.groups != 1:
        return False
    if isinstance(conv, nn.Conv1d) and conv.kernel_size[0] == 1:
        return False
    width = conv.in_channels
    return width > PORTABLE_CHANNEL_MULTIPLE and width % PORTABLE_CHANNEL_MULTIPLE != 0


def pad_conv_widths(module: ModuleT, keep: tuple[nn.Module, ...] = ()) -> ModuleT:
    """Wraps (in place) every conv that :func:`needs_channel_padding` in :class:`ChannelPaddedConv`, so exactness on
    WebGPU does not depend on a checkpoint's layer widths; the modules in ``keep`` are skipped (``source_downs``: their
    padded input comes from the padded source STFT)."""
    for name, child in list(module.named_children()):
        if any(child is k for k in keep):
            continue
        if needs_channel_padding(child):
            setattr(module, name, ChannelPaddedConv(child))
        else:
            pad_conv_widths(child, keep)
    return module


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
    folded = folded_copy(hift)
    pad_conv_widths(folded.f0_predictor)  # only the F0 predictor is traced; the rest must not gain buffers
    return export_graph(HiftF0Graph(folded), (mel,), path, f0_io(hift.cfg))


def export_hift_decoder(hift: HiFT, path: str | Path) -> Path:
    """Write ``hift_decoder`` (fp32, opset 17, weight norm folded) to ``path``; ``cache_source`` may be empty."""
    folded = folded_copy(hift)
    for conv in children_of(folded.source_downs, nn.Conv1d):
        # a constant in the graph, not a run-time pad of the weight
        conv.portable_weight = zero_padded_input_channels(conv.weight, padded_channels(conv.in_channels))
    graph = HiftDecoderGraph(pad_conv_widths(folded, keep=tuple(folded.source_downs)))
    # the same function with ops that are exact on every backend, WebGPU included (see hift.portable_ops)
    with portable_ops():
        return export_graph(graph, example_decoder_inputs(hift.cfg), path, decoder_io(hift.cfg))

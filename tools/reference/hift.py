"""CosyVoice 2 HiFT vocoder (``HiFTGenerator``), written from spec §6 of ``shared/spec/cosyvoice2-inference.md``.

Pipeline (spec §6.2): mel → F0 predictor → nearest ×480 → SineGen2 excitation (9 sines + noise) → ``tanh(l_linear)``
= source ``s`` → source STFT (a fixed-kernel Conv1d here, spec §6.3) → decoder (ups + source fusion + Snake ResBlocks)
→ ``magnitude = exp``, ``phase = sin`` → iSTFT (n_fft 16, hop 4) → clamp ±audio_limit.

The excitation is a free function of ``f0`` and an explicit ``noise`` tensor because the browser runtime computes it
in TypeScript (float64) and feeds it to the ``hift_decoder`` graph; upstream's only randomness (``randn_like`` in
SineGen2) therefore becomes an input. Module attribute names follow the official ``hift.pt`` (state-dicts spec §3) so
the checkpoint loads with ``strict=True``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from tools.reference.checkpoint import load_strict
from tools.reference.config import HiftConfig
from tools.reference.modules import children_of

MAGNITUDE_CLIP = 100.0
"""Upper bound applied to ``exp(log-magnitude)`` before the iSTFT (spec §6.2 step 7; export hazard §6.5)."""
SNAKE_EPS = 1e-9
"""Added to Snake's α before the reciprocal (spec §6.2 step 6)."""
POST_LRELU_SLOPE = 0.01
"""Slope of the LeakyReLU in front of ``conv_post``: torch's default, *not* ``lrelu_slope`` (spec §6.2 step 6)."""
F0_PREDICTOR_CONVS = 5
MEL_CACHE_FRAMES = 8
"""Mel frames the streaming vocoder re-synthesises with right context (spec §6.4)."""


# --------------------------------------------------------------------------------------------------------------------
# Windows and DFT kernels (spec §6.3)
# --------------------------------------------------------------------------------------------------------------------


def periodic_hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window as upstream uses it: scipy ``get_window('hann', n, fftbins=True)`` cast to float32."""
    n = np.arange(n_fft, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)


def stft_conv_kernels(n_fft: int, window: np.ndarray) -> np.ndarray:
    """Conv1d weights ``[n_fft + 2, 1, n_fft]`` that compute a one-sided windowed DFT per frame.

    Rows ``0 … n_fft/2`` give the real parts ``Σ w·x·cos``, rows ``n_fft/2+1 …`` the imaginary parts ``−Σ w·x·sin``, the
    channel order of upstream's ``cat([real, imag])`` (spec §6.2 step 5). float64; the module stores them as float32.
    """
    bins = np.arange(n_fft // 2 + 1, dtype=np.float64)[:, None]
    n = np.arange(n_fft, dtype=np.float64)[None, :]
    angle = 2.0 * np.pi * bins * n / n_fft
    w = window.astype(np.float64)[None, :]
    kernels = np.concatenate([w * np.cos(angle), -w * np.sin(angle)], axis=0)
    return kernels[:, None, :]


# --------------------------------------------------------------------------------------------------------------------
# iSTFT (spec §6.3)
# --------------------------------------------------------------------------------------------------------------------


def istft_torch(magnitude: Tensor, phase: Tensor, n_fft: int, hop: int, window: Tensor) -> Tensor:
    """Upstream's ``_istft``: clip the magnitude at 100, build ``mag·e^{i·phase}``, ``torch.istft(center=True)``."""
    magnitude = magnitude.clamp(max=MAGNITUDE_CLIP)
    spectrum = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
    return torch.istft(spectrum, n_fft, hop, n_fft, window=window.to(magnitude.dtype), center=True)


def inverse_dft_basis(n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """Real matrices ``(C, S)`` of shape ``[n_fft, n_fft/2+1]`` with ``irfft(X) = C·Re X + S·Im X``.

    ``x[n] = (1/N)·(Re X₀ + (−1)ⁿ·Re X_{N/2} + 2·Σ_{k=1}^{N/2−1} (Re X_k·cos(2πkn/N) − Im X_k·sin(2πkn/N)))``: the
    imaginary parts of DC and Nyquist get weight 0, which is what ``irfft`` / ``torch.istft`` do (spec §6.3).
    """
    n_bins = n_fft // 2 + 1
    n = np.arange(n_fft, dtype=np.float64)[:, None]
    k = np.arange(n_bins, dtype=np.float64)[None, :]
    fold = np.full((1, n_bins), 2.0)
    fold[0, 0] = 1.0
    fold[0, -1] = 1.0
    angle = 2.0 * np.pi * k * n / n_fft
    return fold * np.cos(angle) / n_fft, -fold * np.sin(angle) / n_fft


def istft_window_envelope(num_frames: int, n_fft: int, hop: int, window: np.ndarray) -> np.ndarray:
    """``Σ w²`` over the frames covering each sample of the (uncropped) overlap-add output."""
    envelope = np.zeros(n_fft + hop * (num_frames - 1), dtype=np.float64)
    w2 = window.astype(np.float64) ** 2
    for f in range(num_frames):
        envelope[f * hop : f * hop + n_fft] += w2
    return envelope


def istft_numpy(
    magnitude: np.ndarray,
    phase: np.ndarray,
    n_fft: int = 16,
    hop: int = 4,
    window: np.ndarray | None = None,
) -> np.ndarray:
    """Hand-written ``torch.istft(center=True)`` for ``[B, n_fft/2+1, F]`` magnitude/phase → ``[B, hop·(F−1)]``.

    The recipe the TypeScript port follows (spec §6.3): clip the magnitude at 100, inverse-DFT every frame with the
    real basis of :func:`inverse_dft_basis`, multiply by the window, overlap-add at ``hop``, divide by the window-square
    envelope, drop ``n_fft/2`` samples at both ends. Computed in float64.
    """
    window = periodic_hann(n_fft) if window is None else window
    magnitude = np.minimum(magnitude.astype(np.float64), MAGNITUDE_CLIP)
    phase = phase.astype(np.float64)
    real, imag = magnitude * np.cos(phase), magnitude * np.sin(phase)
    cos_basis, sin_basis = inverse_dft_basis(n_fft)
    frames = np.einsum("nk,bkf->bfn", cos_basis, real) + np.einsum("nk,bkf->bfn", sin_basis, imag)
    frames *= window.astype(np.float64)
    batch, num_frames = frames.shape[0], frames.shape[1]
    out = np.zeros((batch, n_fft + hop * (num_frames - 1)), dtype=np.float64)
    for f in range(num_frames):
        out[:, f * hop : f * hop + n_fft] += frames[:, f]
    half = n_fft // 2
    # Crop before dividing: the outermost padded samples are covered only by w[0] = 0, i.e. an envelope of 0.
    envelope = istft_window_envelope(num_frames, n_fft, hop, window)[half:-half]
    return out[:, half:-half] / envelope


# --------------------------------------------------------------------------------------------------------------------
# SineGen2 excitation (spec §6.2 step 3), dtype-generic so it also runs in float64
# --------------------------------------------------------------------------------------------------------------------


def interpolate_linear_half_pixel(x: Tensor, out_len: int, in_per_out: float) -> Tensor:
    """``F.interpolate(x, scale_factor=1/in_per_out, mode='linear', align_corners=False)`` along dim 1 of ``[B, N, C]``.

    Source coordinate of output ``j`` = ``(j + 0.5)·in_per_out − 0.5``, clamped below at 0; the right neighbour is
    clamped to the last input (torch's CPU kernel). Coordinates and blend weights are computed in float64 and the
    blend in ``x``'s dtype; torch uses float32 weights for float32 inputs, a relative difference of ~1e-7 that is far
    below the float32 rounding of the accumulated phase (upstream-vectors README, "Tolerances").
    """
    n_in = x.shape[1]
    src = ((torch.arange(out_len, dtype=torch.float64) + 0.5) * in_per_out - 0.5).clamp(min=0.0)
    left = src.floor().long().clamp(max=n_in - 1)
    right = (left + 1).clamp(max=n_in - 1)
    weight_right = (src - left.to(torch.float64)).to(x.dtype)[None, :, None]
    return x[:, left] * (1 - weight_right) + x[:, right] * weight_right


def upsample_f0(f0: Tensor, samples_per_frame: int) -> Tensor:
    """Nearest-neighbour ×``samples_per_frame``: ``[B, T]`` → ``[B, T·samples_per_frame, 1]`` (spec §6.2 step 2)."""
    return f0.repeat_interleave(samples_per_frame, dim=1)[:, :, None]


def harmonic_phase(f0_samples: Tensor, cfg: HiftConfig) -> Tensor:
    """Per-sample phase of the fundamental and ``nb_harmonics`` overtones, ``[B, L, H+1]`` radians.

    Instead of integrating per sample, SineGen2 integrates at frame rate: per-sample phase increments
    ``(f·k / sr) mod 1`` are linearly down-sampled by the hop, cumulatively summed (×2π), scaled back by the hop and
    linearly up-sampled. The down-sampling reads positions ``hop·(j+0.5) − 0.5`` only, so upstream's random initial
    phase on sample 0 never matters (spec §6.2 step 3, upstream-vectors README "HiFT randomness").
    """
    hop = cfg.samples_per_frame
    multiples = torch.arange(1, cfg.nb_harmonics + 2, dtype=f0_samples.dtype)
    increments = (f0_samples * multiples / cfg.sampling_rate) % 1
    num_frames = f0_samples.shape[1] // hop
    frame_increments = interpolate_linear_half_pixel(increments, num_frames, float(hop))
    frame_phase = torch.cumsum(frame_increments, dim=1) * 2 * math.pi
    return interpolate_linear_half_pixel(frame_phase * hop, f0_samples.shape[1], 1.0 / hop)


def sine_excitation(f0: Tensor, noise: Tensor, cfg: HiftConfig) -> Tensor:
    """SineGen2 output ``sines·uv + noise·amp``, ``[B, 480T, H+1]`` from ``f0`` ``[B, T]`` Hz and ``noise`` ``N(0,1)``.

    ``noise`` replaces upstream's ``randn_like`` (layout ``[B, sample, harmonic]``). ``uv`` = voiced flag of the
    nearest-upsampled F0 (> ``nsf_voiced_threshold``); the amplitude is ``nsf_sigma`` where voiced and
    ``nsf_alpha/3`` where not. Runs in the dtype of ``f0`` (float64 reproduces the TypeScript port).
    """
    f0_samples = upsample_f0(f0, cfg.samples_per_frame)
    sines = torch.sin(harmonic_phase(f0_samples, cfg)) * cfg.nsf_alpha
    voiced = (f0_samples > cfg.nsf_voiced_threshold).to(f0.dtype)
    noise_amplitude = voiced * cfg.nsf_sigma + (1 - voiced) * cfg.nsf_alpha / 3
    return sines * voiced + noise_amplitude * noise.to(f0.dtype)


# --------------------------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------------------------


def _same_padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


def _weight_normed_conv(in_ch: int, out_ch: int, kernel_size: int, dilation: int = 1) -> nn.Conv1d:
    conv = nn.Conv1d(in_ch, out_ch, kernel_size, dilation=dilation, padding=_same_padding(kernel_size, dilation))
    return weight_norm(conv)


_TWO_PI_HI = 6.28125  # few mantissa bits: k · HI is exact in float32 for |k| < 2^16 (Cody–Waite reduction)
_TWO_PI_LO = 2 * math.pi - 6.28125
_SIN_TAYLOR = [(-1) ** n / math.factorial(2 * n + 1) for n in range(1, 10)]  # x^3 … x^19


def precise_sin(x: Tensor) -> Tensor:
    """sin with ≈1e-7 absolute error for |x| < 1e4, built from Round, Mul and Add only.

    Why: WGSL only promises an absolute error of 2^-11 for ``sin`` on [−π, π] (and nothing outside), and Snake
    divides ``sin²(αx)`` by a small ``α``, which amplifies it (measured: max |Δwave| 0.049 for HiFT on WebGPU vs
    wasm). The exported ``hift_decoder`` uses this instead of the Sin op, so every execution provider computes the
    same function: reduce to [−π, π] (two-constant Cody–Waite), then the odd Taylor series to x^19 (error
    π^21/21! ≈ 5e-10).
    """
    k = torch.round(x * (1.0 / (2 * math.pi)))
    r = (x - k * _TWO_PI_HI) - k * _TWO_PI_LO
    r2 = r * r
    poly = torch.full_like(r, _SIN_TAYLOR[-1])
    for c in reversed(_SIN_TAYLOR[:-1]):
        poly = poly * r2 + c
    return r + r * r2 * poly


# onnxruntime-web 1.30's WebGPU Conv is wrong when the input channels are not a multiple of 4 (kernel > 1): max
# error 6.1 on values of ±1 for HiFT's 18-channel source STFT feeding ``source_downs`` (found by bisecting the graph
# against wasm, then probing Conv shapes: 18, 54 and 270 input channels fail; 16, 64, 100, 136, 256, 540 pass).
# The exported graph therefore carries the source STFT with 2 extra all-zero channels (zero DFT kernels) and the
# ``source_downs`` weights with matching zero input channels: the same numbers, 20 channels.
PORTABLE_CHANNEL_MULTIPLE = 4


def padded_channels(channels: int) -> int:
    return -(-channels // PORTABLE_CHANNEL_MULTIPLE) * PORTABLE_CHANNEL_MULTIPLE


def zero_padded_input_channels(weight: Tensor, channels: int) -> Tensor:
    """``weight`` ``[out, in, k]`` with zero input channels appended up to ``channels``."""
    with torch.no_grad():
        return F.pad(weight.detach(), (0, 0, 0, channels - weight.shape[1])).contiguous()


def _portable_source_down(x: Tensor, conv: nn.Conv1d) -> Tensor:
    """``conv`` on the channel-padded source STFT, with its weight padded the same way (see above)."""
    weight = getattr(conv, "portable_weight", None)
    if weight is None:
        weight = zero_padded_input_channels(conv.weight, padded_channels(conv.in_channels))
    padding = conv.padding[0]
    assert isinstance(padding, int)
    return F.conv1d(x, weight, conv.bias, conv.stride[0], padding, conv.dilation[0])


_sin: Callable[[Tensor], Tensor] = torch.sin
_source_down: Callable[[Tensor, nn.Conv1d], Tensor] = lambda x, conv: conv(x)  # noqa: E731
_source_channels: int | None = None


@contextlib.contextmanager
def portable_ops() -> Iterator[None]:
    """Within the block HiFT computes the same function with ops that are exact on every onnxruntime backend (used
    for the ONNX export): :func:`precise_sin` for Snake and the phase, and the source STFT padded to a multiple of
    4 channels (see ``PORTABLE_CHANNEL_MULTIPLE``)."""
    global _sin, _source_down, _source_channels
    previous = (_sin, _source_down, _source_channels)
    _sin, _source_down, _source_channels = precise_sin, _portable_source_down, PORTABLE_CHANNEL_MULTIPLE
    try:
        yield
    finally:
        _sin, _source_down, _source_channels = previous


class Snake(nn.Module):
    """``x + sin²(α·x) / (α + 1e-9)`` with a per-channel, linear-scale ``alpha`` of shape ``[C]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(channels))

    def forward(self, x: Tensor) -> Tensor:
        alpha = self.alpha[None, :, None]
        return x + (1.0 / (alpha + SNAKE_EPS)) * _sin(x * alpha).pow(2)


class ResBlock(nn.Module):
    """For each dilation d: ``x += conv2(snake(conv1_d(snake(x))))`` (spec §6.2 step 6)."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(_weight_normed_conv(channels, channels, kernel_size, d) for d in dilations)
        self.convs2 = nn.ModuleList(_weight_normed_conv(channels, channels, kernel_size) for _ in dilations)
        self.activations1 = nn.ModuleList(Snake(channels) for _ in dilations)
        self.activations2 = nn.ModuleList(Snake(channels) for _ in dilations)

    def forward(self, x: Tensor) -> Tensor:
        layers = zip(self.convs1, self.convs2, self.activations1, self.activations2, strict=True)
        for conv1, conv2, act1, act2 in layers:
            x = x + conv2(act2(conv1(act1(x))))
        return x


class ConvRnnF0Predictor(nn.Module):
    """5 × (weight-normed Conv1d k3 → ELU) → Linear → |·|: ``[B, 80, T]`` → F0 ``[B, T]`` in Hz (spec §6.2 step 1)."""

    def __init__(self, in_channels: int, cond_channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(F0_PREDICTOR_CONVS):
            layers += [_weight_normed_conv(in_channels if i == 0 else cond_channels, cond_channels, 3), nn.ELU()]
        self.condnet = nn.Sequential(*layers)
        self.classifier = nn.Linear(cond_channels, 1)

    def forward(self, mel: Tensor) -> Tensor:
        hidden = self.condnet(mel).transpose(1, 2)
        return torch.abs(self.classifier(hidden).squeeze(-1))


class SourceModule(nn.Module):
    """``SourceModuleHnNSF`` minus its generator: merges the 9 excitation channels, ``tanh(Linear(9→1))``."""

    def __init__(self, nb_harmonics: int) -> None:
        super().__init__()
        self.l_linear = nn.Linear(nb_harmonics + 1, 1)

    def forward(self, excitation: Tensor) -> Tensor:
        return torch.tanh(self.l_linear(excitation))


# --------------------------------------------------------------------------------------------------------------------
# HiFT
# --------------------------------------------------------------------------------------------------------------------


class HiFT(nn.Module):
    """HiFTGenerator of CosyVoice 2 with the official parameter names (state-dicts spec §3)."""

    stft_window: Tensor  # buffers (registered in __init__, not saved)
    stft_kernels: Tensor

    def __init__(self, cfg: HiftConfig) -> None:
        super().__init__()
        self.cfg = cfg
        # SineGen2 precision in inference(): float32 like upstream; the fixtures use float64 like the TS engine,
        # whose phase accumulation runs in float64 (the phase reaches thousands of radians, spec §6.2).
        self.excitation_dtype = torch.float32
        self.m_source = SourceModule(cfg.nb_harmonics)
        self.conv_pre = _weight_normed_conv(cfg.in_channels, cfg.base_channels, 7)
        self.ups = nn.ModuleList(
            weight_norm(nn.ConvTranspose1d(self._stage_in(i), self._stage_out(i), k, u, padding=(k - u) // 2))
            for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes, strict=True))
        )
        self.source_downs = nn.ModuleList(self._source_down(i) for i in range(self.num_stages))
        self.source_resblocks = nn.ModuleList(
            ResBlock(self._stage_out(i), k, d)
            for i, (k, d) in enumerate(
                zip(cfg.source_resblock_kernel_sizes, cfg.source_resblock_dilation_sizes, strict=True)
            )
        )
        self.resblocks = nn.ModuleList(
            ResBlock(self._stage_out(i), k, d)
            for i in range(self.num_stages)
            for k, d in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes, strict=True)
        )
        self.conv_post = _weight_normed_conv(self._stage_out(self.num_stages - 1), cfg.n_fft + 2, 7)
        self.f0_predictor = ConvRnnF0Predictor(cfg.in_channels, cfg.f0_cond_channels)
        # Not in hift.pt (upstream keeps the window as a plain attribute), hence non-persistent buffers.
        window = periodic_hann(cfg.n_fft)
        self.register_buffer("stft_window", torch.from_numpy(window), persistent=False)
        kernels = stft_conv_kernels(cfg.n_fft, window).astype(np.float32)
        self.register_buffer("stft_kernels", torch.from_numpy(kernels), persistent=False)

    # ---- construction helpers ----

    @property
    def num_stages(self) -> int:
        return len(self.cfg.upsample_rates)

    def _stage_in(self, stage: int) -> int:
        return self.cfg.base_channels // 2**stage

    def _stage_out(self, stage: int) -> int:
        return self.cfg.base_channels // 2 ** (stage + 1)

    def _source_down(self, stage: int) -> nn.Conv1d:
        """Plain Conv1d taking the 18-channel source STFT to stage ``stage``'s rate and width.

        Stride = product of the up-sampling rates still to come (15, 3, 1 for CosyVoice 2); kernel 2·stride,
        padding stride/2, or a 1×1 conv at full rate (spec §6.2 step 6).
        """
        stride = math.prod(self.cfg.upsample_rates[stage + 1 :])
        out_ch = self._stage_out(stage)
        if stride == 1:
            return nn.Conv1d(self.cfg.n_fft + 2, out_ch, 1)
        return nn.Conv1d(self.cfg.n_fft + 2, out_ch, 2 * stride, stride, padding=stride // 2)

    def fold_weight_norm(self) -> HiFT:
        """Replace every ``w = g·v/‖v‖`` parametrization by the plain folded weight (in place; for export)."""
        for module in list(self.modules()):  # a snapshot: removing a parametrization edits the module tree
            if parametrize.is_parametrized(module, "weight"):
                weight = module.weight
                assert isinstance(weight, Tensor), "a parametrized weight is computed, a tensor"
                with torch.no_grad():
                    folded = weight.clone()
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
                # torch leaves a buffer instead of a Parameter when the folded value does not require grad (e.g.
                # under no_grad); re-register it so folded modules always expose plain Parameter weights.
                delattr(module, "weight")
                module.weight = nn.Parameter(folded)
        return self

    # ---- stages ----

    def predict_f0(self, mel: Tensor) -> Tensor:
        """F0 in Hz, ``[B, T]``."""
        return self.f0_predictor(mel)

    def excitation(self, f0: Tensor, noise: Tensor) -> Tensor:
        """SineGen2 excitation ``[B, 480T, 9]``; see :func:`sine_excitation`."""
        return sine_excitation(f0, noise, self.cfg)

    def source(self, excitation: Tensor, cache_source: Tensor | None = None) -> Tensor:
        """``s = tanh(l_linear(excitation))`` as ``[B, 1, L]``, its first ``S`` samples replaced by ``cache_source``.

        ``excitation`` must have the weights' dtype (cast a float64 excitation first, as the runtime does when it
        fills the float32 graph input). The cache keeps the excitation phase-continuous across streaming chunks
        (spec §6.2 step 4); the overwrite is a concatenation so that S = 0 needs no branch (one exported graph).
        """
        source = self.m_source(excitation).transpose(1, 2)
        if cache_source is None:
            return source
        return torch.cat([cache_source, source[:, :, cache_source.shape[2] :]], dim=2)

    def source_stft(self, source: Tensor) -> Tensor:
        """One-sided STFT of ``s`` as ``[B, 18, L/hop + 1]`` (real bins then imaginary bins), spec §6.2 step 5.

        ``torch.stft(center=True, pad_mode='reflect')`` expressed as reflect padding + a strided Conv1d with fixed
        windowed-DFT kernels, so the exported graph has no STFT/DFT op (spec §6.3, §6.5).
        """
        padded = F.pad(source, (self.cfg.n_fft // 2, self.cfg.n_fft // 2), mode="reflect")
        kernels = self.stft_kernels.to(source.dtype)
        if _source_channels is not None:  # portable export: extra all-zero channels (see PORTABLE_CHANNEL_MULTIPLE)
            kernels = F.pad(kernels, (0, 0, 0, 0, 0, padded_channels(kernels.shape[0]) - kernels.shape[0]))
        return F.conv1d(padded, kernels, stride=self.cfg.hop_len)

    def decode(self, mel: Tensor, source: Tensor) -> tuple[Tensor, Tensor]:
        """Decoder: ``(magnitude, phase)``, each ``[B, n_fft/2+1, 120T+1]``; magnitude = ``exp`` (not yet clipped)."""
        source_spec = self.source_stft(source)
        source_downs = children_of(self.source_downs, nn.Conv1d)
        x = self.conv_pre(mel)
        for stage in range(self.num_stages):
            x = self._upsample_stage(x, stage)
            x = x + self.source_resblocks[stage](_source_down(source_spec, source_downs[stage]))
            x = self._multi_receptive_field(x, stage)
        x = self.conv_post(F.leaky_relu(x, POST_LRELU_SLOPE))
        n_bins = self.cfg.n_fft // 2 + 1
        # The sin on the phase channels is "redundant" per upstream's comment but changes the values: keep it (§6.2).
        return torch.exp(x[:, :n_bins]), _sin(x[:, n_bins:])

    def _upsample_stage(self, x: Tensor, stage: int) -> Tensor:
        x = self.ups[stage](F.leaky_relu(x, self.cfg.lrelu_slope))
        if stage == self.num_stages - 1:
            # One reflected sample on the left makes 120T + 1 = the number of source-STFT frames.
            x = F.pad(x, (1, 0), mode="reflect")
        return x

    def _multi_receptive_field(self, x: Tensor, stage: int) -> Tensor:
        """Mean of the stage's ResBlocks (kernels 3, 7, 11) applied to the same input."""
        per_stage = len(self.cfg.resblock_kernel_sizes)
        blocks = self.resblocks[stage * per_stage : (stage + 1) * per_stage]
        total = blocks[0](x)
        for block in blocks[1:]:
            total = total + block(x)
        return total / per_stage

    def istft(self, magnitude: Tensor, phase: Tensor) -> Tensor:
        """Waveform ``[B, 480T]`` before the clamp (``torch.istft``; :func:`istft_numpy` is the hand-written twin)."""
        return istft_torch(magnitude, phase, self.cfg.n_fft, self.cfg.hop_len, self.stft_window)

    def inference(self, mel: Tensor, noise: Tensor, cache_source: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Upstream ``HiFTGenerator.inference`` with the sine noise injected.

        Returns ``(wave [B, 480T] clamped to ±audio_limit, source [B, 1, 480T])``; the source is the next cache.
        """
        num_samples = mel.shape[2] * self.cfg.samples_per_frame
        if cache_source is not None and cache_source.shape[2] > num_samples:
            raise ValueError(f"cache_source has {cache_source.shape[2]} samples, more than the {num_samples} produced")
        f0 = self.predict_f0(mel)
        dtype = self.excitation_dtype
        excitation = self.excitation(f0.to(dtype), noise.to(dtype)).to(mel.dtype)
        source = self.source(excitation, cache_source)
        magnitude, phase = self.decode(mel, source)
        wave = self.istft(magnitude, phase)
        return wave.clamp(-self.cfg.audio_limit, self.cfg.audio_limit), source


# --------------------------------------------------------------------------------------------------------------------
# Loading and bookkeeping
# --------------------------------------------------------------------------------------------------------------------


def normalize_hift_keys(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename checkpoint keys to the official names (state-dicts spec §3).

    Drops the ``generator.`` substring (upstream's loader does the same ``replace``) and maps legacy weight-norm names
    ``weight_g`` / ``weight_v`` to ``parametrizations.weight.original0`` / ``original1``.
    """
    renamed: dict[str, Tensor] = {}
    for key, value in state.items():
        key = key.replace("generator.", "")
        if key.endswith(".weight_g"):
            key = key[: -len("weight_g")] + "parametrizations.weight.original0"
        elif key.endswith(".weight_v"):
            key = key[: -len("weight_v")] + "parametrizations.weight.original1"
        renamed[key] = value
    return renamed


def load_hift(checkpoint: str | Path | Mapping[str, Tensor], cfg: HiftConfig) -> HiFT:
    """Build :class:`HiFT` and load ``hift.pt`` strictly (mismatches raise ``CheckpointMismatchError``); eval mode."""
    state: Mapping[str, Tensor] = (
        checkpoint if isinstance(checkpoint, Mapping) else torch.load(checkpoint, map_location="cpu", weights_only=True)
    )
    hift = HiFT(cfg)
    load_strict(hift, normalize_hift_keys(state), "hift.pt")
    return hift.eval()


def count_parameters(cfg: HiftConfig, folded: bool = False) -> int:
    """Parameters of the module tree (weight-norm g and v both counted unless ``folded``), built on the meta device."""
    with torch.device("meta"):
        hift = HiFT(cfg)
        if folded:
            hift.fold_weight_norm()
    return sum(p.numel() for p in hift.parameters())


# --------------------------------------------------------------------------------------------------------------------
# Streaming (spec §6.4, CosyVoice2Model.token2wav)
# --------------------------------------------------------------------------------------------------------------------

NoiseSource = Callable[[int], Tensor]
"""Returns standard-normal sine noise ``[1, num_samples, 9]`` for one vocoder call."""


class StreamingHift:
    """Chunked vocoding with upstream's HiFT cache: 8 mel frames, 3840 source samples, Hamming(7680) cross-fade.

    Each chunk after the first re-synthesises the previous chunk's last 8 mel frames (now with right context), forces
    the source of those frames to equal the previous rendering's (phase continuity) and cross-fades the overlapping
    3840 samples; every non-final chunk holds back its own last 3840 samples. The final chunk emits everything. One
    instance per utterance.
    """

    def __init__(self, hift: HiFT, mel_cache_frames: int = MEL_CACHE_FRAMES) -> None:
        self.hift = hift
        self.mel_cache_frames = mel_cache_frames
        self.source_cache_samples = mel_cache_frames * hift.cfg.samples_per_frame
        # np.hamming (symmetric), float64 like upstream's torch.from_numpy(np.hamming(...)).
        self.window = torch.from_numpy(np.hamming(2 * self.source_cache_samples))
        self.cached_mel: Tensor | None = None
        self.cached_source: Tensor | None = None
        self.cached_speech: Tensor | None = None

    def input_frames(self, new_frames: int) -> int:
        """Mel frames the next call will vocode (cached + new), e.g. to size its noise."""
        return new_frames + (0 if self.cached_mel is None else self.cached_mel.shape[2])

    def process(self, mel: Tensor, noise: NoiseSource, finalize: bool) -> Tensor:
        """Vocode the new mel frames ``[1, 80, N]``; returns the samples ready to play, ``[1, n]``."""
        if self.cached_mel is not None:
            mel = torch.cat([self.cached_mel, mel], dim=2)
        speech, source = self.hift.inference(
            mel, noise(mel.shape[2] * self.hift.cfg.samples_per_frame), self.cached_source
        )
        if self.cached_speech is not None:
            speech = self._cross_fade(speech, self.cached_speech)
        if finalize:
            self.cached_mel = self.cached_source = self.cached_speech = None
            return speech
        self.cached_mel = mel[:, :, -self.mel_cache_frames :]
        self.cached_source = source[:, :, -self.source_cache_samples :]
        self.cached_speech = speech[:, -self.source_cache_samples :]
        return speech[:, : -self.source_cache_samples]

    def _cross_fade(self, speech: Tensor, previous_tail: Tensor) -> Tensor:
        """``fade_in_out``: head·w[:n] + previous tail·w[n:], computed in float64 and stored back as float32."""
        n = self.source_cache_samples
        head = speech[:, :n].double() * self.window[:n] + previous_tail.double() * self.window[n:]
        return torch.cat([head.to(speech.dtype), speech[:, n:]], dim=1)

"""HiFT reference (tools/reference/hift.py) against the upstream test vectors, stage by stage.

Procedure and tolerances from shared/data/upstream-vectors/README.md ("Suggested HiFT procedure", "Tolerances"):
(1) F0; (2) the source from the stored noise and F0; (3) STFT + decoder + iSTFT fed the *stored* ``s``, where fp32
rounding of the long sine phase cannot hide a decoder error; (4) end to end with the looser tolerances.

Observed max-abs errors (torch 2.13 CPU, fp32 unless stated) vs the upstream arrays:
* (1) f0 1.5e-4 Hz.
* (2) from the stored f0: excitation head 3.1e-6 (fp64 SineGen2: 3.2e-6), s 1.2e-4 (fp64: 1.3e-4).
* (3) decoder fed the stored s: s_stft 9.5e-7, magnitude 5.2e-6, phase 1.2e-6, wave 4.8e-7 (torch.istft) /
  5.2e-7 (hand-written numpy iSTFT), dbg.* ≤ 1.5e-6.
* (4) end to end: excitation head 1.5e-5, s 1.6e-4, s_stft 6.0e-4, magnitude 1.1e-3, phase 4.5e-4, wave 1.1e-4,
  dbg.conv_pre_out 8.3e-7, dbg.ups_0_out 1.5e-7, other dbg.* ≤ 3.0e-4.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from tools.reference.checkpoint import CheckpointMismatchError
from tools.reference.config import HiftConfig, load_checkpoint_config, official_config
from tools.reference.hift import (
    HiFT,
    StreamingHift,
    count_parameters,
    harmonic_phase,
    istft_numpy,
    istft_torch,
    istft_window_envelope,
    load_hift,
    periodic_hann,
    stft_conv_kernels,
    upsample_f0,
)
from tools.reference.probes import recorded_decoder_activations
from tools.tests.upstream import UPSTREAM_VECTORS, max_abs

# Spec constants (shared/spec/cosyvoice2-inference.md §6, cosyvoice2-state-dicts.md §3).
OFFICIAL_PARAMS = 20_821_295
OFFICIAL_PARAMS_FOLDED = 20_806_557
WEIGHT_NORMED_CONVS = 82
ISTFT_EDGE_ENVELOPE = (1.25, 1.4047, 1.4786, 1.4986, 1.5)

# Tolerances from the upstream-vectors README.
TOL_F0 = 5e-4
TOL_SOURCE = 1e-3
TOL_MEL_ONLY_PATH = 1e-5
TOL_E2E_SPECTRAL = 5e-3
TOL_E2E_WAVE = 1e-3
TOL_STORED_S = 1e-5
TOL_STORED_S_MAGNITUDE = 2e-5

DBG_MEL_ONLY = ("dbg.conv_pre_out", "dbg.ups_0_out")
DBG_WITH_SOURCE = (
    "dbg.ups_1_out",
    "dbg.ups_2_out",
    "dbg.source_resblocks_0_out",
    "dbg.source_resblocks_1_out",
    "dbg.source_resblocks_2_out",
    "dbg.conv_post_in",
)

pytestmark = pytest.mark.usefixtures("no_grad")


@pytest.fixture(scope="module")
def cfg() -> HiftConfig:
    return load_checkpoint_config(UPSTREAM_VECTORS).hift


@pytest.fixture(scope="module")
def checkpoint() -> dict[str, torch.Tensor]:
    return torch.load(UPSTREAM_VECTORS / "hift.pt", map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def hift(cfg: HiftConfig, checkpoint: dict[str, torch.Tensor]) -> HiFT:
    return load_hift(checkpoint, cfg)


@pytest.fixture(scope="module")
def vectors() -> dict[str, np.ndarray]:
    with np.load(UPSTREAM_VECTORS / "hift.npz") as npz:
        return {k: npz[k] for k in npz.files}


def tensor(vectors: dict[str, np.ndarray], name: str) -> torch.Tensor:
    return torch.from_numpy(vectors[name])


# ---------------------------------------------------------------------------------------------------------------------
# Loading and bookkeeping
# ---------------------------------------------------------------------------------------------------------------------


def test_checkpoint_loads_strictly_with_official_key_order(hift: HiFT, checkpoint: dict[str, torch.Tensor]) -> None:
    assert list(hift.state_dict()) == list(checkpoint)
    for key, value in checkpoint.items():
        assert torch.equal(hift.state_dict()[key], value), key


def test_generator_prefix_is_stripped(cfg: HiftConfig, checkpoint: dict[str, torch.Tensor]) -> None:
    prefixed = {f"generator.{k}": v for k, v in checkpoint.items()}
    loaded = load_hift(prefixed, cfg).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in checkpoint.items())


def test_legacy_weight_norm_names_load(cfg: HiftConfig, checkpoint: dict[str, torch.Tensor]) -> None:
    def legacy_name(key: str) -> str:
        return key.replace("parametrizations.weight.original0", "weight_g").replace(
            "parametrizations.weight.original1", "weight_v"
        )

    legacy = {legacy_name(k): v for k, v in checkpoint.items()}
    loaded = load_hift(legacy, cfg).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in checkpoint.items())


def test_mismatched_checkpoint_lists_every_problem(cfg: HiftConfig, checkpoint: dict[str, torch.Tensor]) -> None:
    broken = dict(checkpoint)
    del broken["conv_post.bias"]
    broken["conv_post.extra"] = torch.zeros(1)
    broken["m_source.l_linear.weight"] = torch.zeros(1, 5)
    with pytest.raises(CheckpointMismatchError) as error:
        load_hift(broken, cfg)
    message = str(error.value)
    expected_fragments = (
        "missing", "conv_post.bias", "unexpected", "conv_post.extra", "mis-shaped", "m_source.l_linear.weight"
    )
    for fragment in expected_fragments:
        assert fragment in message


def test_official_parameter_count() -> None:
    assert count_parameters(official_config().hift) == OFFICIAL_PARAMS
    assert count_parameters(official_config().hift, folded=True) == OFFICIAL_PARAMS_FOLDED


def test_tiny_parameter_count_matches_checkpoint(cfg: HiftConfig, checkpoint: dict[str, torch.Tensor]) -> None:
    assert count_parameters(cfg) == sum(v.numel() for v in checkpoint.values())


def test_fold_weight_norm_keeps_outputs(cfg: HiftConfig, hift: HiFT, vectors: dict[str, np.ndarray]) -> None:
    folded = HiFT(cfg)
    folded.load_state_dict(hift.state_dict())
    folded.eval().fold_weight_norm()
    assert len(folded.state_dict()) == len(hift.state_dict()) - WEIGHT_NORMED_CONVS
    assert not any("parametrizations" in k for k in folded.state_dict())
    mel, s = tensor(vectors, "mel"), tensor(vectors, "s")
    torch.testing.assert_close(folded.predict_f0(mel), hift.predict_f0(mel), rtol=0, atol=1e-5)
    for a, b in zip(folded.decode(mel, s), hift.decode(mel, s), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------------
# (1) F0 and (2) source
# ---------------------------------------------------------------------------------------------------------------------


def test_f0(hift: HiFT, vectors: dict[str, np.ndarray]) -> None:
    assert max_abs(hift.predict_f0(tensor(vectors, "mel")), vectors["f0"]) <= TOL_F0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
def test_excitation_and_source_from_stored_f0(hift: HiFT, vectors: dict[str, np.ndarray], dtype: torch.dtype) -> None:
    excitation = hift.excitation(tensor(vectors, "f0").to(dtype), tensor(vectors, "source_noise").to(dtype))
    assert excitation.dtype == dtype
    head = vectors["dbg.sine_waves_head"]
    assert max_abs(excitation[:, : head.shape[1]], head) <= TOL_SOURCE
    assert max_abs(hift.source(excitation.float()), vectors["s"]) <= TOL_SOURCE


def test_explicit_interpolation_equals_torch_interpolate(cfg: HiftConfig, vectors: dict[str, np.ndarray]) -> None:
    """The index arithmetic the TS port copies equals SineGen2's two ``F.interpolate`` calls (float64)."""
    hop = cfg.samples_per_frame
    f0_samples = upsample_f0(tensor(vectors, "f0").double(), hop)
    increments = (f0_samples * torch.arange(1, cfg.nb_harmonics + 2, dtype=torch.float64) / cfg.sampling_rate) % 1
    down = F.interpolate(increments.transpose(1, 2), scale_factor=1 / hop, mode="linear", align_corners=False)
    phase_frames = torch.cumsum(down, dim=2) * 2 * np.pi
    up = F.interpolate(phase_frames * hop, scale_factor=hop, mode="linear", align_corners=False).transpose(1, 2)
    torch.testing.assert_close(harmonic_phase(f0_samples, cfg), up, rtol=0, atol=1e-9)


def test_cache_source_overwrites_the_start(hift: HiFT, vectors: dict[str, np.ndarray]) -> None:
    excitation = hift.excitation(tensor(vectors, "f0"), tensor(vectors, "source_noise"))
    fresh = hift.source(excitation)
    cache = torch.full((1, 1, 3 * hift.cfg.samples_per_frame), 0.25)
    cached = hift.source(excitation, cache)
    assert torch.equal(cached[:, :, : cache.shape[2]], cache)
    assert torch.equal(cached[:, :, cache.shape[2] :], fresh[:, :, cache.shape[2] :])
    assert torch.equal(hift.source(excitation, torch.zeros(1, 1, 0)), fresh)


# ---------------------------------------------------------------------------------------------------------------------
# (3) decoder fed the stored s
# ---------------------------------------------------------------------------------------------------------------------


def test_decoder_fed_stored_source(hift: HiFT, vectors: dict[str, np.ndarray]) -> None:
    mel, s = tensor(vectors, "mel"), tensor(vectors, "s")
    with recorded_decoder_activations(hift) as recorded:
        magnitude, phase = hift.decode(mel, s)
    assert max_abs(hift.source_stft(s), vectors["s_stft"]) <= TOL_STORED_S
    assert max_abs(magnitude, vectors["magnitude"]) <= TOL_STORED_S_MAGNITUDE
    assert max_abs(phase, vectors["phase"]) <= TOL_STORED_S
    for name in DBG_MEL_ONLY + DBG_WITH_SOURCE:
        assert max_abs(recorded[name], vectors[name]) <= TOL_STORED_S, name
    limit = hift.cfg.audio_limit
    wave = hift.istft(magnitude, phase).clamp(-limit, limit)
    assert max_abs(wave, vectors["wave"]) <= TOL_STORED_S
    hand_written = istft_numpy(magnitude.numpy(), phase.numpy(), hift.cfg.n_fft, hift.cfg.hop_len)
    assert max_abs(np.clip(hand_written, -limit, limit), vectors["wave"]) <= TOL_STORED_S


# ---------------------------------------------------------------------------------------------------------------------
# (4) end to end
# ---------------------------------------------------------------------------------------------------------------------


def test_end_to_end(hift: HiFT, vectors: dict[str, np.ndarray]) -> None:
    mel, noise = tensor(vectors, "mel"), tensor(vectors, "source_noise")
    f0 = hift.predict_f0(mel)
    head = vectors["dbg.sine_waves_head"]
    assert max_abs(hift.excitation(f0, noise)[:, : head.shape[1]], head) <= TOL_SOURCE

    with recorded_decoder_activations(hift) as recorded:
        wave, source = hift.inference(mel, noise)
    assert max_abs(source, vectors["s"]) <= TOL_SOURCE
    assert max_abs(wave, vectors["wave"]) <= TOL_E2E_WAVE
    magnitude, phase = hift.decode(mel, source)
    assert max_abs(hift.source_stft(source), vectors["s_stft"]) <= TOL_E2E_SPECTRAL
    assert max_abs(magnitude, vectors["magnitude"]) <= TOL_E2E_SPECTRAL
    assert max_abs(phase, vectors["phase"]) <= TOL_E2E_SPECTRAL
    for name in DBG_MEL_ONLY:
        assert max_abs(recorded[name], vectors[name]) <= TOL_MEL_ONLY_PATH, name
    for name in DBG_WITH_SOURCE:
        assert max_abs(recorded[name], vectors[name]) <= TOL_E2E_SPECTRAL, name


def test_inference_rejects_a_cache_longer_than_the_output(hift: HiFT, vectors: dict[str, np.ndarray]) -> None:
    too_long = torch.zeros(1, 1, vectors["s"].shape[2] + 1)
    with pytest.raises(ValueError, match="cache_source"):
        hift.inference(tensor(vectors, "mel"), tensor(vectors, "source_noise"), too_long)


# ---------------------------------------------------------------------------------------------------------------------
# iSTFT
# ---------------------------------------------------------------------------------------------------------------------


def test_window_is_scipy_periodic_hann() -> None:
    n_fft = 16
    expected = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
    np.testing.assert_array_equal(periodic_hann(n_fft), expected)


def test_hand_written_istft_equals_torch_istft() -> None:
    generator = torch.Generator().manual_seed(0)
    n_fft, hop, frames = 16, 4, 37
    log_magnitude = torch.randn(2, n_fft // 2 + 1, frames, generator=generator, dtype=torch.float64) * 3
    log_magnitude[0, 3, 5] = 6.0  # exp(6) > 100: exercises the clip
    magnitude = log_magnitude.exp()
    phase = torch.rand(2, n_fft // 2 + 1, frames, generator=generator, dtype=torch.float64) * 8 - 4
    window = periodic_hann(n_fft)
    expected = istft_torch(magnitude, phase, n_fft, hop, torch.from_numpy(window))
    actual = istft_numpy(magnitude.numpy(), phase.numpy(), n_fft, hop, window)
    assert actual.shape == (2, hop * (frames - 1))
    np.testing.assert_allclose(actual, expected.numpy(), rtol=0, atol=1e-12)


def test_istft_envelope_matches_spec() -> None:
    n_fft, hop = 16, 4
    kept = istft_window_envelope(20, n_fft, hop, periodic_hann(n_fft))[n_fft // 2 :]
    np.testing.assert_allclose(kept[: len(ISTFT_EDGE_ENVELOPE)], ISTFT_EDGE_ENVELOPE, rtol=0, atol=5e-5)


def test_stft_conv_kernels_equal_torch_stft(cfg: HiftConfig, vectors: dict[str, np.ndarray]) -> None:
    """Reflect padding + the windowed-DFT Conv1d is ``torch.stft(center=True)`` (float64, same float32 window)."""
    s = tensor(vectors, "s").double()
    window = periodic_hann(cfg.n_fft)
    spectrum = torch.stft(
        s[:, 0], cfg.n_fft, cfg.hop_len, cfg.n_fft, window=torch.from_numpy(window).double(), center=True,
        pad_mode="reflect", return_complex=True,
    )
    padded = F.pad(s, (cfg.n_fft // 2, cfg.n_fft // 2), mode="reflect")
    by_conv = F.conv1d(padded, torch.from_numpy(stft_conv_kernels(cfg.n_fft, window)), stride=cfg.hop_len)
    torch.testing.assert_close(by_conv, torch.cat([spectrum.real, spectrum.imag], dim=1), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------------
# Streaming (spec §6.4)
# ---------------------------------------------------------------------------------------------------------------------


def seeded_noise(seed: int, harmonics: int) -> Callable[[int], torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return lambda samples: torch.randn(1, samples, harmonics, generator=generator)


def test_single_final_chunk_equals_inference(hift: HiFT, vectors: dict[str, np.ndarray]) -> None:
    mel = tensor(vectors, "mel")
    harmonics = hift.cfg.nb_harmonics + 1
    streamed = StreamingHift(hift).process(mel, seeded_noise(1, harmonics), finalize=True)
    wave, _ = hift.inference(mel, seeded_noise(1, harmonics)(mel.shape[2] * hift.cfg.samples_per_frame))
    assert torch.equal(streamed, wave)


def test_streaming_cache_and_cross_fade(hift: HiFT, vectors: dict[str, np.ndarray]) -> None:
    """Two chunks, checked against upstream's token2wav bookkeeping written out by hand."""
    mel = tensor(vectors, "mel")
    hop, cache_frames = hift.cfg.samples_per_frame, 8
    overlap = cache_frames * hop
    first, second = mel[:, :, :14], mel[:, :, 14:]
    harmonics = hift.cfg.nb_harmonics + 1
    streamer = StreamingHift(hift, cache_frames)
    out_first = streamer.process(first, seeded_noise(2, harmonics), finalize=False)
    assert streamer.input_frames(second.shape[2]) == cache_frames + second.shape[2]
    out_second = streamer.process(second, seeded_noise(3, harmonics), finalize=True)

    speech_1, source_1 = hift.inference(first, seeded_noise(2, harmonics)(first.shape[2] * hop))
    mel_2 = torch.cat([first[:, :, -cache_frames:], second], dim=2)
    noise_2 = seeded_noise(3, harmonics)(mel_2.shape[2] * hop)
    speech_2, source_2 = hift.inference(mel_2, noise_2, source_1[:, :, -overlap:])
    window = np.hamming(2 * overlap)
    faded_head = speech_2[:, :overlap].numpy() * window[:overlap] + speech_1[:, -overlap:].numpy() * window[overlap:]

    assert torch.equal(out_first, speech_1[:, :-overlap])
    assert torch.equal(source_2[:, :, :overlap], source_1[:, :, -overlap:])
    np.testing.assert_array_equal(out_second[:, :overlap].numpy(), faded_head.astype(np.float32))
    assert torch.equal(out_second[:, overlap:], speech_2[:, overlap:])
    assert out_first.shape[1] + out_second.shape[1] == mel.shape[2] * hop

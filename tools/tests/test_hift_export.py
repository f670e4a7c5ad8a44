"""``hift_f0`` / ``hift_decoder`` ONNX graphs (tools/export/hift.py) in onnxruntime vs the torch reference and upstream.

The excitation is computed the way the TypeScript runtime will: float64 SineGen2 from the graph's own F0, then cast
to float32 for the graph input; the iSTFT is the hand-written numpy one (tools/reference/hift.py ``istft_numpy``).

Observed max-abs errors (onnxruntime 1.30 CPU, torch 2.13, tiny upstream-vectors weights):
* ORT vs torch, same inputs: f0 1.6e-4 Hz (relative 7e-7; values up to 215 Hz) · decoder: source 1.2e-7,
  magnitude ≤ 4.3e-6, phase ≤ 9.1e-7 (upstream mel, and a random 11-frame mel with S = 0 and S = 1440).
* ORT vs upstream, stored ``s`` passed as ``cache_source`` (S = 480T): source 0 (exact), magnitude 4.3e-6,
  phase 7.2e-7, wave (numpy iSTFT) 4.7e-7.
* ORT vs upstream end to end (S = 0; ORT f0 → float64 SineGen2 → ORT decoder → numpy iSTFT): f0 1.8e-4,
  source 1.0e-4, magnitude 5.5e-4, phase 3.0e-4, wave 6.8e-5.
* In-graph magnitude clip (conv_post biases +5, peak exp 897): relative 1.0e-6, max exactly 100.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from tools.export.graph import FORBIDDEN_OPS, OPSET, graph_io
from tools.export.hift import decoder_io, export_hift_decoder, export_hift_f0, f0_io
from tools.reference.config import HiftConfig, load_checkpoint_config, replace
from tools.reference.hift import (
    MAGNITUDE_CLIP,
    PORTABLE_CHANNEL_MULTIPLE,
    HiFT,
    istft_numpy,
    load_hift,
    sine_excitation,
)
from tools.tests.upstream import UPSTREAM_VECTORS, cpu_session, max_abs

# Tolerances from the upstream-vectors README (fp32 max-abs).
TOL_F0 = 5e-4
TOL_SOURCE = 1e-3
TOL_E2E_SPECTRAL = 5e-3
TOL_E2E_WAVE = 1e-3
TOL_STORED_S = 1e-5
TOL_STORED_S_MAGNITUDE = 2e-5
# onnxruntime vs the torch module on identical inputs = two fp32 implementations, which is what the README's
# tolerances bound: F0 keeps its 5e-4 Hz (the calibrated tiny F0 predictor amplifies rounding; 1.6e-4 observed, as
# torch 1.13 vs 2.13 in the README), the decoder the "fed the stored s" bounds.
TOL_ORT_VS_TORCH_F0 = TOL_F0
TOL_ORT_VS_TORCH = TOL_STORED_S
TOL_ORT_VS_TORCH_MAGNITUDE = TOL_STORED_S_MAGNITUDE

pytestmark = pytest.mark.usefixtures("no_grad")


@pytest.fixture(scope="module")
def cfg() -> HiftConfig:
    return load_checkpoint_config(UPSTREAM_VECTORS).hift


@pytest.fixture(scope="module")
def hift(cfg: HiftConfig) -> HiFT:
    return load_hift(UPSTREAM_VECTORS / "hift.pt", cfg)


@pytest.fixture(scope="module")
def vectors() -> dict[str, np.ndarray]:
    with np.load(UPSTREAM_VECTORS / "hift.npz") as npz:
        return {k: npz[k] for k in npz.files}


@pytest.fixture(scope="module")
def exported(hift: HiFT, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("hift_onnx")
    return {
        "f0": export_hift_f0(hift, out / "hift_f0.onnx"),
        "decoder": export_hift_decoder(hift, out / "hift_decoder.onnx"),
    }


@pytest.fixture(scope="module")
def sessions(exported: dict[str, Path]) -> dict[str, ort.InferenceSession]:
    return {name: cpu_session(path) for name, path in exported.items()}


def excitation_fp64(f0: np.ndarray, noise: np.ndarray, cfg: HiftConfig) -> np.ndarray:
    """SineGen2 in float64, cast to the graph's float32 input, as the TypeScript runtime does."""
    excitation = sine_excitation(torch.from_numpy(f0).double(), torch.from_numpy(noise).double(), cfg)
    return excitation.float().numpy()


def run_decoder(
    session: ort.InferenceSession, mel: np.ndarray, excitation: np.ndarray, cache_source: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    magnitude, phase, source = session.run(None, {"mel": mel, "excitation": excitation, "cache_source": cache_source})
    return magnitude, phase, source


def empty_cache() -> np.ndarray:
    return np.zeros((1, 1, 0), dtype=np.float32)


# ---------------------------------------------------------------------------------------------------------------------
# Graph structure
# ---------------------------------------------------------------------------------------------------------------------


def test_io_contract(cfg: HiftConfig, exported: dict[str, Path], sessions: dict[str, ort.InferenceSession]) -> None:
    assert graph_io(onnx.load(str(exported["f0"]))) == f0_io(cfg)
    assert graph_io(onnx.load(str(exported["decoder"]))) == decoder_io(cfg)
    for name, io in (("f0", f0_io(cfg)), ("decoder", decoder_io(cfg))):
        session = sessions[name]
        assert [(v.name, v.type) for v in session.get_inputs()] == [(n, "tensor(float)") for n, _, _ in io[0]]
        assert [(v.name, v.type) for v in session.get_outputs()] == [(n, "tensor(float)") for n, _, _ in io[1]]
        assert [tuple(v.shape) for v in session.get_inputs()] == [shape for _, _, shape in io[0]]


def test_graphs_are_opset_17_fp32_without_stft_random_or_weight_norm(exported: dict[str, Path]) -> None:
    for path in exported.values():
        model = onnx.load(str(path))
        assert {(o.domain, o.version) for o in model.opset_import} == {("", OPSET)}
        assert not {node.op_type for node in model.graph.node} & FORBIDDEN_OPS
        assert all(init.data_type == onnx.TensorProto.FLOAT for init in model.graph.initializer if init.dims)
        assert not any("parametrizations" in init.name or "original" in init.name for init in model.graph.initializer)


def test_reexport_is_byte_identical(hift: HiFT, exported: dict[str, Path], tmp_path: Path) -> None:
    assert export_hift_f0(hift, tmp_path / "f0.onnx").read_bytes() == exported["f0"].read_bytes()
    assert export_hift_decoder(hift, tmp_path / "decoder.onnx").read_bytes() == exported["decoder"].read_bytes()


# ---------------------------------------------------------------------------------------------------------------------
# Numerics
# ---------------------------------------------------------------------------------------------------------------------


def test_f0_graph(hift: HiFT, sessions: dict[str, ort.InferenceSession], vectors: dict[str, np.ndarray]) -> None:
    (f0,) = sessions["f0"].run(None, {"mel": vectors["mel"]})
    assert max_abs(f0, hift.predict_f0(torch.from_numpy(vectors["mel"])).numpy()) <= TOL_ORT_VS_TORCH_F0
    assert max_abs(f0, vectors["f0"]) <= TOL_F0


def test_decoder_fed_stored_source_through_the_cache(
    hift: HiFT, sessions: dict[str, ort.InferenceSession], vectors: dict[str, np.ndarray]
) -> None:
    """``cache_source`` = the stored ``s`` (S = 480T) replaces the whole source: the README's tight decoder check."""
    excitation = excitation_fp64(vectors["f0"], vectors["source_noise"], hift.cfg)
    magnitude, phase, source = run_decoder(sessions["decoder"], vectors["mel"], excitation, vectors["s"])
    np.testing.assert_array_equal(source, vectors["s"])
    assert max_abs(magnitude, np.minimum(vectors["magnitude"], MAGNITUDE_CLIP)) <= TOL_STORED_S_MAGNITUDE
    assert max_abs(phase, vectors["phase"]) <= TOL_STORED_S
    limit = hift.cfg.audio_limit
    wave = np.clip(istft_numpy(magnitude, phase, hift.cfg.n_fft, hift.cfg.hop_len), -limit, limit)
    assert max_abs(wave, vectors["wave"]) <= TOL_STORED_S


def test_decoder_graph_equals_torch(hift: HiFT, sessions: dict[str, ort.InferenceSession]) -> None:
    """A length the graph was not traced with, random inputs, a partial cache: ORT == the torch module."""
    generator = torch.Generator().manual_seed(7)
    cfg = hift.cfg
    frames = 11
    mel = torch.randn(1, cfg.in_channels, frames, generator=generator)
    f0 = hift.predict_f0(mel)
    noise = torch.randn(1, frames * cfg.samples_per_frame, cfg.nb_harmonics + 1, generator=generator)
    excitation = sine_excitation(f0.double(), noise.double(), cfg).float()
    cache = torch.randn(1, 1, 3 * cfg.samples_per_frame, generator=generator).tanh()
    for cache_source in (torch.zeros(1, 1, 0), cache):
        source = hift.source(excitation, cache_source)
        expected_magnitude, expected_phase = hift.decode(mel, source)
        magnitude, phase, ort_source = run_decoder(
            sessions["decoder"], mel.numpy(), excitation.numpy(), cache_source.numpy()
        )
        assert max_abs(ort_source, source.numpy()) <= TOL_ORT_VS_TORCH
        np.testing.assert_array_equal(ort_source[:, :, : cache_source.shape[2]], cache_source.numpy())
        assert max_abs(magnitude, expected_magnitude.clamp(max=MAGNITUDE_CLIP).numpy()) <= TOL_ORT_VS_TORCH_MAGNITUDE
        assert max_abs(phase, expected_phase.numpy()) <= TOL_ORT_VS_TORCH


def test_end_to_end_vs_upstream(
    hift: HiFT, sessions: dict[str, ort.InferenceSession], vectors: dict[str, np.ndarray]
) -> None:
    """The runtime's path: ORT f0 → float64 SineGen2 → ORT decoder (no cache) → numpy iSTFT → clamp."""
    (f0,) = sessions["f0"].run(None, {"mel": vectors["mel"]})
    excitation = excitation_fp64(f0, vectors["source_noise"], hift.cfg)
    magnitude, phase, source = run_decoder(sessions["decoder"], vectors["mel"], excitation, empty_cache())
    assert max_abs(source, vectors["s"]) <= TOL_SOURCE
    assert max_abs(magnitude, np.minimum(vectors["magnitude"], MAGNITUDE_CLIP)) <= TOL_E2E_SPECTRAL
    assert max_abs(phase, vectors["phase"]) <= TOL_E2E_SPECTRAL
    limit = hift.cfg.audio_limit
    wave = np.clip(istft_numpy(magnitude, phase, hift.cfg.n_fft, hift.cfg.hop_len), -limit, limit)
    assert max_abs(wave, vectors["wave"]) <= TOL_E2E_WAVE


def test_magnitude_is_clipped_inside_the_graph(hift: HiFT, vectors: dict[str, np.ndarray], tmp_path: Path) -> None:
    """Raise the log-magnitude biases so ``exp`` exceeds 100 (the tiny weights never do) and check the in-graph clip."""
    loud = HiFT(hift.cfg)
    loud.load_state_dict(hift.state_dict())
    n_bins = hift.cfg.n_fft // 2 + 1
    bias = loud.conv_post.bias
    assert bias is not None
    bias[:n_bins] += 5.0
    loud.eval()
    session = cpu_session(export_hift_decoder(loud, tmp_path / "loud.onnx"))
    excitation = excitation_fp64(vectors["f0"], vectors["source_noise"], hift.cfg)
    magnitude, _, _ = run_decoder(session, vectors["mel"], excitation, vectors["s"])
    unclipped, _ = loud.decode(torch.from_numpy(vectors["mel"]), torch.from_numpy(vectors["s"]))
    assert unclipped.max().item() > MAGNITUDE_CLIP
    assert magnitude.max() == MAGNITUDE_CLIP
    # These magnitudes are ~150× the calibrated ones, so the README's absolute magnitude bound (2e-5 at a peak of
    # 6.04) is applied as the relative bound it amounts to (3.3e-6; observed 1.0e-6).
    relative_tol = TOL_STORED_S_MAGNITUDE / float(vectors["magnitude"].max())
    np.testing.assert_allclose(magnitude, unclipped.clamp(max=MAGNITUDE_CLIP).numpy(), rtol=relative_tol, atol=0)


def conv_input_widths(path: Path) -> list[int]:
    """Input width of every Conv (kernel > 1) and ConvTranspose of a graph, read from its weight initializer."""
    graph = onnx.load(str(path)).graph
    weights = {t.name: list(t.dims) for t in graph.initializer}
    widths = []
    for node in graph.node:
        dims = weights.get(node.input[1]) if len(node.input) > 1 else None
        if dims is None:
            continue
        if node.op_type == "Conv" and dims[2] > 1:
            widths.append(dims[1])  # [out, in, k]
        elif node.op_type == "ConvTranspose":
            widths.append(dims[0])  # [in, out, k]
    return widths


def webgpu_safe(width: int) -> bool:
    """A width onnxruntime-web's WebGPU Conv computes correctly (tools/export/hift.py ``needs_channel_padding``)."""
    return width <= PORTABLE_CHANNEL_MULTIPLE or width % PORTABLE_CHANNEL_MULTIPLE == 0


def test_decoder_graph_uses_portable_ops(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No Sin op (WebGPU's is only accurate to ~5e-4, which Snake amplifies) and no Conv whose input channels are not
    a multiple of 4 (wrong on onnxruntime-web's WebGPU EP); the rewrites compute the same function."""
    from tools.reference.hift import precise_sin

    hift = load_hift(UPSTREAM_VECTORS / "hift.pt", load_checkpoint_config(UPSTREAM_VECTORS).hift)
    path = export_hift_decoder(hift, tmp_path / "hift_decoder.onnx")
    graph = onnx.load(str(path)).graph
    assert "Sin" not in {n.op_type for n in graph.node}
    widths = conv_input_widths(path)
    assert widths and all(webgpu_safe(c) for c in widths), widths
    x = torch.linspace(-2000.0, 2000.0, 400_001)
    assert (precise_sin(x).double() - torch.sin(x.double())).abs().max().item() < 1e-6


@pytest.mark.parametrize(("base_channels", "cond_channels"), [(44, 30), (36, 18)])
def test_layer_widths_that_do_not_divide_by_4_are_padded_exactly(
    cfg: HiftConfig, tmp_path: Path, base_channels: int, cond_channels: int
) -> None:
    """Any checkpoint's widths: every Conv/ConvTranspose input of both graphs is WebGPU-safe, and the graphs still
    compute the torch module's function (zero channels and zero weight columns add exact zeros)."""
    odd = replace(cfg, base_channels=base_channels, f0_cond_channels=cond_channels)
    torch.manual_seed(base_channels)
    hift = HiFT(odd).eval()
    stage_widths = [base_channels // 2**i for i in range(len(odd.upsample_rates) + 1)]
    assert not all(webgpu_safe(w) for w in [*stage_widths, cond_channels])  # the case under test
    f0_path = export_hift_f0(hift, tmp_path / "f0.onnx")
    decoder_path = export_hift_decoder(hift, tmp_path / "decoder.onnx")
    widths = conv_input_widths(f0_path) + conv_input_widths(decoder_path)
    assert widths and all(webgpu_safe(c) for c in widths), widths
    generator = torch.Generator().manual_seed(3)
    frames = 6
    mel = torch.randn(1, odd.in_channels, frames, generator=generator)
    (f0,) = cpu_session(f0_path).run(None, {"mel": mel.numpy()})
    assert max_abs(f0, hift.predict_f0(mel).numpy()) <= TOL_ORT_VS_TORCH_F0
    noise = torch.randn(1, frames * odd.samples_per_frame, odd.nb_harmonics + 1, generator=generator)
    excitation = sine_excitation(torch.from_numpy(f0).double(), noise.double(), odd).float()
    magnitude, phase, source = run_decoder(cpu_session(decoder_path), mel.numpy(), excitation.numpy(), empty_cache())
    expected_magnitude, expected_phase = hift.decode(mel, hift.source(excitation))
    assert max_abs(source, hift.source(excitation).numpy()) <= TOL_ORT_VS_TORCH
    assert max_abs(magnitude, expected_magnitude.clamp(max=MAGNITUDE_CLIP).numpy()) <= TOL_ORT_VS_TORCH_MAGNITUDE
    assert max_abs(phase, expected_phase.numpy()) <= TOL_ORT_VS_TORCH

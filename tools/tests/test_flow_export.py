"""The exported ``flow_encoder`` / ``flow_step`` graphs and ``cfm_noise.f32`` (docs/model-package.md) in onnxruntime.

Checked against the PyTorch reference and the upstream vectors; the 10-step CFM loop is run in numpy around the step
graph, the way the TypeScript runtime drives it.

Observed max-abs errors (onnxruntime 1.30 CPU, 1 thread): flow_encoder vs torch ≤ 1.3e-6 over L = 1…300,
C ∈ {0, 3}, both streaming values; vs upstream mu ≤ 1.2e-6, spks exact. flow_step vs torch ≤ 1.2e-6 over
T = 1…600; one step vs the stored upstream estimator rows 3.1e-6. numpy loop with the step graph vs upstream cfm
mel ≤ 6.7e-6, x_steps ≤ 5.4e-6.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from tools.export.flow import export_flow_encoder, export_flow_step, read_noise, write_noise
from tools.reference.flow import NOISE_BUFFER_FRAMES, Flow, noise_buffer
from tools.tests.upstream import cpu_session, max_abs, upstream_flow_config

from .test_flow import (
    ENCODER_MODES,
    ESTIMATOR_MODES,
    assert_matches,
    encoder_inputs,
    manifest,
    tensor,
    tolerance,
    vectors,
)

FLOAT, INT64, BOOL = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64, onnx.TensorProto.BOOL

ENCODER_IO = {
    "inputs": [
        ("tokens", INT64, [1, "tokens"]),
        ("context", INT64, [1, "context"]),
        ("streaming", BOOL, [1]),
        ("embedding", FLOAT, [1, upstream_flow_config().spk_embed_dim]),
    ],
    "outputs": [("mu", FLOAT, [1, 80, "frames"]), ("spks", FLOAT, [1, 80])],
}
STEP_IO = {
    "inputs": [
        ("x", FLOAT, [1, 80, "frames"]),
        ("mu", FLOAT, [1, 80, "frames"]),
        ("spks", FLOAT, [1, 80]),
        ("cond", FLOAT, [1, 80, "frames"]),
        ("t", FLOAT, [1]),
        ("dt", FLOAT, [1]),
        ("streaming", BOOL, [1]),
    ],
    "outputs": [("x_next", FLOAT, [1, 80, "frames"])],
}
"""The contract of docs/model-package.md (80 mel bins; the checkpoint's x-vector size, 192 in CosyVoice 2)."""

MU_TOLERANCE = tolerance("flow_encoder.npz", "full.mu")
STEP_TOLERANCE = tolerance("estimator.npz", "full.t1.out")
"""onnxruntime vs torch uses the vectors' own tolerance for the same quantity (two correct fp32 implementations)."""


@pytest.fixture(scope="module")
def graphs(flow: Flow, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("flow_graphs")
    return {
        "flow_encoder": export_flow_encoder(flow, out / "flow_encoder.onnx"),
        "flow_step": export_flow_step(flow, out / "flow_step.onnx"),
    }


@pytest.fixture(scope="module")
def encoder_session(graphs: dict[str, Path]) -> ort.InferenceSession:
    return cpu_session(graphs["flow_encoder"])


@pytest.fixture(scope="module")
def step_session(graphs: dict[str, Path]) -> ort.InferenceSession:
    return cpu_session(graphs["flow_step"])


# ---------------------------------------------------------------------------------------------------------------------
# Graph files


def declared_io(values: list[onnx.ValueInfoProto]) -> list[tuple[str, int, list[int | str]]]:
    return [
        (v.name, v.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])
        for v in values
    ]


@pytest.mark.parametrize(("graph", "contract"), [("flow_encoder", ENCODER_IO), ("flow_step", STEP_IO)])
def test_graph_interface_matches_model_package(graphs: dict[str, Path], graph: str, contract: dict[str, Any]) -> None:
    model = onnx.load(str(graphs[graph]))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert declared_io(list(model.graph.input)) == contract["inputs"]
    assert declared_io(list(model.graph.output)) == contract["outputs"]
    assert all(init.data_type == FLOAT for init in model.graph.initializer if init.dims), "fp32 weights only"


def test_reexport_is_byte_identical(flow: Flow, graphs: dict[str, Path], tmp_path: Path) -> None:
    again = {
        "flow_encoder": export_flow_encoder(flow, tmp_path / "flow_encoder.onnx"),
        "flow_step": export_flow_step(flow, tmp_path / "flow_step.onnx"),
    }
    for name, path in again.items():
        assert path.read_bytes() == graphs[name].read_bytes(), name


# ---------------------------------------------------------------------------------------------------------------------
# flow_encoder


def run_encoder(sess: ort.InferenceSession, tokens: np.ndarray, context: np.ndarray, streaming: bool,
                embedding: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, spks = sess.run(
        None, {"tokens": tokens, "context": context, "streaming": np.array([streaming]), "embedding": embedding}
    )
    return mu, spks


@pytest.mark.parametrize("mode", list(ENCODER_MODES))
def test_encoder_graph_matches_upstream_and_torch(flow: Flow, encoder_session: ort.InferenceSession, mode: str) -> None:
    tokens, context, streaming, embedding = encoder_inputs(mode)
    mu, spks = run_encoder(encoder_session, tokens.numpy(), context.numpy(), bool(streaming), embedding.numpy())
    assert_matches(mu, "flow_encoder.npz", f"{mode}.mu")
    assert_matches(spks, "flow_encoder.npz", "spks")
    with torch.no_grad():
        torch_mu, torch_spks = flow.encode(tokens, context, streaming, embedding)
    assert max_abs(mu, torch_mu.numpy()) <= MU_TOLERANCE
    assert max_abs(spks, torch_spks.numpy()) <= MU_TOLERANCE


def test_encoder_graph_handles_any_length(flow: Flow, encoder_session: ort.InferenceSession) -> None:
    """L from 1 token to a few hundred, around chunk boundaries, with and without look-ahead context, both modes."""
    cfg = flow.cfg
    chunk = cfg.encoder.static_chunk_size
    rng = np.random.default_rng(2024)
    embedding = rng.standard_normal((1, cfg.spk_embed_dim)).astype(np.float32)
    for length in (1, 2, chunk - 1, chunk, chunk + 1, 3 * chunk + 5, 300):
        tokens = rng.integers(0, cfg.vocab_size, (1, length))
        for context_len in (0, cfg.pre_lookahead_len):
            context = rng.integers(0, cfg.vocab_size, (1, context_len))
            for streaming in (False, True):
                mu, _ = run_encoder(encoder_session, tokens, context, streaming, embedding)
                with torch.no_grad():
                    expected, _ = flow.encode(
                        torch.from_numpy(tokens), torch.from_numpy(context), torch.tensor([streaming]),
                        torch.from_numpy(embedding),
                    )
                assert mu.shape == (1, cfg.output_size, 2 * length)
                error = max_abs(mu, expected.numpy())
                assert error <= MU_TOLERANCE, (length, context_len, streaming, error)


# ---------------------------------------------------------------------------------------------------------------------
# flow_step


def run_step(sess: ort.InferenceSession, x: np.ndarray, mu: np.ndarray, spks: np.ndarray, cond: np.ndarray,
             t: np.ndarray, dt: np.ndarray, streaming: bool) -> np.ndarray:
    feeds = {"x": x, "mu": mu, "spks": spks, "cond": cond, "t": t, "dt": dt, "streaming": np.array([streaming])}
    (x_next,) = sess.run(None, feeds)
    return x_next


def test_step_graph_matches_torch(flow: Flow, step_session: ort.InferenceSession) -> None:
    chunk = flow.cfg.estimator.static_chunk_size
    rng = np.random.default_rng(7)
    for frames in (1, 2, chunk, chunk + 1, 54, 600):
        x, mu, cond = (rng.standard_normal((1, 80, frames)).astype(np.float32) for _ in range(3))
        spks = rng.standard_normal((1, 80)).astype(np.float32)
        t, dt = np.array([0.3], np.float32), np.array([0.12], np.float32)
        for streaming in (False, True):
            x_next = run_step(step_session, x, mu, spks, cond, t, dt, streaming)
            with torch.no_grad():
                x_t, mu_t, spks_t, cond_t, t_t, dt_t = (torch.from_numpy(a) for a in (x, mu, spks, cond, t, dt))
                expected = flow.cfg_euler_step(x_t, mu_t, spks_t, cond_t, t_t, dt_t, torch.tensor([streaming]))
            error = max_abs(x_next, expected.numpy())
            assert error <= STEP_TOLERANCE, (frames, streaming, error)


@pytest.mark.parametrize("mode", list(ESTIMATOR_MODES))
def test_numpy_euler_loop_with_step_graph_matches_upstream_cfm(
    step_session: ort.InferenceSession, tmp_path: Path, mode: str
) -> None:
    """The runtime's loop: x₀ = the shipped noise file, then x ← flow_step(x, t_k, dt_k), with upstream's float32 t/dt
    bookkeeping (t_k as fed upstream, dt_k = t_span[k+1] − t_k)."""
    cfm = vectors("cfm.npz")
    frames = cfm["mu"].shape[2]
    x = read_noise(write_noise(tmp_path / "cfm_noise.f32", frames))[None]
    t_steps, t_span = cfm[f"{mode}.t_steps"], cfm["t_span"]
    fed: list[np.ndarray] = []
    for k, t in enumerate(t_steps):
        fed.append(x[0])
        dt = np.float32(t_span[k + 1] - t)
        x = run_step(step_session, x, cfm["mu"], cfm["spks"], cfm["cond"], np.array([t]), np.array([dt]),
                     ESTIMATOR_MODES[mode])
    assert_matches(x, "cfm.npz", f"{mode}.mel")
    if f"{mode}.x_steps" in cfm:
        assert_matches(np.stack(fed), "cfm.npz", f"{mode}.x_steps")


# ---------------------------------------------------------------------------------------------------------------------
# cfm_noise.f32


def test_noise_file_layout_and_content(tmp_path: Path) -> None:
    full = write_noise(tmp_path / "full.f32", NOISE_BUFFER_FRAMES)
    assert full.stat().st_size == 80 * NOISE_BUFFER_FRAMES * 4
    assert hashlib.sha256(full.read_bytes()).hexdigest() == manifest()["cfm_noise"]["sha256_of_float32_le_bytes"]
    frames = vectors("cfm.npz")["z"].shape[2]
    short = read_noise(write_noise(tmp_path / "short.f32", frames))
    assert short.shape == (80, frames)
    assert np.array_equal(short, read_noise(full)[:, :frames])
    assert_matches(short[None], "cfm.npz", "z")
    assert np.array_equal(short, noise_buffer(frames)[0].numpy())


def test_step_graph_reproduces_one_upstream_estimator_step(step_session: ort.InferenceSession) -> None:
    """flow_step's CFG combination on the stored estimator rows: x + dt·(1.7·v0 − 0.7·v1) at t1."""
    x, mu, spks, cond = (tensor("estimator.npz", n)[:1].numpy() for n in ("x", "mu", "spks", "cond"))
    t = tensor("estimator.npz", "t1")[:1].numpy()
    dt = np.array([0.125], np.float32)
    rate = manifest()["model"]["flow"]["decoder"]["cfm_params"]["inference_cfg_rate"]
    for mode, streaming in ESTIMATOR_MODES.items():
        v = vectors("estimator.npz")[f"{mode}.t1.out"]
        expected = x + dt * ((1.0 + rate) * v[:1] - rate * v[1:])
        x_next = run_step(step_session, x, mu, spks, cond, t, dt, streaming)
        assert max_abs(x_next, expected) <= dt[0] * (1.0 + 2 * rate) * STEP_TOLERANCE, mode

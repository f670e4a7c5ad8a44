"""The exported ``flow_step_incremental`` graph in onnxruntime against the torch reference and the full streaming solve.

The runtime's loop is driven in numpy the way the TypeScript runner will: per Euler step one ``(past_kv, conv_state)``
pair, fed back from the previous call's ``present_kv`` / ``next_conv_state``; the first call starts from empty keys
(``past_frames`` = 0) and zero convolution states.

Observed max-abs errors (onnxruntime 1.30 CPU, 1 thread, upstream-vector flow): one step vs torch: x_next 1.2e-6,
present_kv 7.8e-6 (|values| ≤ 6.6), next_conv_state 2.6e-5 (|values| ≤ 47); the 10-step chunk-by-chunk solve vs
torch's full ``streaming=True`` solve 3.6e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from tools.export.flow import export_flow_step_incremental, incremental_step_io
from tools.export.graph import graph_io
from tools.reference.flow import Flow, IncrementalEstimator, euler_steps, noise_buffer
from tools.tests.upstream import cpu_session, max_abs

STEP_TOLERANCE = 1e-5
"""onnxruntime vs torch on the same step (two correct fp32 implementations; flow_step's own vector tolerance)."""
MEL_TOLERANCE = 1e-5
"""The issue's exactness bound for streamed mel."""

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def graph(flow: Flow, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_flow_step_incremental(flow, tmp_path_factory.mktemp("incremental") / "flow_step_incremental.onnx")


@pytest.fixture(scope="module")
def step_session(graph: Path) -> ort.InferenceSession:
    return cpu_session(graph)


def empty_cache(flow: Flow) -> tuple[np.ndarray, np.ndarray]:
    kv, conv = IncrementalEstimator(flow.decoder.estimator).empty_cache()
    return kv.numpy(), conv.numpy()


def run(sess: ort.InferenceSession, x: np.ndarray, mu: np.ndarray, spks: np.ndarray, cond: np.ndarray, t: np.ndarray,
        dt: np.ndarray, kv: np.ndarray, conv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    feeds = {"x": x, "mu": mu, "spks": spks, "cond": cond, "t": t, "dt": dt, "past_kv": kv, "conv_state": conv}
    x_next, present, next_conv = sess.run(None, feeds)
    return x_next, present, next_conv


def test_graph_io_is_the_contract(flow: Flow, graph: Path) -> None:
    model = onnx.load(str(graph))
    assert graph_io(model) == incremental_step_io(flow)
    names = [name for name, _, _ in incremental_step_io(flow)[0]]
    assert names == ["x", "mu", "spks", "cond", "t", "dt", "past_kv", "conv_state"]


def test_reexport_is_byte_identical(flow: Flow, graph: Path, tmp_path: Path) -> None:
    again = export_flow_step_incremental(flow, tmp_path / "again.onnx")
    assert again.read_bytes() == graph.read_bytes()


def test_graph_step_matches_torch(flow: Flow, step_session: ort.InferenceSession) -> None:
    """From an empty cache, then after one and three chunks, with new parts of 1 frame to two chunks + 1."""
    chunk = flow.cfg.estimator.static_chunk_size
    incremental = IncrementalEstimator(flow.decoder.estimator).eval()
    rng = np.random.default_rng(11)
    kv, conv = empty_cache(flow)
    spks = rng.standard_normal((1, 80)).astype(np.float32)
    t, dt = np.array([0.3], np.float32), np.array([0.12], np.float32)
    for frames, advance in ((1, False), (chunk, True), (2 * chunk + 1, False), (2 * chunk, True), (5, False)):
        x, mu, cond = (rng.standard_normal((1, 80, frames)).astype(np.float32) for _ in range(3))
        got = run(step_session, x, mu, spks, cond, t, dt, kv, conv)
        with torch.no_grad():
            x_t, mu_t, spks_t, cond_t, t_t, dt_t, kv_t, conv_t = (
                torch.from_numpy(a) for a in (x, mu, spks, cond, t, dt, kv, conv)
            )
            expected = incremental.cfg_euler_step(
                x_t, mu_t, spks_t, cond_t, t_t, dt_t, kv_t, conv_t, flow.cfg.inference_cfg_rate
            )
        for name, a, b in zip(("x_next", "present_kv", "next_conv_state"), got, expected, strict=True):
            # the caches are activations deep inside the network (|value| up to ~1e2): fp32 error scales with them
            bound = STEP_TOLERANCE * max(1.0, float(b.abs().max()))
            assert max_abs(a, b.numpy()) <= bound, (frames, kv.shape[4], name, float(b.abs().max()))
        assert got[1].shape[4] == kv.shape[4] + frames
        if advance:
            kv, conv = got[1], got[2]


@pytest.mark.parametrize("pieces", [(16, 16, 16, 6), (48, 32, 1)])
def test_chunk_by_chunk_solve_equals_full_streaming_solve(
    flow: Flow, step_session: ort.InferenceSession, pieces: tuple[int, ...]
) -> None:
    frames = sum(pieces)
    g = torch.Generator().manual_seed(frames)
    mu, cond = (torch.randn(1, 80, frames, generator=g) for _ in range(2))
    spks = torch.randn(1, 80, generator=g)
    steps = euler_steps(flow.cfg.n_timesteps)
    with torch.no_grad():
        expected = flow.solve(mu, spks, cond, True).numpy()
    caches = [empty_cache(flow) for _ in steps]
    noise = noise_buffer(frames).numpy() * flow.cfg.temperature
    start = 0
    for piece in pieces:
        window = slice(start, start + piece)
        x = noise[:, :, window]
        for k, (t, dt) in enumerate(steps):
            x, kv, conv = run(step_session, x, mu[:, :, window].numpy(), spks.numpy(), cond[:, :, window].numpy(),
                              t.numpy(), dt.numpy(), *caches[k])
            caches[k] = (kv, conv)
        assert max_abs(x, expected[:, :, window]) <= MEL_TOLERANCE, f"frames {window}"
        start += piece

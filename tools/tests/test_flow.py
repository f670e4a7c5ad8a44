"""The PyTorch flow reference against the upstream test vectors (shared/data/upstream-vectors, README there).

Every array of ``flow_encoder.npz``, ``estimator.npz``, ``cfm.npz`` and ``flow_inference.npz`` is compared with the
per-array max-abs tolerance of the vectors' manifest (``config.json`` → ``files`` → ``tol_max_abs``).

Observed max-abs errors (torch 2.13 CPU vs the stored upstream arrays): flow_encoder h ≤ 1.8e-6, mu ≤ 1.2e-6,
spks 3.7e-8, pos tables ≤ 2.4e-7, dbg.* ≤ 1.2e-5, enc_in/context exact; estimator out ≤ 1.8e-5, dbg.* ≤ 2.1e-4
(tolerance 1e-3); cfm x_steps 5.3e-6, mel ≤ 7.2e-6, t_span/t_steps exact; flow_inference mel ≤ 7.1e-6; noise
buffer bit-exact.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from tools.reference.checkpoint import CheckpointMismatchError, load_strict
from tools.reference.config import FlowConfig, replace
from tools.reference.flow import (
    NOISE_BUFFER_FRAMES,
    Flow,
    as_streaming_flag,
    change_speed,
    cosine_schedule,
    count_parameters,
    euler_steps,
    noise_buffer,
    relative_position_table,
)
from tools.reference.probes import estimator_probe_modules, probed_encode, probed_estimate
from tools.tests.upstream import UPSTREAM_VECTORS, upstream_flow_config

ENCODER_MODES: dict[str, tuple[bool, bool]] = {
    "full": (False, True),
    "stream_final": (True, True),
    "stream_ctx": (True, False),
}
"""Upstream mode name → (streaming, finalize) (README "Modes used for the flow")."""

ESTIMATOR_MODES: dict[str, bool] = {"full": False, "stream": True}


# ---------------------------------------------------------------------------------------------------------------------
# Upstream vectors


@functools.cache
def manifest() -> dict[str, Any]:
    return json.loads((UPSTREAM_VECTORS / "config.json").read_text())


@functools.cache
def vectors(file: str) -> dict[str, np.ndarray]:
    with np.load(UPSTREAM_VECTORS / file) as data:
        return {name: data[name] for name in data.files}


def tolerance(file: str, name: str) -> float:
    """The manifest's max-abs tolerance for one stored array."""
    tol = manifest()["files"][file]["arrays"][name]["tol_max_abs"]
    assert tol is not None, f"{file}:{name} is an input, not a checked output"
    return float(tol)


def assert_matches(actual: Tensor | np.ndarray, file: str, name: str) -> float:
    """Assert ``actual`` equals the stored array within its tolerance; returns the max-abs error."""
    expected = vectors(file)[name]
    got = actual.detach().numpy() if isinstance(actual, Tensor) else np.asarray(actual)
    assert got.shape == expected.shape, f"{file}:{name}: shape {got.shape} vs stored {expected.shape}"
    error = float(np.abs(got.astype(np.float64) - expected.astype(np.float64)).max()) if got.size else 0.0
    assert error <= tolerance(file, name), f"{file}:{name}: max-abs {error:.3g} > {tolerance(file, name):.3g}"
    return error


def assert_same_visibility(visible: Tensor, file: str, name: str) -> None:
    """A stored uint8 mask (``[1, 1, L]`` padding mask or ``[.., L, L]``) equals our bool ``[B, L, L]`` visibility."""
    stored = vectors(file)[name].astype(bool)
    ours = visible.numpy()
    assert np.array_equal(np.broadcast_to(stored, ours.shape), ours), f"{file}:{name} differs"


def tensor(file: str, name: str) -> Tensor:
    return torch.from_numpy(vectors(file)[name])




# ---------------------------------------------------------------------------------------------------------------------
# Checkpoint layout, parameter counts


def test_strict_load_takes_every_upstream_tensor(flow: Flow) -> None:
    stored = torch.load(UPSTREAM_VECTORS / "flow.pt", map_location="cpu", weights_only=True)
    ours = flow.state_dict()
    assert list(ours) == list(stored)
    for name, value in stored.items():
        assert torch.equal(ours[name], value), name


def test_missing_key_is_named() -> None:
    stored = torch.load(UPSTREAM_VECTORS / "flow.pt", map_location="cpu", weights_only=True)
    del stored["decoder.estimator.final_proj.bias"]
    with pytest.raises(CheckpointMismatchError, match=r"1 missing key\(s\):\n\s+decoder\.estimator\.final_proj\.bias"):
        load_strict(Flow(upstream_flow_config()), stored, "flow")


def test_wrong_config_is_reported_as_unexpected_and_misshaped_keys() -> None:
    cfg = upstream_flow_config()
    enc = cfg.encoder
    narrower = enc.linear_units - 8
    smaller = replace(cfg, encoder=replace(enc, num_up_blocks=enc.num_up_blocks - 1, linear_units=narrower))
    with pytest.raises(CheckpointMismatchError) as error:
        load_strict(Flow(smaller), UPSTREAM_VECTORS / "flow.pt", "flow")
    message = str(error.value)
    last_up = enc.num_up_blocks - 1
    assert f"encoder.up_encoders.{last_up}.norm_mha.bias" in message.split("unexpected key(s):")[1]
    d = enc.d_model
    shapes = f"checkpoint ({enc.linear_units}, {d}) vs module ({narrower}, {d})"
    assert f"encoder.encoders.0.feed_forward.w_1.weight: {shapes}" in message


def test_official_parameter_counts() -> None:
    """Spec §5 / §7.2 and the state-dicts spec §2 (1121 keys)."""
    official = FlowConfig()
    assert count_parameters(official) == 112_549_360
    assert count_parameters(official, "decoder.estimator") == 71_302_480
    assert count_parameters(official, "encoder") == 37_831_168
    assert count_parameters(official, "input_embedding") == 3_359_232
    assert count_parameters(official, "spk_embed_affine_layer") == 15_440
    assert count_parameters(official, "encoder_proj") == 41_040
    with torch.device("meta"):
        assert len(Flow(official).state_dict()) == 1121


def test_upstream_vector_parameter_count() -> None:
    assert count_parameters(upstream_flow_config()) == manifest()["n_params"]["flow"]


# ---------------------------------------------------------------------------------------------------------------------
# Encoder (flow_encoder.npz)


def encoder_inputs(mode: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``encode`` arguments of one upstream mode: the P+N tokens, and the 3 context tokens only in ``stream_ctx``."""
    streaming, finalize = ENCODER_MODES[mode]
    tokens = tensor("flow_encoder.npz", "tokens")
    context = tokens[:, :0] if finalize else tensor("flow_encoder.npz", "context_token")
    return tokens, context, as_streaming_flag(streaming), tensor("flow_encoder.npz", "embedding")


def run_encoder(flow: Flow, mode: str) -> dict[str, Tensor]:
    """``flow.encode`` with every intermediate the vectors store, under the vectors' names."""
    return probed_encode(flow, *encoder_inputs(mode))


@pytest.mark.parametrize("mode", list(ENCODER_MODES))
def test_encoder_mode_matches_every_stored_array(flow: Flow, mode: str) -> None:
    ours = run_encoder(flow, mode)
    stored = [name.removeprefix(f"{mode}.") for name in vectors("flow_encoder.npz") if name.startswith(f"{mode}.")]
    assert stored, mode
    for name in stored:
        if name.endswith("chunk_mask"):
            assert_same_visibility(ours[name], "flow_encoder.npz", f"{mode}.{name}")
        else:
            assert_matches(ours[name], "flow_encoder.npz", f"{mode}.{name}")
    # Mode-independent arrays (position tables, speaker projection) must come out of every mode.
    for name in ("embed_pos_emb", "up_embed_pos_emb", "embedding_normalized", "spks"):
        assert_matches(ours[name], "flow_encoder.npz", name)


def test_position_tables_match_upstream_at_their_lengths() -> None:
    d = upstream_flow_config().encoder.d_model
    for name in ("embed_pos_emb", "up_embed_pos_emb"):
        length = (vectors("flow_encoder.npz")[name].shape[1] + 1) // 2
        assert_matches(relative_position_table(length, d), "flow_encoder.npz", name)


def test_position_table_row_is_the_relative_position() -> None:
    """Row r of the table for L frames is the sinusoid of position L−1−r, whatever L is (no maximum length)."""
    d = 8
    long_table = relative_position_table(700, d)[0]
    short_table = relative_position_table(3, d)[0]
    centre = 699
    # Same inputs to sin/cos; only the vectorised kernels' lane layout differs, hence the table tolerance.
    difference = (short_table - long_table[centre - 2 : centre + 3]).abs().max()
    assert float(difference) <= tolerance("flow_encoder.npz", "embed_pos_emb")


# ---------------------------------------------------------------------------------------------------------------------
# Estimator (estimator.npz)


def estimator_args(time_key: str, streaming: bool) -> tuple[Tensor, ...]:
    names = ("x", "mask", "mu", time_key, "spks", "cond")
    return (*(tensor("estimator.npz", name) for name in names), as_streaming_flag(streaming))


@pytest.mark.parametrize("mode", list(ESTIMATOR_MODES))
@pytest.mark.parametrize("time_key", ["t0", "t1"])
def test_estimator_output(flow: Flow, mode: str, time_key: str) -> None:
    with torch.no_grad():
        out = flow.estimate(*estimator_args(time_key, ESTIMATOR_MODES[mode]))
    assert_matches(out, "estimator.npz", f"{mode}.{time_key}.out")


@pytest.mark.parametrize("mode", list(ESTIMATOR_MODES))
def test_estimator_intermediates(flow: Flow, mode: str) -> None:
    """Every block's resnet, every one of its transformers, its conv, and the final block, as the vectors store."""
    modules = estimator_probe_modules(flow)
    _, seen = probed_estimate(flow, *estimator_args("t1", ESTIMATOR_MODES[mode]))
    stored = [name for name in vectors("estimator.npz") if name.startswith(f"{mode}.t1.dbg.")]
    assert sorted(stored) == sorted(f"{mode}.t1.dbg.{name}" for name in modules)
    for name in modules:
        assert_matches(seen[name], "estimator.npz", f"{mode}.t1.dbg.{name}")
    assert_same_visibility(seen["attn_allowed"], "estimator.npz", f"{mode}.attn_allowed")


# ---------------------------------------------------------------------------------------------------------------------
# CFM solver (cfm.npz) and the noise buffer


def test_noise_buffer_is_upstreams_seed_0_draw() -> None:
    noise = noise_buffer()
    assert noise.shape == (1, 80, NOISE_BUFFER_FRAMES) and noise.dtype == torch.float32
    digest = hashlib.sha256(noise.numpy().astype("<f4").tobytes()).hexdigest()
    assert digest == manifest()["cfm_noise"]["sha256_of_float32_le_bytes"]
    assert_matches(noise[0, 0, :10], "cfm.npz", "rand_noise_row0_first10")
    assert_matches(noise[0, 1, :3], "cfm.npz", "rand_noise_row1_first3")
    assert_matches(noise.sum(), "cfm.npz", "rand_noise_sum")
    assert_matches(noise.double().sum(), "cfm.npz", "rand_noise_sum_f64")
    assert_matches(noise_buffer(vectors("cfm.npz")["z"].shape[2]), "cfm.npz", "z")


def test_noise_buffer_is_sliced_not_redrawn() -> None:
    assert torch.equal(noise_buffer(54), noise_buffer()[:, :, :54])
    with pytest.raises(ValueError, match="15000"):
        noise_buffer(NOISE_BUFFER_FRAMES + 1)


def test_cosine_schedule() -> None:
    assert_matches(cosine_schedule(int(vectors("cfm.npz")["n_timesteps"])), "cfm.npz", "t_span")


@pytest.mark.parametrize("mode", list(ESTIMATOR_MODES))
def test_cfm_solve(flow: Flow, mode: str) -> None:
    fed_t: list[Tensor] = []
    fed_x: list[Tensor] = []

    def record(t: Tensor, x: Tensor) -> None:
        fed_t.append(t)
        fed_x.append(x[0])

    with torch.no_grad():
        mel = flow.solve(
            tensor("cfm.npz", "mu"),
            tensor("cfm.npz", "spks"),
            tensor("cfm.npz", "cond"),
            ESTIMATOR_MODES[mode],
            int(vectors("cfm.npz")["n_timesteps"]),
            on_step=record,
        )
    assert_matches(mel, "cfm.npz", f"{mode}.mel")
    assert_matches(torch.cat(fed_t), "cfm.npz", f"{mode}.t_steps")
    if f"{mode}.x_steps" in vectors("cfm.npz"):
        assert_matches(torch.stack(fed_x), "cfm.npz", f"{mode}.x_steps")


def test_euler_steps_end_at_one() -> None:
    """The accumulated times and steps stay on the schedule: t + dt of the last step is t_span[-1] = 1."""
    t, dt = euler_steps(10)[-1]
    assert float((t + dt)[0]) == float(cosine_schedule(10)[-1]) == 1.0


# ---------------------------------------------------------------------------------------------------------------------
# Whole flow.inference (flow_inference.npz)


@pytest.mark.parametrize("mode", list(ENCODER_MODES))
def test_flow_inference(flow: Flow, mode: str) -> None:
    streaming, finalize = ENCODER_MODES[mode]
    token = tensor("flow_inference.npz", "token" if finalize else "token_stream_ctx")
    with torch.no_grad():
        mel = flow.inference(
            token,
            tensor("flow_inference.npz", "prompt_token"),
            tensor("flow_inference.npz", "prompt_feat"),
            tensor("flow_inference.npz", "embedding"),
            streaming=streaming,
            finalize=finalize,
        )
    assert_matches(mel, "flow_inference.npz", f"{mode}.mel")


def test_change_speed_resamples_linearly() -> None:
    mel = torch.arange(12, dtype=torch.float32).reshape(1, 1, 12).expand(1, 80, 12)
    assert torch.equal(change_speed(mel, 1.0), mel)
    faster = change_speed(mel, 1.5)
    assert faster.shape == (1, 80, 8)
    # align_corners=False: output frame i samples input position (i + 0.5)·1.5 − 0.5 (a ramp stays a ramp).
    expected = (torch.arange(8, dtype=torch.float32) + 0.5) * 1.5 - 0.5
    assert torch.allclose(faster[0, 0], expected)

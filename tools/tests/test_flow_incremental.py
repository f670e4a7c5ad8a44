"""The incremental estimator (tools/reference/flow/incremental.py) equals today's chunk-causal re-solve.

On the upstream test-vector flow (tiny widths, estimator chunk 16 frames, encoder chunk 8 tokens):

* estimator level: the streaming estimator over the whole sequence vs the incremental one fed piece by piece (whole
  chunks, several chunks at once, a final partial chunk), both CFG rows, and its cache = the full graph's keys/values;
* stream level: upstream's streaming schedule (§1.4: first hop padded to a chunk boundary, hops doubling, 3 look-ahead
  tokens) re-solving prompt ⊕ all tokens every call vs the incremental solve of only the new frames, starting from
  a per-voice prompt cache of the prompt's complete chunks (those whose look-ahead stays inside the prompt), reused
  by two utterances; plus a chunk-causal final call.

Observed max-abs differences (torch 2.13 CPU, 1 thread): velocity on random inputs ≤ 2.1e-6; cache keys/values and
every emitted mel frame (all four prompt lengths, both utterances, final chunk included) bit-identical (0.0).
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from tools.reference.flow import Flow, IncrementalEstimator, solve_frames
from tools.reference.flow.incremental_stream import extend, prompt_prefix
from tools.reference.pipeline import stream_schedule
from tools.tests.upstream import max_abs

VELOCITY_TOLERANCE = 1e-5
MEL_TOLERANCE = 1e-5
"""fp32 summation-order differences only (the issue's exactness bound for streamed mel); observed figures above."""


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def incremental(flow: Flow) -> IncrementalEstimator:
    return IncrementalEstimator(flow.decoder.estimator).eval()


# ---------------------------------------------------------------------------------------------------------------------
# Estimator level


def estimator_batch(flow: Flow, frames: int, seed: int) -> tuple[Tensor, ...]:
    """A CFG batch of 2 with distinct rows, ``t`` of a mid-schedule step."""
    g = torch.Generator().manual_seed(seed)
    channels = flow.cfg.output_size
    x, mu, cond = (torch.randn(2, channels, frames, generator=g) for _ in range(3))
    spks = torch.randn(2, channels, generator=g)
    return x, mu, torch.tensor([0.3, 0.3]), spks, cond


@pytest.mark.parametrize("pieces", [(16, 16, 16, 16, 16, 5), (32, 48, 21), (16, 85)])
def test_incremental_velocity_equals_streaming_estimator(
    flow: Flow, incremental: IncrementalEstimator, pieces: tuple[int, ...]
) -> None:
    chunk = flow.cfg.estimator.static_chunk_size
    assert all(piece % chunk == 0 for piece in pieces[:-1]), "the cache grows by whole chunks"
    frames = sum(pieces)
    x, mu, t, spks, cond = estimator_batch(flow, frames, seed=len(pieces))
    with torch.no_grad():
        full = flow.estimate(x, torch.ones(2, 1, frames), mu, t, spks, cond, torch.tensor([True]))
        kv, conv = incremental.empty_cache()
        start = 0
        for piece in pieces:
            window = slice(start, start + piece)
            velocity, kv, conv = incremental(
                x[:, :, window], mu[:, :, window], t, spks, cond[:, :, window], kv, conv
            )
            assert max_abs(velocity, full[:, :, window]) <= VELOCITY_TOLERANCE, f"frames {window}"
            start += piece
    assert kv.shape[4] == frames


def test_cache_holds_the_full_graphs_keys_and_values(flow: Flow, incremental: IncrementalEstimator) -> None:
    """Keys/values of the first transformer block = what the full estimator computes for the same frames."""
    frames = 40
    x, mu, t, spks, cond = estimator_batch(flow, frames, seed=7)
    block = incremental.transformer_blocks()[0]
    seen: dict[str, Tensor] = {}
    handles = [
        block.attn1.to_k.register_forward_hook(lambda _m, _a, out: seen.setdefault("k", out)),
        block.attn1.to_v.register_forward_hook(lambda _m, _a, out: seen.setdefault("v", out)),
    ]
    try:
        with torch.no_grad():
            flow.estimate(x, torch.ones(2, 1, frames), mu, t, spks, cond, torch.tensor([True]))
    finally:
        for handle in handles:
            handle.remove()
    seen_full = dict(seen)
    seen.clear()
    with torch.no_grad():
        kv, _ = incremental.empty_cache()
        _, kv, _ = incremental(x[:, :, :16], mu[:, :, :16], t, spks, cond[:, :, :16], kv, incremental.empty_cache()[1])
    heads, head_dim = flow.cfg.estimator.num_heads, flow.cfg.estimator.attention_head_dim
    for index, name in enumerate(("k", "v")):
        expected = seen_full[name][:, :16].reshape(2, 16, heads, head_dim).transpose(1, 2)
        assert max_abs(kv[0, index], expected) <= VELOCITY_TOLERANCE


def test_cache_must_hold_whole_chunks(flow: Flow, incremental: IncrementalEstimator) -> None:
    frames = 5
    x, mu, t, spks, cond = estimator_batch(flow, frames, seed=3)
    with torch.no_grad():
        _, kv, conv = incremental(x, mu, t, spks, cond, *incremental.empty_cache())
        with pytest.raises(ValueError, match="whole 16-frame chunks, got 5 frames"):
            solve_frames(incremental, mu[:1], spks[:1], cond[:1], x[:1], [(kv, conv)], 1, flow.cfg.inference_cfg_rate)
        with pytest.raises(ValueError, match="one step count"):
            solve_frames(incremental, mu[:1], spks[:1], cond[:1], x[:1], [(kv, conv)], 2, flow.cfg.inference_cfg_rate)


# ---------------------------------------------------------------------------------------------------------------------
# Stream level: upstream's schedule, today's re-solve vs the incremental solve with a per-voice prompt cache


def voice(flow: Flow, prompt_tokens: int) -> tuple[Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(100 + prompt_tokens)
    token = torch.randint(0, flow.cfg.vocab_size, (1, prompt_tokens), generator=g)
    feat = torch.randn(1, flow.cfg.token_mel_ratio * prompt_tokens, flow.cfg.output_size, generator=g)
    return token, feat, torch.randn(1, flow.cfg.spk_embed_dim, generator=g)


@pytest.mark.parametrize("prompt_tokens", [7, 18, 21, 24])
def test_incremental_stream_equals_resolving_stream(
    flow: Flow, incremental: IncrementalEstimator, prompt_tokens: int
) -> None:
    """Every non-final chunk of two utterances sharing one prompt cache, and a chunk-causal final chunk.

    Prompt lengths: 7 (no complete prompt chunk), 18 (2 chunks but the 2nd's look-ahead leaves the prompt: 1 cached),
    21 (2 cached + partial), 24 (3 complete, only 2 cached: the 3rd's look-ahead reaches the first utterance tokens).
    """
    steps = flow.cfg.n_timesteps
    ratio, lookahead = flow.cfg.token_mel_ratio, flow.cfg.pre_lookahead_len
    prompt = voice(flow, prompt_tokens)
    prompt_token, prompt_feat, embedding = prompt
    streaming = torch.tensor([True])
    with torch.no_grad():
        cache = prompt_prefix(flow, incremental, *prompt, steps)
        assert cache.frames == (max(prompt_tokens - lookahead, 0) // flow.cfg.encoder.static_chunk_size) * (
            flow.cfg.encoder.static_chunk_size * ratio
        )
        for utterance in range(2):
            g = torch.Generator().manual_seed(utterance)
            tokens = torch.randint(0, flow.cfg.vocab_size, (1, 70), generator=g)
            chunk_tokens = flow.cfg.encoder.static_chunk_size
            *calls, (offset, _, final) = stream_schedule(
                prompt_tokens, tokens.shape[1], lookahead, chunk=chunk_tokens, max_hop=4 * chunk_tokens
            )
            assert final and not any(call[2] for call in calls)
            assert len(calls) >= 3
            state = cache
            for call_offset, used, _ in calls:
                today = flow.inference(tokens[:, :used], prompt_token, prompt_feat, embedding, streaming, False)
                today = today[:, :, ratio * call_offset :]
                mel, state = extend(flow, incremental, *prompt, tokens[:, :used], False, state, steps)
                emitted = mel[:, :, mel.shape[2] - today.shape[2] :]
                assert today.shape[2] == ratio * (used - lookahead - call_offset)
                assert max_abs(emitted, today) <= MEL_TOLERANCE, f"utterance {utterance}, offset {call_offset}"
            today = flow.inference(tokens, prompt_token, prompt_feat, embedding, streaming, True)
            today = today[:, :, ratio * offset :]
            mel, _ = extend(flow, incremental, *prompt, tokens, True, state, steps)
            assert max_abs(mel[:, :, mel.shape[2] - today.shape[2] :], today) <= MEL_TOLERANCE

"""Streaming flow on the incremental estimator: a per-voice prompt cache and calls that solve only their new frames.

What the TypeScript ``FlowStream`` is to mirror (issue #11). Each call encodes prompt ⊕ tokens with the full encoder
graph as today (``streaming=True``), then solves only the frames after those its :class:`SolvedPrefix` holds. Proven
equal to today's re-solve of the whole prefix in tools/tests/test_flow_incremental.py.

Where exactness ends, and how this handles it:

* the prompt cache holds only the prompt's complete chunks whose last token's look-ahead (``pre_lookahead_len``
  tokens, spec §5.2 step 3) stays inside the prompt — a chunk ending within 3 tokens of the prompt's end changes with
  the first utterance tokens, so it is solved with them (like the prompt's partial chunk);
* every non-final call of upstream's schedule ends on a chunk boundary (its first hop is padded, §1.4), so the prefix
  stays extendable; a call that ends inside a chunk may only be the last (``check_cache_frames`` refuses to extend it);
* upstream's final call uses full attention (§1.4 item 3), which changes every frame: it needs the full ``flow_step``
  graph; a chunk-causal final call (``finalize=True`` here) is exact against ``streaming=True, finalize=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .cfm import noise_buffer
from .incremental import IncrementalEstimator, StepCache, solve_frames
from .model import Flow, prompt_condition


@dataclass(frozen=True)
class SolvedPrefix:
    """Per-step caches of the first ``frames`` frames (``None`` when no frame is solved yet). Never mutated, so one
    prompt cache serves any number of utterances."""

    caches: list[StepCache] | None
    frames: int


def prompt_prefix(
    flow: Flow, incremental: IncrementalEstimator, prompt_token: Tensor, prompt_feat: Tensor, embedding: Tensor,
    steps: int,
) -> SolvedPrefix:
    """Solve once per voice and step count the prompt's complete chunks that no utterance token can change."""
    lookahead, chunk_tokens = flow.cfg.pre_lookahead_len, flow.cfg.encoder.static_chunk_size
    split = prompt_token.shape[1] - lookahead
    chunks = max(split, 0) // chunk_tokens
    if chunks == 0:
        return SolvedPrefix(None, 0)
    mu, spks = flow.encode(prompt_token[:, :split], prompt_token[:, split:], torch.tensor([True]), embedding)
    frames = chunks * chunk_tokens * flow.cfg.token_mel_ratio
    cond = prompt_condition(prompt_feat, prompt_feat.shape[1])[:, :, :frames]
    noise = noise_buffer(frames) * flow.cfg.temperature
    _, caches = solve_frames(
        incremental, mu[:, :, :frames], spks, cond, noise, None, steps, flow.cfg.inference_cfg_rate
    )
    return SolvedPrefix(caches, frames)


def extend(
    flow: Flow,
    incremental: IncrementalEstimator,
    prompt_token: Tensor,
    prompt_feat: Tensor,
    embedding: Tensor,
    tokens: Tensor,
    finalize: bool,
    prefix: SolvedPrefix,
    steps: int,
) -> tuple[Tensor, SolvedPrefix]:
    """One streaming flow call on ``tokens`` (the last ``pre_lookahead_len`` are look-ahead unless ``finalize``) →
    mel of every frame after ``prefix`` ``[1, 80, N]`` and the grown prefix."""
    all_tokens = torch.cat([prompt_token, tokens], dim=1)
    split = all_tokens.shape[1] - (0 if finalize else flow.cfg.pre_lookahead_len)
    mu, spks = flow.encode(all_tokens[:, :split], all_tokens[:, split:], torch.tensor([True]), embedding)
    end, done = mu.shape[2], prefix.frames
    cond = prompt_condition(prompt_feat, end)
    noise = noise_buffer(end)[:, :, done:] * flow.cfg.temperature
    mel, caches = solve_frames(
        incremental, mu[:, :, done:], spks, cond[:, :, done:], noise, prefix.caches, steps,
        flow.cfg.inference_cfg_rate,
    )
    return mel, SolvedPrefix(caches, end)

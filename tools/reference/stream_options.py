"""The streaming schedule options the library adds to upstream's (§1.4), as a reference for the long-stream goldens:
a small first hop (lower time to first audio) and bounded context (each flow call sees at most a window of earlier
tokens instead of the whole prefix). Written from their definition in ``docs/architecture.md`` / the chunk-policy
module comment, independently of the TypeScript code:

* boundaries: the first one is ``first_hop`` when given, otherwise upstream's grid (25 + pad, then hops ×2 up to
  100); every later boundary is the first grid boundary at least ``min_hop`` tokens after the current offset;
* a non-final call needs ``boundary + look-ahead`` tokens; the final call takes every token with full attention;
* bounded context K: a call passes prompt ⊕ ``tokens[s:end]`` with ``s`` = the largest multiple of the chunk size
  ≤ offset − K (at least 0), and every frame after the prompt starts from the CFM noise column it would have in the
  full-prefix call (column + 2s), so a frame's noise does not depend on the window.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tools.reference.flow import Flow, euler_steps, noise_buffer
from tools.reference.flow.masks import as_streaming_flag
from tools.reference.flow.model import prompt_condition
from tools.reference.hift import HiFT, StreamingHift
from tools.reference.pipeline import MAX_TOKEN_HOP, TOKEN_HOP, StreamChunk, Voice, noise_source
from tools.reference.rng import Xoshiro128

MIN_HOP = 4
"""Smallest chunk: a first vocoder chunk must cover the HiFT mel cache (8 frames = 4 tokens)."""


@dataclass(frozen=True)
class StreamOptions:
    first_hop: int | None = None
    context_tokens: int | None = None
    chunk: int = TOKEN_HOP
    max_hop: int = MAX_TOKEN_HOP
    min_hop: int = MIN_HOP


@dataclass(frozen=True)
class PlannedCall:
    context_start: int
    offset: int
    end: int
    """Tokens passed: ``tokens[context_start:end]``."""
    final: bool


def grid_boundaries(prompt_tokens: int, chunk: int, max_hop: int) -> Iterator[int]:
    """Upstream's emitted-token boundaries: 25 + pad, then + 50, + 100, + 100 … (§1.4 steps 1–2)."""
    boundary = chunk + math.ceil(prompt_tokens / chunk) * chunk - prompt_tokens
    hop = chunk
    while True:
        yield boundary
        hop = min(max_hop, 2 * hop)
        boundary += hop


def plan_stream(prompt_tokens: int, total_tokens: int, lookahead: int, options: StreamOptions) -> list[PlannedCall]:
    """Every flow call of a stream once the LM has produced ``total_tokens`` tokens."""
    calls: list[PlannedCall] = []
    offset = 0
    while True:
        if not calls and options.first_hop is not None:
            boundary = options.first_hop
        else:
            boundary = next(b for b in grid_boundaries(prompt_tokens, options.chunk, options.max_hop)
                            if b >= offset + options.min_hop)
        start = 0
        if options.context_tokens is not None:
            start = max(0, (offset - options.context_tokens) // options.chunk * options.chunk)
        if total_tokens >= boundary + lookahead:
            calls.append(PlannedCall(start, offset, boundary + lookahead, False))
            offset = boundary
        else:
            calls.append(PlannedCall(start, offset, total_tokens, True))
            return calls


def windowed_flow_mel(flow: Flow, voice: Voice, window: np.ndarray, context_start: int, finalize: bool) -> Tensor:
    """``flow.inference`` on prompt ⊕ ``window`` (= ``tokens[context_start:…]``) with each frame after the prompt
    starting from noise column ``j + 2·context_start``; mel ``[1, 80, …]`` without the prompt frames."""
    tokens = torch.from_numpy(np.concatenate([voice.prompt_tokens, window]).astype(np.int64)).unsqueeze(0)
    prompt_feat = torch.from_numpy(voice.prompt_feat).unsqueeze(0)
    embedding = torch.from_numpy(voice.embedding).unsqueeze(0)
    lookahead = 0 if finalize else flow.cfg.pre_lookahead_len
    split = tokens.shape[1] - lookahead
    flag = as_streaming_flag(not finalize)
    mu, spks = flow.encode(tokens[:, :split], tokens[:, split:], flag, embedding)
    frames = mu.shape[2]
    prompt_frames = prompt_feat.shape[1]
    skip = flow.cfg.token_mel_ratio * context_start
    noise = noise_buffer(frames + skip)
    x = torch.cat([noise[:, :, :prompt_frames], noise[:, :, prompt_frames + skip :]], dim=2).to(mu)
    x = x * flow.cfg.temperature
    cond = prompt_condition(prompt_feat, frames)
    for t, dt in euler_steps(flow.cfg.n_timesteps):
        x = flow.cfg_euler_step(x, mu, spks, cond, t, dt, flag)
    return x[:, :, prompt_frames:]


@torch.no_grad()
def token2wav_stream_options(flow: Flow, hift: HiFT, voice: Voice, tokens: np.ndarray, noise_rng: Xoshiro128,
                             options: StreamOptions) -> list[StreamChunk]:
    """The streaming path over a complete token list under ``options``; ``StreamChunk.tokens_used`` is the call's
    end (its window starts at the matching :class:`PlannedCall` ``context_start``)."""
    vocoder = StreamingHift(hift)
    noise = noise_source(noise_rng, hift.cfg.nb_harmonics + 1)
    chunks: list[StreamChunk] = []
    for call in plan_stream(len(voice.prompt_tokens), len(tokens), flow.cfg.pre_lookahead_len, options):
        mel = windowed_flow_mel(flow, voice, tokens[call.context_start : call.end], call.context_start, call.final)
        mel = mel[:, :, (call.offset - call.context_start) * flow.cfg.token_mel_ratio :]
        audio = vocoder.process(mel, noise, finalize=call.final)
        chunks.append(StreamChunk(call.end, call.offset, mel, audio, call.final))
    return chunks

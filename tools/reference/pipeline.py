"""Reference orchestration of CosyVoice2Model for the fixtures: voice prompt alignment (§3.5), offline token2wav
(§1.3) and the streaming schedule (§1.4, §5.7, §6.4) with a per-request hop (the fix of upstream PR #1849)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tools.reference.flow import Flow
from tools.reference.hift import HiFT, StreamingHift
from tools.reference.rng import Xoshiro128

TOKEN_HOP = 25
MAX_TOKEN_HOP = 100


@dataclass(frozen=True)
class Voice:
    """A cloned voice: what ``add_zero_shot_spk`` caches (§3.6)."""

    prompt_text_ids: list[int]
    prompt_tokens: np.ndarray
    """int64 [L]"""
    prompt_feat: np.ndarray
    """float32 [2L, 80] (time-major, as flow.inference takes it)"""
    embedding: np.ndarray
    """float32 [192]"""


def align_prompt(tokens: np.ndarray, mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """§3.5: L = min(⌊T_mel/2⌋, n_tokens); keep 2L mel frames ([80, T] → [2L, 80]) and L tokens."""
    n = min(mel.shape[1] // 2, tokens.shape[0])
    return tokens[:n].astype(np.int64), np.ascontiguousarray(mel[:, : 2 * n].T)


def noise_source(rng: Xoshiro128, harmonics: int) -> Callable[[int], Tensor]:
    """HiFT excitation noise ``[1, samples, harmonics]`` drawn sample-major from ``rng`` (the TS vocoder's order)."""

    def draw(samples: int) -> Tensor:
        values = rng.normals(samples * harmonics).astype(np.float32)
        return torch.from_numpy(values.reshape(1, samples, harmonics))

    return draw


def flow_mel(flow: Flow, voice: Voice, tokens: np.ndarray, streaming: bool, finalize: bool) -> Tensor:
    """``flow.inference`` on prompt ⊕ tokens; mel ``[1, 80, 2·len(tokens) (− 2·look-ahead)]`` without the prompt."""
    return flow.inference(
        torch.from_numpy(tokens.astype(np.int64)).unsqueeze(0),
        torch.from_numpy(voice.prompt_tokens).unsqueeze(0),
        torch.from_numpy(voice.prompt_feat).unsqueeze(0),
        torch.from_numpy(voice.embedding).unsqueeze(0),
        streaming=streaming,
        finalize=finalize,
    )


@torch.no_grad()
def token2wav_offline(flow: Flow, hift: HiFT, voice: Voice, tokens: np.ndarray, noise_rng: Xoshiro128) -> Tensor:
    """Non-streaming path (§1.3): full-attention flow over all tokens, one HiFT call. Returns ``[1, 480·2N]``."""
    mel = flow_mel(flow, voice, tokens, streaming=False, finalize=True)
    noise = noise_source(noise_rng, hift.cfg.nb_harmonics + 1)(mel.shape[2] * hift.cfg.samples_per_frame)
    wave, _ = hift.inference(mel, noise)
    return wave


@dataclass(frozen=True)
class StreamChunk:
    tokens_used: int
    """Tokens passed to the flow for this chunk (offset + hop + look-ahead, or all for the final chunk)."""
    token_offset: int
    mel: Tensor
    """Mel frames of this chunk (after dropping 2·offset)"""
    audio: Tensor
    """Samples emitted for this chunk ``[1, n]``"""
    final: bool


def stream_schedule(prompt_tokens: int, total_tokens: int, lookahead: int, chunk: int = TOKEN_HOP,
                    max_hop: int = MAX_TOKEN_HOP) -> list[tuple[int, int, bool]]:
    """(offset, tokens to pass, final) per flow call once the LM has produced ``total_tokens`` tokens (§1.4)."""
    pad = math.ceil(prompt_tokens / chunk) * chunk - prompt_tokens
    calls: list[tuple[int, int, bool]] = []
    offset, hop, first = 0, chunk, True
    while True:
        this_hop = hop + pad if first else hop
        if total_tokens - offset >= this_hop + lookahead:
            calls.append((offset, offset + this_hop + lookahead, False))
            offset += this_hop
            hop = min(max_hop, 2 * hop)
            first = False
        else:
            calls.append((offset, total_tokens, True))
            return calls


@torch.no_grad()
def token2wav_streaming(flow: Flow, hift: HiFT, voice: Voice, tokens: np.ndarray,
                        noise_rng: Xoshiro128) -> list[StreamChunk]:
    """Streaming path over an already complete token list, chunk by chunk exactly as the LM-paced loop would run
    once all tokens exist (every non-final call: chunk masks + real look-ahead; final call: full attention)."""
    lookahead = flow.cfg.pre_lookahead_len
    vocoder = StreamingHift(hift)
    noise = noise_source(noise_rng, hift.cfg.nb_harmonics + 1)
    chunks: list[StreamChunk] = []
    for offset, used, final in stream_schedule(len(voice.prompt_tokens), len(tokens), lookahead):
        mel = flow_mel(flow, voice, tokens[:used], streaming=not final, finalize=final)
        mel = mel[:, :, offset * flow.cfg.token_mel_ratio :]
        audio = vocoder.process(mel, noise, finalize=final)
        chunks.append(StreamChunk(used, offset, mel, audio, final))
    return chunks

"""Independent PyTorch reference of the CosyVoice 2 speech-token LM (``Qwen2LM``, spec §4).

Written from ``shared/spec/cosyvoice2-inference.md`` §4 and the upstream-vectors README (LLM sections); no upstream or
Hugging Face model code is used. The module tree only exists to reproduce the official ``llm.pt`` key layout
(``shared/spec/cosyvoice2-state-dicts.md`` §1), so that ``load_strict`` works on the released checkpoint:

    Qwen2LM                      llm_embedding.weight          (SOS, TASK_ID)
      .llm   Qwen2Wrapper        llm.model.model.*             (Qwen2 body: embed_tokens, layers, norm)
        .model Qwen2WithTiedHead llm.model.lm_head.weight      (tied to embed_tokens, never used)
      .llm_decoder               llm_decoder.weight / .bias    (head over the V + 3 speech-side ids)
      .speech_embedding          speech_embedding.weight       (V + 3 rows: speech ids, EOS, unused stop, FILL)

Contents, in pipeline order: the Qwen2 backbone and the graph-shaped step function (:meth:`Qwen2LM.forward_step`),
input-row assembly for the unistream modes (§4.2), the RAS sampler (§4.4), the unistream decode loop (§4.3) and
the bistream state machine (§4.6). Sampling and decoding take injectable callables, so the upstream call logs can be
replayed deterministically.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tools.reference.checkpoint import CheckpointMismatchError, load_strict
from tools.reference.config import LlmConfig

KvPair = tuple[Tensor, Tensor]
"""One layer's cache: key and value, each ``[1, num_kv_heads, past, head_dim]``."""


# ---------------------------------------------------------------------------------------------------------------------
# Qwen2 backbone (spec §4.1)
# ---------------------------------------------------------------------------------------------------------------------


class RmsNorm(nn.Module):
    """``weight · x / sqrt(mean(x²) + eps)`` over the last axis, computed in float32 (Qwen2 RMSNorm, no bias)."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        x32 = x.to(torch.float32)
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


def rope_inverse_frequencies(head_dim: int, theta: float, device: torch.device | None = None) -> Tensor:
    """``θ^(−2i/D)`` for i = 0 … D/2−1 in float32.

    Computed on the fly instead of stored: the official checkpoint has no ``inv_freq`` key (it is a non-persistent
    buffer upstream, state-dicts §1), and in the exported graph this folds into a constant.
    """
    exponents = torch.arange(0, head_dim, 2, dtype=torch.int64, device=device).to(torch.float32) / head_dim
    return 1.0 / (theta**exponents)


def rope_cos_sin(position_ids: Tensor, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    """cos/sin tables ``[1, 1, S, D]`` for the rotate-half (NeoX) layout: both halves share the frequencies."""
    inv_freq = rope_inverse_frequencies(head_dim, theta, position_ids.device)
    angles = position_ids.to(torch.float32).unsqueeze(-1) * inv_freq  # [1, S, D/2]
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos().unsqueeze(1), angles.sin().unsqueeze(1)


def rotate_half(x: Tensor) -> Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    return x * cos + rotate_half(x) * sin


def causal_padding_bias(attention_mask: Tensor, num_new: int) -> Tensor:
    """Additive attention bias ``[1, 1, S, P+S]``: 0 where allowed, float32 min elsewhere.

    New row i sits at cache index ``P + i`` and may attend to cache index j iff ``j ≤ P + i`` and
    ``attention_mask[0, j] == 1``. Causality is by cache index, not by ``position_ids`` (they coincide for every
    CosyVoice 2 call, §4.2/§4.6). The finite minimum instead of −inf keeps a fully masked row finite (uniform)
    rather than NaN; exp(min − max) is exactly 0 otherwise.
    """
    total = attention_mask.shape[1]
    key_index = torch.arange(total, device=attention_mask.device)
    query_index = torch.arange(num_new, device=attention_mask.device) + (total - num_new)
    allowed = (key_index.unsqueeze(0) <= query_index.unsqueeze(1)) & attention_mask[0].to(torch.bool).unsqueeze(0)
    blocked = torch.full((), torch.finfo(torch.float32).min, dtype=torch.float32)
    return torch.where(allowed, torch.zeros((), dtype=torch.float32), blocked).unsqueeze(0).unsqueeze(0)


class Qwen2Attention(nn.Module):
    """Grouped-query self-attention: q/k/v with bias, o_proj without (spec §4.1)."""

    def __init__(self, cfg: LlmConfig) -> None:
        super().__init__()
        self.num_heads = cfg.num_heads
        self.num_kv_heads = cfg.num_kv_heads
        self.head_dim = cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.num_heads * cfg.head_dim, bias=True)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.num_kv_heads * cfg.head_dim, bias=True)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.num_kv_heads * cfg.head_dim, bias=True)
        self.o_proj = nn.Linear(cfg.num_heads * cfg.head_dim, cfg.hidden_size, bias=False)

    def _split_heads(self, x: Tensor, heads: int) -> Tensor:
        return x.view(1, -1, heads, self.head_dim).transpose(1, 2)  # [1, heads, S, D]

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, bias: Tensor, past: KvPair) -> tuple[Tensor, KvPair]:
        q = apply_rope(self._split_heads(self.q_proj(x), self.num_heads), cos, sin)
        k = apply_rope(self._split_heads(self.k_proj(x), self.num_kv_heads), cos, sin)
        v = self._split_heads(self.v_proj(x), self.num_kv_heads)
        keys = torch.cat([past[0], k], dim=2)
        values = torch.cat([past[1], v], dim=2)
        # GQA: query head h uses kv head h // group (Qwen2's repeat_kv order). Grouping the query heads and
        # broadcasting the matmul over the group axis avoids materialising group copies of the whole cache.
        group = self.num_heads // self.num_kv_heads
        q_grouped = q.reshape(1, self.num_kv_heads, group, -1, self.head_dim)  # [1, KVH, G, S, D]
        scores = torch.matmul(q_grouped, keys.unsqueeze(2).transpose(-1, -2)) * (self.head_dim**-0.5)
        probs = torch.softmax(scores + bias.unsqueeze(1), dim=-1)  # bias [1, 1, 1, S, T]
        context = torch.matmul(probs, values.unsqueeze(2))  # [1, KVH, G, S, D]
        context = context.reshape(1, self.num_heads, -1, self.head_dim).transpose(1, 2)
        return self.o_proj(context.reshape(1, -1, self.num_heads * self.head_dim)), (keys, values)


class Qwen2Mlp(nn.Module):
    """SwiGLU feed-forward ``down(silu(gate(x)) · up(x))``, no biases."""

    def __init__(self, cfg: LlmConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Qwen2DecoderLayer(nn.Module):
    """Pre-norm block: ``x + attn(norm(x))`` then ``x + mlp(norm(x))``."""

    def __init__(self, cfg: LlmConfig) -> None:
        super().__init__()
        self.self_attn = Qwen2Attention(cfg)
        self.mlp = Qwen2Mlp(cfg)
        self.input_layernorm = RmsNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RmsNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, bias: Tensor, past: KvPair) -> tuple[Tensor, KvPair]:
        attended, present = self.self_attn(self.input_layernorm(x), cos, sin, bias, past)
        x = x + attended
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class Qwen2Backbone(nn.Module):
    """The Qwen2 body (state-dict prefix ``llm.model.model.``): text embedding table, layers, final norm."""

    def __init__(self, cfg: LlmConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.text_vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Qwen2DecoderLayer(cfg) for _ in range(cfg.num_layers))
        self.norm = RmsNorm(cfg.hidden_size, cfg.rms_norm_eps)


class TiedHead(nn.Module):
    """Holds ``lm_head.weight`` as the *same* parameter as ``embed_tokens.weight``.

    The text LM head is never used by CosyVoice 2 (logits come from ``llm_decoder``, §4.1) but the key is in the
    official file and ``strict=True`` requires it (state-dicts §1). Sharing the parameter keeps the unique parameter
    count at 505 803 812 and avoids allocating a second 151936 × 896 table.
    """

    def __init__(self, tied_to: Tensor) -> None:
        super().__init__()
        assert isinstance(tied_to, nn.Parameter), "the tied weight is the embedding's Parameter, registered here too"
        self.weight = tied_to


class Qwen2WithTiedHead(nn.Module):
    """State-dict prefix ``llm.model.``: body + tied text head (the shape of HF ``Qwen2ForCausalLM``)."""

    def __init__(self, cfg: LlmConfig) -> None:
        super().__init__()
        self.model = Qwen2Backbone(cfg)
        self.lm_head = TiedHead(self.model.embed_tokens.weight)


class Qwen2Wrapper(nn.Module):
    """State-dict prefix ``llm.``: the upstream ``Qwen2Encoder`` level, which only wraps the causal LM."""

    def __init__(self, cfg: LlmConfig) -> None:
        super().__init__()
        self.model = Qwen2WithTiedHead(cfg)


class Qwen2LM(nn.Module):
    """CosyVoice 2 speech-token LM with the official ``llm.pt`` key layout (module order = key order)."""

    def __init__(self, cfg: LlmConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.llm_embedding = nn.Embedding(2, cfg.hidden_size)  # row 0 = SOS, row 1 = TASK_ID (§4.2)
        self.llm = Qwen2Wrapper(cfg)
        self.llm_decoder = nn.Linear(cfg.hidden_size, cfg.speech_rows, bias=True)
        self.speech_embedding = nn.Embedding(cfg.speech_rows, cfg.hidden_size)

    @property
    def backbone(self) -> Qwen2Backbone:
        return self.llm.model.model

    def empty_past(self) -> list[KvPair]:
        """A zero-length KV cache (P = 0) for the first call."""
        shape = (1, self.cfg.num_kv_heads, 0, self.cfg.head_dim)
        device = self.llm_decoder.weight.device
        return [(torch.zeros(shape, device=device), torch.zeros(shape, device=device)) for _ in self.backbone.layers]

    def forward_hidden(
        self, inputs_embeds: Tensor, attention_mask: Tensor, position_ids: Tensor, past: Sequence[KvPair]
    ) -> tuple[Tensor, list[KvPair]]:
        """Hidden states of every new row ``[1, S, H]`` after the final RMSNorm (§4.1), and the grown cache."""
        cos, sin = rope_cos_sin(position_ids, self.cfg.head_dim, self.cfg.rope_theta)
        bias = causal_padding_bias(attention_mask, inputs_embeds.shape[1])
        x = inputs_embeds
        presents: list[KvPair] = []
        for layer, layer_past in zip(self.backbone.layers, past, strict=True):
            x, present = layer(x, cos, sin, bias, layer_past)
            presents.append(present)
        return self.backbone.norm(x), presents

    def forward_step(
        self, inputs_embeds: Tensor, attention_mask: Tensor, position_ids: Tensor, past: Sequence[KvPair]
    ) -> tuple[Tensor, Tensor, list[KvPair]]:
        """One LM call, shaped like the exported ``llm`` graph (docs/model-package.md).

        Args:
            inputs_embeds: ``[1, S, H]`` new rows (prefill: the whole prefix; decode: one row).
            attention_mask: ``[1, P + S]`` int64, 1 = attend; causal masking is added inside.
            position_ids: ``[1, S]`` int64 RoPE positions.
            past: per layer ``(key, value)`` ``[1, KVH, P, D]``; P may be 0.

        Returns:
            ``logits_last`` ``[1, V + 3]`` (raw ``llm_decoder`` output of the last row), ``hidden_last`` ``[1, H]``,
            ``presents`` (per layer ``[1, KVH, P + S, D]``).
        """
        hidden, presents = self.forward_hidden(inputs_embeds, attention_mask, position_ids, past)
        hidden_last = hidden[:, -1]
        return self.llm_decoder(hidden_last), hidden_last, presents

    forward = forward_step

    def speech_side_table(self) -> Tensor:
        """The ``embed_speech`` table: ``speech_embedding`` (ids ``0 … V+2``), SOS (``V+3``), TASK_ID (``V+4``)."""
        return torch.cat([self.speech_embedding.weight, self.llm_embedding.weight], dim=0)


def load_qwen2lm(checkpoint: str | Path | dict[str, Tensor], cfg: LlmConfig) -> Qwen2LM:
    """Build, strictly load and switch to eval mode.

    Raises :class:`CheckpointMismatchError` naming every bad key, and also if ``lm_head`` differs from
    ``embed_tokens``: the module ties them, so an untied checkpoint would silently overwrite one with the other.
    """
    if isinstance(checkpoint, dict):
        state = checkpoint
    else:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    head, table = state.get("llm.model.lm_head.weight"), state.get("llm.model.model.embed_tokens.weight")
    if head is not None and table is not None and head.shape == table.shape and not torch.equal(head, table):
        raise CheckpointMismatchError(
            "llm.pt: llm.model.lm_head.weight is not tied to llm.model.model.embed_tokens.weight"
        )
    model = Qwen2LM(cfg)
    load_strict(model, state, "llm.pt")
    return model.eval()


def count_parameters(cfg: LlmConfig) -> int:
    """Unique parameters (the tied head counted once); built on the meta device, so nothing is allocated."""
    with torch.device("meta"):
        model = Qwen2LM(cfg)
    return sum(p.numel() for p in model.parameters())  # parameters() de-duplicates shared tensors


# ---------------------------------------------------------------------------------------------------------------------
# Input rows (spec §4.2, §4.6)
# ---------------------------------------------------------------------------------------------------------------------


class RowKind(enum.IntEnum):
    """Where an LM input row comes from (codes as in ``bistream.call_row_kind``)."""

    SOS = 0
    TASK_ID = 1
    TEXT = 2
    SPEECH = 3


@dataclass(frozen=True)
class InputRow:
    kind: RowKind
    id: int = -1
    """Text id (TEXT) or speech-side id (SPEECH); -1 for SOS / TASK_ID."""


SOS_ROW = InputRow(RowKind.SOS)
TASK_ID_ROW = InputRow(RowKind.TASK_ID)


def text_rows(ids: Iterable[int]) -> list[InputRow]:
    return [InputRow(RowKind.TEXT, int(i)) for i in ids]


def speech_rows(ids: Iterable[int]) -> list[InputRow]:
    return [InputRow(RowKind.SPEECH, int(i)) for i in ids]


def row_embedding(model: Qwen2LM, row: InputRow) -> Tensor:
    """The table row for one input row (pure lookup, so bit-exact with upstream)."""
    if row.kind is RowKind.SOS:
        return model.llm_embedding.weight[0]
    if row.kind is RowKind.TASK_ID:
        return model.llm_embedding.weight[1]
    if row.kind is RowKind.TEXT:
        return model.backbone.embed_tokens.weight[row.id]
    return model.speech_embedding.weight[row.id]


def embed_rows(model: Qwen2LM, rows: Sequence[InputRow]) -> Tensor:
    """``[1, len(rows), H]``."""
    if not rows:
        return model.llm_decoder.weight.new_zeros(1, 0, model.cfg.hidden_size)
    return torch.stack([row_embedding(model, row) for row in rows]).unsqueeze(0)


@dataclass(frozen=True)
class UnistreamPrompt:
    """What one unistream request feeds the LM (§1.2, §4.2)."""

    text_ids: Sequence[int]
    """Target text ids; the only input that decides min/max length (§4.3, §10.2 trap 3)."""
    prompt_text_ids: Sequence[int] = ()
    """Prompt transcript (zero-shot) or instruction ending in ``<|endofprompt|>`` (instruct2)."""
    prompt_speech_ids: Sequence[int] = ()
    """Prompt speech tokens (zero-shot only)."""


def zero_shot_prompt(
    prompt_text_ids: Sequence[int], text_ids: Sequence[int], prompt_speech_ids: Sequence[int]
) -> UnistreamPrompt:
    return UnistreamPrompt(text_ids, prompt_text_ids, prompt_speech_ids)


def cross_lingual_prompt(text_ids: Sequence[int]) -> UnistreamPrompt:
    """Cross-lingual cloning: the prompt voice reaches only the flow; the LM sees [SOS, text, TASK]."""
    return UnistreamPrompt(text_ids)


def sft_prompt(text_ids: Sequence[int]) -> UnistreamPrompt:
    """Built-in speaker: same LM input as cross-lingual."""
    return UnistreamPrompt(text_ids)


def instruct2_prompt(instruction_ids: Sequence[int], text_ids: Sequence[int]) -> UnistreamPrompt:
    """Instruction ids must already end with ``<|endofprompt|>`` (151646); the LM does not check it."""
    return UnistreamPrompt(text_ids, instruction_ids)


def unistream_rows(prompt: UnistreamPrompt) -> list[InputRow]:
    """``[SOS] ⊕ text(prompt_text ⊕ text) ⊕ [TASK_ID] ⊕ speech(prompt_speech)`` (§4.2)."""
    return [
        SOS_ROW,
        *text_rows(prompt.prompt_text_ids),
        *text_rows(prompt.text_ids),
        TASK_ID_ROW,
        *speech_rows(prompt.prompt_speech_ids),
    ]


def length_bounds(num_text_ids: int, cfg: LlmConfig) -> tuple[int, int]:
    """``(min_len, max_len)`` = ``int(n · 2)``, ``int(n · 20)`` with n = target text ids only (§4.3)."""
    return int(num_text_ids * cfg.min_token_text_ratio), int(num_text_ids * cfg.max_token_text_ratio)


# ---------------------------------------------------------------------------------------------------------------------
# Sampling: EOS masking, nucleus filter, repetition-aware sampling (spec §4.4)
# ---------------------------------------------------------------------------------------------------------------------

UniformSource = Callable[[], float]
"""Returns one uniform draw in [0, 1); e.g. ``random.Random(seed).random``."""

RasVariant = Literal["current", "dec2024"]
"""RAS fallback: ``current`` (upstream since 2026-02-04) excludes the repeated id; ``dec2024`` (the published
CosyVoice 2 results) redraws from the full distribution including it (§4.4 step 3)."""

Sampler = Callable[[Tensor, Sequence[int], bool], int]
"""``(logp [V+3], history of decided tokens, ignore_eos) -> token`` — the upstream ``sampling_ids`` slot."""


def mask_eos(logp: Tensor, eos_id: int, ignore_eos: bool) -> Tensor:
    """Copy of ``logp`` with only the EOS id set to −inf when EOS is forbidden (§4.4 step 1; 6562/6563 stay)."""
    scores = logp.clone()
    if ignore_eos:
        scores[eos_id] = float("-inf")
    return scores


@dataclass(frozen=True)
class NucleusSet:
    ids: Tensor
    """Kept ids in collection order (probabilities descending, stable), int64."""
    probs: Tensor
    """Their probabilities, unnormalised (what the multinomial draw receives), float32."""
    cum: float
    """float32 running sum of ``probs``."""


def nucleus_filter(scores: Tensor, top_p: float, top_k: int) -> NucleusSet:
    """Top-p/top-k set of §4.4 step 2.

    p = softmax(scores) in float32, sorted descending with a stable sort; items are added while
    ``cum < top_p and count < top_k`` with the check *before* adding, so the item that crosses top_p is kept.
    ``cum`` is accumulated in float32 like upstream's tensor running sum (it decides where the walk stops).
    """
    probs = torch.softmax(scores.to(torch.float32), dim=0)
    sorted_probs, sorted_ids = torch.sort(probs, descending=True, stable=True)
    cum = np.float32(0.0)
    threshold = np.float32(top_p)  # upstream compares a float32 tensor with a Python float: float32 comparison
    count = 0
    for p in sorted_probs.tolist():
        if not (cum < threshold and count < top_k):
            break
        cum = np.float32(cum + np.float32(p))
        count += 1
    return NucleusSet(ids=sorted_ids[:count].clone(), probs=sorted_probs[:count].clone(), cum=float(cum))


def draw_index(weights: Tensor, uniform: UniformSource) -> int:
    """Index drawn with probability ∝ ``weights`` (need not sum to 1) by inverting the float64 CDF at one uniform.

    Returns the first index whose cumulative weight exceeds ``u · total``; zero-weight entries are never chosen.
    """
    cdf = np.cumsum(weights.detach().to(torch.float64).cpu().numpy())
    total = cdf[-1]
    if not total > 0:
        raise ValueError("draw_index: all weights are zero")
    u = uniform()
    if not 0.0 <= u < 1.0:
        raise ValueError(f"draw_index: uniform draw {u} outside [0, 1)")
    index = int(np.searchsorted(cdf, u * total, side="right"))
    last_positive = int(np.flatnonzero(np.diff(cdf, prepend=0.0) > 0)[-1])
    return min(index, last_positive)  # u · total rounds below total, but never pick a trailing zero weight


def repetition_count(token: int, history: Sequence[int], win_size: int) -> int:
    """Occurrences of ``token`` among the last ``win_size`` decided tokens (§4.4 step 3)."""
    return sum(1 for t in history[-win_size:] if t == token) if win_size > 0 else 0


def repetition_fires(rep_num: int, cfg: LlmConfig) -> bool:
    """``rep_num ≥ win_size · tau_r`` (= 1 with the yaml values: any occurrence in the window)."""
    return rep_num >= cfg.win_size * cfg.tau_r


def ras_fallback_probs(scores: Tensor, repeated: int, variant: RasVariant) -> Tensor:
    """Distribution of the RAS fallback draw over all V + 3 ids (no top-p/top-k)."""
    if variant == "current":
        scores = scores.clone()
        scores[repeated] = float("-inf")
    elif variant != "dec2024":
        raise ValueError(f"unknown RAS variant {variant!r}")
    return torch.softmax(scores.to(torch.float32), dim=0)


def ras_sample(
    scores: Tensor, history: Sequence[int], cfg: LlmConfig, uniform: UniformSource, variant: RasVariant
) -> int:
    """Repetition-aware sampling on EOS-masked ``scores`` (§4.4 steps 2–3); a second uniform if the fallback fires."""
    nucleus = nucleus_filter(scores, cfg.top_p, cfg.top_k)
    token = int(nucleus.ids[draw_index(nucleus.probs, uniform)])
    if repetition_fires(repetition_count(token, history, cfg.win_size), cfg):
        token = draw_index(ras_fallback_probs(scores, token, variant), uniform)
    return token


def make_ras_sampler(cfg: LlmConfig, uniform: UniformSource, variant: RasVariant = "current") -> Sampler:
    """The production sampler: EOS masking then RAS, temperature 1 (§4.4)."""

    def sample(logp: Tensor, history: Sequence[int], ignore_eos: bool) -> int:
        return ras_sample(mask_eos(logp, cfg.eos_id, ignore_eos), history, cfg, uniform, variant)

    return sample


# ---------------------------------------------------------------------------------------------------------------------
# Decoding: KV-cached LM session, unistream loop (§4.3), bistream state machine (§4.6)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodeStep:
    """One LM call and the token decided after it (what the upstream call logs record)."""

    rows: tuple[InputRow, ...]
    past_len: int
    """KV-cache length before the call = RoPE position of its first row."""
    logp: Tensor
    """``log_softmax(llm_decoder(h_last))`` ``[V + 3]``, before EOS masking."""
    hidden_last: Tensor
    """``[H]`` after the final RMSNorm."""
    token: int
    sampled: bool
    """False when the token was forced (bistream FILL)."""
    ignore_eos: bool
    """Flag passed to the sampler; False when no sampling happened."""


StepObserver = Callable[[DecodeStep], None]


class KvSession:
    """Feeds rows to the LM, keeping the KV cache and the running position (one counter, §4.2/§4.6)."""

    def __init__(self, model: Qwen2LM) -> None:
        self.model = model
        self.past = model.empty_past()
        self.length = 0

    @torch.no_grad()
    def feed(self, rows: Sequence[InputRow]) -> tuple[Tensor, Tensor]:
        """Run one call over ``rows``; returns ``(logp [V+3], hidden_last [H])``."""
        embeds = embed_rows(self.model, rows)
        total = self.length + len(rows)
        attention_mask = torch.ones(1, total, dtype=torch.int64)
        position_ids = torch.arange(self.length, total, dtype=torch.int64).unsqueeze(0)
        logits, hidden_last, self.past = self.model.forward_step(embeds, attention_mask, position_ids, self.past)
        self.length = total
        return torch.log_softmax(logits[0], dim=-1), hidden_last[0]


def _notify(on_step: StepObserver | None, step: DecodeStep) -> None:
    if on_step is not None:
        on_step(step)


def decode_unistream(
    model: Qwen2LM, prompt: UnistreamPrompt, sampler: Sampler, on_step: StepObserver | None = None
) -> Generator[int, None, None]:
    """Yield speech tokens (§4.3): prefill, then one fed-back token per step.

    EOS is forbidden for the first ``min_len`` steps; any of EOS / unused stop / FILL ends decoding; at most
    ``max_len`` steps. The sampler's history is the list of yielded tokens.
    """
    cfg = model.cfg
    stop_ids = {cfg.eos_id, cfg.eos_id + 1, cfg.fill_id}
    min_len, max_len = length_bounds(len(prompt.text_ids), cfg)
    session = KvSession(model)
    pending = unistream_rows(prompt)
    history: list[int] = []
    for step in range(max_len):
        past_len = session.length
        logp, hidden_last = session.feed(pending)
        ignore_eos = step < min_len
        token = sampler(logp, history, ignore_eos)
        _notify(on_step, DecodeStep(tuple(pending), past_len, logp, hidden_last, token, True, ignore_eos))
        if token in stop_ids:
            return
        yield token
        history.append(token)
        pending = speech_rows([token])


class BistreamError(RuntimeError):
    """The sampler returned a speech-side special id that upstream treats as an error (§4.6 steps 3–4)."""


class _BistreamState:
    """Mutable state of one bistream request; method names follow the steps of §4.6."""

    def __init__(self, model: Qwen2LM, prompt_text_ids: Sequence[int], prompt_speech_ids: Sequence[int]) -> None:
        self.cfg = model.cfg
        self.session = KvSession(model)
        self.text_cache = text_rows(prompt_text_ids)  # prompt text first (§4.6 step 1)
        self.prompt_speech = speech_rows(prompt_speech_ids)
        self.pending: list[InputRow] = [SOS_ROW]  # upstream `lm_input`: rows not fed yet (see feed_and_decide)
        self.out_tokens: list[int] = []  # every decided token incl. FILL / EOS: also the sampler's history
        n_speech = self.cfg.mix_ratio[1]
        self.next_fill_index = (len(self.prompt_speech) // n_speech + 1) * n_speech - len(self.prompt_speech)

    def receive_text(self, ids: Sequence[int]) -> None:
        self.text_cache = self.text_cache + text_rows(ids)

    def take_text(self) -> list[InputRow]:
        n_text = self.cfg.mix_ratio[0]
        taken, self.text_cache = self.text_cache[:n_text], self.text_cache[n_text:]
        return taken

    def interleave_prompt(self) -> None:
        """§4.6 step 2: while prompt speech remains and ≥ N text rows are cached, append N text + M prompt speech."""
        n_text, n_speech = self.cfg.mix_ratio
        while self.prompt_speech and len(self.text_cache) >= n_text:
            speech, self.prompt_speech = self.prompt_speech[:n_speech], self.prompt_speech[n_speech:]
            self.pending = self.pending + self.take_text() + speech

    def needs_text_before_decoding(self) -> bool:
        """Nothing decoded and only SOS pending, or the last decided token was FILL (§4.6 step 3)."""
        if self.out_tokens:
            return self.out_tokens[-1] == self.cfg.fill_id
        return len(self.pending) == 1

    def ready_to_decode(self) -> bool:
        """Consume N text rows if the decode needs them; False means wait for the next text piece."""
        if self.prompt_speech:
            return False  # decoding starts only once all prompt speech is in the prefix
        if not self.needs_text_before_decoding():
            return True
        if len(self.text_cache) < self.cfg.mix_ratio[0]:
            return False
        text = self.take_text()
        after_fill = bool(self.out_tokens) and self.out_tokens[-1] == self.cfg.fill_id
        # After a FILL the FILL itself is never fed: the N text rows *replace* the pending input.
        self.pending = text if after_fill else self.pending + text
        return True

    def feed_and_decide(self, sampler: Sampler, ignore_eos: bool, on_step: StepObserver | None) -> int:
        """One LM call over the pending rows and the token decided after it (FILL forced at ``next_fill_index``).

        ``pending`` is left untouched: the caller replaces it with the fed-back token, except after FILL, where
        upstream keeps it and so re-feeds it at the start of the final call (README "Bistream" quirk).
        """
        past_len = self.session.length
        logp, hidden_last = self.session.feed(self.pending)
        sampled = len(self.out_tokens) != self.next_fill_index
        token = sampler(logp, self.out_tokens, ignore_eos) if sampled else self.cfg.fill_id
        if token == self.cfg.fill_id:
            # Forced or sampled, the next FILL is due M + 1 decisions later (the FILL itself counts).
            self.next_fill_index = len(self.out_tokens) + self.cfg.mix_ratio[1] + 1
        self.out_tokens.append(token)
        step = DecodeStep(tuple(self.pending), past_len, logp, hidden_last, token, sampled, ignore_eos and sampled)
        _notify(on_step, step)
        return token

    def decode_until_fill(self, sampler: Sampler, on_step: StepObserver | None) -> Iterator[int]:
        """Streaming phase: EOS masked, FILL ends the burst (then wait for text), other special ids are errors."""
        while True:
            token = self.feed_and_decide(sampler, True, on_step)
            if token == self.cfg.fill_id:
                return
            if token >= self.cfg.speech_token_size:
                raise BistreamError(f"bistream streaming phase: sampler returned special id {token}")
            yield token
            self.pending = speech_rows([token])

    def decode_until_eos(self, sampler: Sampler, on_step: StepObserver | None) -> Iterator[int]:
        """Final phase (§4.6 step 4): pending ⊕ remaining text ⊕ TASK_ID, EOS allowed, no length bounds."""
        self.pending = self.pending + self.text_cache + [TASK_ID_ROW]
        self.text_cache = []
        while True:
            token = self.feed_and_decide(sampler, False, on_step)
            if token == self.cfg.eos_id:
                return
            if token >= self.cfg.speech_token_size:
                raise BistreamError(f"bistream final phase: sampler returned special id {token}")
            yield token
            self.pending = speech_rows([token])


def decode_bistream(
    model: Qwen2LM,
    text_pieces: Iterable[Sequence[int]],
    prompt_text_ids: Sequence[int],
    prompt_speech_ids: Sequence[int],
    sampler: Sampler,
    on_step: StepObserver | None = None,
) -> Iterator[int]:
    """Yield speech tokens while text arrives in pieces (§4.6, mix ratio N:M, FILL every M + 1 decisions).

    ``text_pieces`` is consumed lazily, so a caller can feed a live text stream. Upstream parity includes the
    re-feed quirk: the input of the call that produced the last FILL is fed again at the start of the final call.
    """
    state = _BistreamState(model, prompt_text_ids, prompt_speech_ids)
    for piece in text_pieces:
        state.receive_text(piece)
        state.interleave_prompt()
        if state.ready_to_decode():
            yield from state.decode_until_fill(sampler, on_step)
    yield from state.decode_until_eos(sampler, on_step)


def replay_sampler(returns: Iterable[int]) -> Sampler:
    """A sampler that ignores its inputs and returns the given tokens in order (teacher forcing / call-log replay)."""
    tokens = iter(returns)

    def sample(logp: Tensor, history: Sequence[int], ignore_eos: bool) -> int:
        del logp, history, ignore_eos
        return int(next(tokens))

    return sample


def split_pieces(ids: Sequence[int], piece_lengths: Iterable[int]) -> Iterator[list[int]]:
    """``ids`` cut into consecutive pieces of the given lengths (a text generator for :func:`decode_bistream`)."""
    offsets = [0, *itertools.accumulate(int(n) for n in piece_lengths)]
    for start, end in itertools.pairwise(offsets):
        yield [int(i) for i in ids[start:end]]

"""Flow token encoder: ``UpsampleConformerEncoder`` (spec §5.2), written from the spec.

Sub-module names follow the official ``flow.pt`` keys under ``encoder.`` (state-dicts spec §2). Every width comes from
:class:`EncoderConfig`; upstream hard-codes 512 channels in ``PreLookaheadLayer`` / ``Upsample1D``, which equals
``d_model`` for the official model and is re-instantiated at width ``d`` in the tiny test vectors.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import EncoderConfig
from .masks import attention_visibility


def relative_position_table(length: int, d_model: int, device: torch.device | None = None) -> Tensor:
    """EspnetRelPositionalEncoding for ``length`` frames: ``[1, 2L−1, d]``, row ``r`` ↔ relative position ``L−1−r``.

    Same float32 recipe as upstream (spec §5.2 step 1): ``div = exp(arange(0, d, 2) · −ln(10⁴)/d)``, angle = position
    · div with the position as an exact float32 integer (negative positions are exact negations, like upstream's
    ``-1 * position``), even columns sin, odd columns cos. Upstream slices a 5000-position table; every row depends only
    on its own position, so computing the rows for the actual length gives the same values without a maximum length.
    """
    frequencies = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32, device=device) * -(math.log(10000.0) / d_model)
    )
    positions = (length - 1 - torch.arange(2 * length - 1, device=device)).to(torch.float32)
    angles = positions.unsqueeze(1) * frequencies.unsqueeze(0)
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1).unsqueeze(0)


def relative_shift(scores: Tensor) -> Tensor:
    """Transformer-XL shift ``[B, H, T, 2T−1] → [B, H, T, T]``: ``out[i, j] = scores[i, T−1−i+j]`` (position ``i−j``).

    Done as in spec §5.2 step 4 (prepend a zero column, re-view, drop the first row, re-view, keep T columns): only
    Concat/Reshape/Slice, so it exports with a dynamic T. At T = 1 it is the identity, as upstream's skipped shift.
    """
    batch, heads, length, width = scores.shape
    padded = torch.cat([scores.new_zeros(batch, heads, length, 1), scores], dim=-1)
    padded = padded.reshape(batch, heads, width + 1, length)[:, :, 1:]
    return padded.reshape(batch, heads, length, width)[:, :, :, :length]


class LinearEmbed(nn.Module):
    """LinearNoSubsampling (spec §5.2 step 1): Linear → LayerNorm → ×√d; nothing positional is added to x."""

    def __init__(self, d_model: int, eps: float) -> None:
        super().__init__()
        self.out = nn.Sequential(nn.Linear(d_model, d_model), nn.LayerNorm(d_model, eps=eps))
        self.xscale = math.sqrt(d_model)

    def forward(self, xs: Tensor) -> Tensor:
        return self.out(xs) * self.xscale


class RelPositionSelfAttention(nn.Module):
    """``RelPositionMultiHeadedAttention`` (spec §5.2 step 4): content + shifted position scores, learned u/v biases."""

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.d_k = d_model // num_heads
        self.linear_q = nn.Linear(d_model, d_model)
        self.linear_k = nn.Linear(d_model, d_model)
        self.linear_v = nn.Linear(d_model, d_model)
        self.linear_out = nn.Linear(d_model, d_model)
        self.linear_pos = nn.Linear(d_model, d_model, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(num_heads, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.zeros(num_heads, self.d_k))

    def _split_heads(self, x: Tensor) -> Tensor:
        """``[B, T, d] → [B, T, H, d_k]``."""
        return x.reshape(x.shape[0], x.shape[1], self.num_heads, self.d_k)

    def forward(self, x: Tensor, visible: Tensor, pos_table: Tensor) -> Tensor:
        q = self._split_heads(self.linear_q(x))
        k = self._split_heads(self.linear_k(x)).transpose(1, 2)
        v = self._split_heads(self.linear_v(x)).transpose(1, 2)
        p = self._split_heads(self.linear_pos(pos_table)).transpose(1, 2)
        content = (q + self.pos_bias_u).transpose(1, 2) @ k.transpose(-2, -1)
        position = relative_shift((q + self.pos_bias_v).transpose(1, 2) @ p.transpose(-2, -1))
        scores = (content + position) / math.sqrt(self.d_k)
        # Hidden positions get −inf before the softmax (upstream also zeroes them after it, which is a no-op because
        # every row sees at least frame 0).
        scores = scores.masked_fill(visible.logical_not().unsqueeze(1), float("-inf"))
        context = torch.softmax(scores, dim=-1) @ v
        return self.linear_out(context.transpose(1, 2).flatten(2))


class PositionwiseFeedForward(nn.Module):
    """Linear → SiLU (``swish``) → Linear."""

    def __init__(self, d_model: int, units: int) -> None:
        super().__init__()
        self.w_1 = nn.Linear(d_model, units)
        self.w_2 = nn.Linear(units, d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.w_2(F.silu(self.w_1(x)))


class ConformerLayer(nn.Module):
    """Pre-norm ``ConformerEncoderLayer`` without macaron FFN or conv module (spec §5.2 step 4)."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.self_attn = RelPositionSelfAttention(cfg.d_model, cfg.num_heads)
        self.feed_forward = PositionwiseFeedForward(cfg.d_model, cfg.linear_units)
        self.norm_ff = nn.LayerNorm(cfg.d_model, eps=cfg.layer_eps)
        self.norm_mha = nn.LayerNorm(cfg.d_model, eps=cfg.layer_eps)

    def forward(self, x: Tensor, visible: Tensor, pos_table: Tensor) -> Tensor:
        x = x + self.self_attn(self.norm_mha(x), visible, pos_table)
        return x + self.feed_forward(self.norm_ff(x))


class PreLookaheadLayer(nn.Module):
    """Look-ahead convolution with residual (spec §5.2 step 3): each token sees the next ``lookahead`` tokens.

    ``context`` holds 0 or ``lookahead`` embedded look-ahead frames; missing frames are zeros (``finalize``).
    """

    def __init__(self, d_model: int, lookahead: int) -> None:
        super().__init__()
        self.lookahead = lookahead
        self.conv1 = nn.Conv1d(d_model, d_model, kernel_size=lookahead + 1)
        self.conv2 = nn.Conv1d(d_model, d_model, kernel_size=3)

    def forward(self, xs: Tensor, context: Tensor) -> Tensor:
        length = xs.shape[1]
        # Appending ``lookahead`` zero frames and cutting at L + lookahead pads only what the context lacks, without a
        # data-dependent pad width (one graph for C = 0 and C = lookahead).
        zeros = xs.new_zeros(xs.shape[0], self.lookahead, xs.shape[2])
        h = torch.cat([xs, context, zeros], dim=1)[:, : length + self.lookahead].transpose(1, 2)
        h = F.leaky_relu(self.conv1(h), negative_slope=0.01)
        h = self.conv2(F.pad(h, (self.conv2.kernel_size[0] - 1, 0)))
        return h.transpose(1, 2) + xs


class Upsample1D(nn.Module):
    """Causal ×stride up-sampling (spec §5.2 step 5): nearest repeat → left pad 2·stride → Conv1d(k = 2·stride+1)."""

    def __init__(self, d_model: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv1d(d_model, d_model, kernel_size=2 * stride + 1)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, C, L] → [B, C, stride·L]`` (channel-first, as upstream returns it)."""
        repeated = x.unsqueeze(-1).expand(-1, -1, -1, self.stride).flatten(2)
        return self.conv(F.pad(repeated, (2 * self.stride, 0)))


class UpsampleConformerEncoder(nn.Module):
    """Token-rate conformer → ×2 up-sampling → frame-rate conformer → final LayerNorm (spec §5.2)."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed = LinearEmbed(d, cfg.embed_eps)
        # after_norm shares the 1e-5 eps of the embedding LayerNorms (spec §5.2 step 9).
        self.after_norm = nn.LayerNorm(d, eps=cfg.embed_eps)
        self.pre_lookahead_layer = PreLookaheadLayer(d, cfg.pre_lookahead_len)
        self.encoders = nn.ModuleList(ConformerLayer(cfg) for _ in range(cfg.num_blocks))
        self.up_layer = Upsample1D(d, cfg.upsample_stride)
        self.up_embed = LinearEmbed(d, cfg.embed_eps)
        self.up_encoders = nn.ModuleList(ConformerLayer(cfg) for _ in range(cfg.num_up_blocks))

    def forward(self, xs: Tensor, context: Tensor, streaming: Tensor) -> Tensor:
        """Token embeddings ``xs`` ``[1, L, d]`` and look-ahead ``context`` ``[1, C, d]`` → ``h`` ``[1, 2L, d]``.

        ``streaming`` (bool ``[1]``) selects the chunk masks.
        """
        length = xs.shape[1]
        # The context frames go through the same Linear/LayerNorm/×√d (their position table is never used); embedding
        # both in one call keeps the graph free of empty-tensor branches when C = 0.
        embedded = self.embed(torch.cat([xs, context], dim=1))
        xs, context = embedded[:, :length], embedded[:, length:]
        xs = self.pre_lookahead_layer(xs, context)
        xs = self._conformer_stack(self.encoders, xs, self.cfg.static_chunk_size, streaming)
        xs = self.up_layer(xs.transpose(1, 2)).transpose(1, 2)
        xs = self.up_embed(xs)
        up_chunk = self.cfg.static_chunk_size * self.cfg.upsample_stride
        xs = self._conformer_stack(self.up_encoders, xs, up_chunk, streaming)
        return self.after_norm(xs)

    def _conformer_stack(self, layers: nn.ModuleList, xs: Tensor, chunk_size: int, streaming: Tensor) -> Tensor:
        length = xs.shape[1]
        visible = attention_visibility(length, chunk_size, streaming)
        pos_table = relative_position_table(length, self.cfg.d_model, xs.device)
        for layer in layers:
            xs = layer(xs, visible, pos_table)
        return xs

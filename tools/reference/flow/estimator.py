"""CFM vector-field estimator: ``CausalConditionalDecoder`` (spec §5.5), written from the spec.

A single-resolution causal 1-D U-Net: down (ResNet + transformers + causal conv) → mid stages → up (skip concat +
ResNet + transformers + causal conv) → final block → 1×1 projection. Sub-module names and nesting follow the official
``decoder.estimator.*`` keys (state-dicts spec §2); layers that have no parameters upstream (dropout) are ``Identity``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import EstimatorConfig
from ..modules import children_of, expect
from .masks import chunk_visibility

TIME_SCALE = 1000.0
"""Flow time is multiplied by 1000 before the sinusoidal embedding (spec §5.5)."""

MASKED_BIAS = -1.0e10
"""Additive attention bias of hidden positions, ``(1 − allowed) · −1e10`` (upstream ``mask_to_bias``, spec §5.5)."""


def sinusoidal_time_embedding(t: Tensor, dim: int) -> Tensor:
    """``[B] → [B, dim]``: ``[sin(1000·t·f), cos(1000·t·f)]``, ``f_i = exp(−i·ln(10⁴)/(dim/2 − 1))`` (spec §5.5)."""
    half = dim // 2
    frequencies = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * -(math.log(10000) / (half - 1)))
    # Same association as upstream: (scale · t) · f.
    angles = TIME_SCALE * t.unsqueeze(1) * frequencies.unsqueeze(0)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class TimestepEmbedding(nn.Module):
    """Linear → SiLU → Linear."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, out_dim)
        self.linear_2 = nn.Linear(out_dim, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))


class CausalConv1d(nn.Conv1d):
    """Conv1d that left-pads ``kernel − 1`` zeros, so frame ``t`` only sees frames ``≤ t``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, (self.kernel_size[0] - 1, 0)))


class ChannelTranspose(nn.Module):
    """Swap the channel and time axes (around the LayerNorm that normalises over channels)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(1, 2)


class CausalBlock(nn.Module):
    """CausalConv1d(k=3) → LayerNorm over channels → Mish, on ``x·mask``, re-masked (spec §5.5)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            CausalConv1d(in_channels, out_channels, 3),
            ChannelTranspose(),
            nn.LayerNorm(out_channels),
            ChannelTranspose(),
            nn.Mish(),
        )

    def conv(self) -> CausalConv1d:
        """The block's causal convolution (its first layer)."""
        return expect(self.block[0], CausalConv1d)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return self.block(x * mask) * mask


class CausalResnetBlock(nn.Module):
    """Two causal blocks with the time embedding added in between, plus a 1×1 residual projection (spec §5.5)."""

    def __init__(self, in_channels: int, out_channels: int, time_embed_dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Mish(), nn.Linear(time_embed_dim, out_channels))
        self.block1 = CausalBlock(in_channels, out_channels)
        self.block2 = CausalBlock(out_channels, out_channels)
        self.res_conv = nn.Conv1d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: Tensor, mask: Tensor, temb: Tensor) -> Tensor:
        h = self.block1(x, mask) + self.mlp(temb).unsqueeze(-1)
        h = self.block2(h, mask)
        return h + self.res_conv(x * mask)


class SelfAttention(nn.Module):
    """diffusers-style ``Attention``: bias-free q/k/v, scaled dot product with an additive bias, output Linear."""

    def __init__(self, dim: int, num_heads: int, head_dim: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = head_dim
        inner = num_heads * head_dim
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Identity()])

    def _split_heads(self, x: Tensor) -> Tensor:
        """``[B, T, H·D] → [B, H, T, D]``."""
        return x.reshape(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: Tensor, bias: Tensor) -> Tensor:
        q, k, v = (self._split_heads(proj(x)) for proj in (self.to_q, self.to_k, self.to_v))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim)) + bias.unsqueeze(1)
        context = torch.softmax(scores, dim=-1) @ v
        return self.to_out[0](context.transpose(1, 2).flatten(2))


class GeluProjection(nn.Module):
    """Linear followed by exact (erf) GELU."""

    def __init__(self, dim: int, inner: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, inner)

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(self.proj(x))


class FeedForward(nn.Module):
    def __init__(self, dim: int, inner: int) -> None:
        super().__init__()
        self.net = nn.Sequential(GeluProjection(dim, inner), nn.Identity(), nn.Linear(inner, dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class TransformerBlock(nn.Module):
    """``BasicTransformerBlock``, self-attention only: ``x += Attn(LN₁ x)``, ``x += FF(LN₃ x)`` on ``[B, T, C]``."""

    def __init__(self, dim: int, num_heads: int, head_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = SelfAttention(dim, num_heads, head_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, 4 * dim)

    def forward(self, x: Tensor, bias: Tensor) -> Tensor:
        x = self.attn1(self.norm1(x), bias) + x
        return self.ff(self.norm3(x)) + x


class Estimator(nn.Module):
    """``CausalConditionalDecoder``: ``v = estimator(x, mask, mu, t, spks, cond, streaming)`` (spec §5.5)."""

    def __init__(self, cfg: EstimatorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, temb = cfg.channels, cfg.time_embed_dim
        self.time_mlp = TimestepEmbedding(cfg.in_channels, temb)
        self.down_blocks = nn.ModuleList([self._stage(cfg.in_channels, downsample=True)])
        self.mid_blocks = nn.ModuleList(self._stage(c, downsample=False) for _ in range(cfg.num_mid_blocks))
        self.up_blocks = nn.ModuleList([self._stage(2 * c, downsample=True)])
        self.final_block = CausalBlock(c, c)
        self.final_proj = nn.Conv1d(c, cfg.out_channels, kernel_size=1)

    def _stage(self, in_channels: int, downsample: bool) -> nn.ModuleList:
        """``[ResNet, transformers(, causal conv)]``; the single down/up stage "re-samples" with a k=3 causal conv."""
        cfg = self.cfg
        transformers = nn.ModuleList(
            TransformerBlock(cfg.channels, cfg.num_heads, cfg.attention_head_dim) for _ in range(cfg.n_blocks)
        )
        parts: list[nn.Module] = [CausalResnetBlock(in_channels, cfg.channels, cfg.time_embed_dim), transformers]
        if downsample:
            parts.append(CausalConv1d(cfg.channels, cfg.channels, 3))
        return nn.ModuleList(parts)

    def attention_bias(self, mask: Tensor, streaming: Tensor) -> Tensor:
        """``[B, T, T]`` additive bias: padding mask ∧ (50-frame chunk mask when streaming), hidden → −1e10 (§5.5)."""
        visible = chunk_visibility(mask.shape[-1], self.cfg.static_chunk_size, mask.device) | streaming.logical_not()
        allowed = mask.to(torch.bool) & visible.unsqueeze(0)
        return (1.0 - allowed.to(mask.dtype)) * MASKED_BIAS

    def forward(
        self, x: Tensor, mask: Tensor, mu: Tensor, t: Tensor, spks: Tensor, cond: Tensor, streaming: Tensor
    ) -> Tensor:
        """Velocity ``[B, 80, T]`` of ``x, mu, cond`` ``[B, 80, T]``, ``spks`` ``[B, 80]`` at times ``t`` ``[B]``.

        ``mask`` ``[B, 1, T]`` is the frame padding mask (all ones at batch 1); ``streaming`` is bool ``[1]``.
        """
        temb = self.time_mlp(sinusoidal_time_embedding(t, self.cfg.in_channels))
        # Channel order x | mu | spks | cond (spec §5.3).
        h = torch.cat([x, mu, spks.unsqueeze(-1).expand(-1, -1, x.shape[-1]), cond], dim=1)
        bias = self.attention_bias(mask, streaming)

        down = self.down_stage()
        h = self._resnet_and_transformers(down, h, mask, temb, bias)
        skip = h
        h = down.resample(h * mask)
        for mid in self.mid_stages():
            h = self._resnet_and_transformers(mid, h, mask, temb, bias)
        up = self.up_stage()
        h = self._resnet_and_transformers(up, torch.cat([h, skip], dim=1), mask, temb, bias)
        h = up.resample(h * mask)
        h = self.final_block(h, mask)
        return self.final_proj(h * mask) * mask

    def down_stage(self) -> ResamplingStage:
        return ResamplingStage.of(self.down_blocks[0])

    def mid_stages(self) -> list[Stage]:
        return [Stage.of(stage) for stage in self.mid_blocks]

    def up_stage(self) -> ResamplingStage:
        return ResamplingStage.of(self.up_blocks[0])

    @staticmethod
    def _resnet_and_transformers(stage: Stage, h: Tensor, mask: Tensor, temb: Tensor, bias: Tensor) -> Tensor:
        h = stage.resnet(h, mask, temb).transpose(1, 2)
        for block in stage.transformers:
            h = block(h, bias)
        return h.transpose(1, 2)


@dataclass(frozen=True)
class Stage:
    """The typed parts of one U-Net stage, which is an ``nn.ModuleList`` so that its keys are upstream's
    (``<stage>.0`` ResNet, ``<stage>.1.<i>`` transformers, ``<stage>.2`` the causal conv of the down/up stage)."""

    resnet: CausalResnetBlock
    transformers: list[TransformerBlock]

    @staticmethod
    def of(stage: nn.Module) -> Stage:
        resnet, transformers = stage.children()
        return Stage(expect(resnet, CausalResnetBlock), children_of(transformers, TransformerBlock))


@dataclass(frozen=True)
class ResamplingStage(Stage):
    """The single down or up stage: a mid :class:`Stage` plus its k=3 causal conv."""

    resample: CausalConv1d

    @staticmethod
    def of(stage: nn.Module) -> ResamplingStage:
        resnet, transformers, resample = stage.children()
        return ResamplingStage(
            expect(resnet, CausalResnetBlock),
            children_of(transformers, TransformerBlock),
            expect(resample, CausalConv1d),
        )

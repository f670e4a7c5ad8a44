"""Incremental chunk-causal estimator: one CFG Euler step over new frames only, with the past kept as a cache.

In streaming mode the estimator is chunk-causal (spec §5.5, §5.7): attention sees the current and all earlier
``static_chunk_size``-frame chunks, every convolution looks only left, and the noise prefix is fixed. So once a whole
chunk has been solved, its contribution to every later frame is fixed too: per transformer block, the attention keys
and values of its frames; per causal convolution (kernel 3), the last two input frames. Carrying these forward
(:class:`IncrementalEstimator`) gives the same velocities as the full ``streaming=True`` estimator over the whole
prefix, up to fp32 summation order, at the cost of the new frames plus attention over the kept ones.

The cache is packed into two tensors so the exported graph has one input and one output per kind:

* ``kv`` ``[blocks, 2, 2, heads, frames, head_dim]``: per transformer block (down, mid, up order), keys then values,
  for both CFG rows (conditional, unconditional);
* ``conv`` ``[2, sum(in_channels), kernel − 1]``: the last input frames of every causal convolution, concatenated along
  channels in :meth:`IncrementalEstimator.causal_convs` order (zeros before the first frame = the full graph's left
  padding).

A cache belongs to one Euler step: the step's input ``x`` differs per step, so a solve with ``n`` steps keeps ``n``
caches. The cache may only grow by whole chunks: frames of a chunk see each other, so a call that ends inside a chunk
is exact for the frames it has (the full solve of the same prefix sees no more), but its cache lacks the chunk's later
frames and cannot be extended; such a call may only be a stream's last (:func:`check_cache_frames` guards the start).
The padding mask is assumed all ones (batch 1, as the whole pipeline runs).

The flow encoder stays a full graph per call: it costs about a fortieth of one call's 2 × ``n`` estimator rows, and its
look-ahead layer reaches 3 tokens across the chunk boundary, which a cache would have to special-case.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .cfm import euler_steps
from .estimator import (
    MASKED_BIAS,
    CausalBlock,
    CausalConv1d,
    CausalResnetBlock,
    Estimator,
    Stage,
    TransformerBlock,
    sinusoidal_time_embedding,
)

CFG_ROWS = 2
"""Row 0 conditional, row 1 unconditional (mu, spks, cond zeroed), as :meth:`ConditionalFlowMatching.cfg_euler_step`."""


class IncrementalEstimator(nn.Module):
    """The :class:`Estimator`'s weights run over ``N`` new frames given the cache of the ``P`` frames before them."""

    def __init__(self, estimator: Estimator) -> None:
        super().__init__()
        self.estimator = estimator

    # -- cache layout ---------------------------------------------------------------------------------------------

    def transformer_blocks(self) -> list[TransformerBlock]:
        """Every transformer block in forward order: its index is its row in the ``kv`` cache."""
        est = self.estimator
        stages = [est.down_stage(), *est.mid_stages(), est.up_stage()]
        return [block for stage in stages for block in stage.transformers]

    def causal_convs(self) -> list[CausalConv1d]:
        """Every causal convolution in forward order: its channels are its slice of the ``conv`` cache."""
        est = self.estimator
        down, up = est.down_stage(), est.up_stage()
        convs = [*_resnet_convs(down.resnet), down.resample]
        for mid in est.mid_stages():
            convs += _resnet_convs(mid.resnet)
        return [*convs, *_resnet_convs(up.resnet), up.resample, est.final_block.conv()]

    def empty_cache(self) -> tuple[Tensor, Tensor]:
        """The cache before frame 0: no keys/values, zero convolution history."""
        cfg = self.estimator.cfg
        kv = torch.zeros(len(self.transformer_blocks()), 2, CFG_ROWS, cfg.num_heads, 0, cfg.attention_head_dim)
        convs = self.causal_convs()
        conv = torch.zeros(CFG_ROWS, sum(c.in_channels for c in convs), convs[0].kernel_size[0] - 1)
        return kv, conv

    # -- forward --------------------------------------------------------------------------------------------------

    def forward(
        self, x: Tensor, mu: Tensor, t: Tensor, spks: Tensor, cond: Tensor, kv: Tensor, conv: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Velocity ``[2, 80, N]`` of the new frames and the cache grown by them (``kv`` ``P → P + N`` frames).

        Inputs are the CFG batch of 2 (``x, mu, cond`` ``[2, 80, N]``, ``spks`` ``[2, 80]``, ``t`` ``[2]``).
        """
        est = self.estimator
        temb = est.time_mlp(sinusoidal_time_embedding(t, est.cfg.in_channels))
        h = torch.cat([x, mu, spks.unsqueeze(-1).expand(-1, -1, x.shape[-1]), cond], dim=1)
        bias = chunk_bias(kv.shape[4], x.shape[-1], est.cfg.static_chunk_size)
        states = _ConvStates(conv, [c.in_channels for c in self.causal_convs()])
        blocks = iter(range(kv.shape[0]))
        presents: list[Tensor] = []

        def stage(parts: Stage, h: Tensor) -> Tensor:
            h = _resnet(parts.resnet, h, temb, states).transpose(1, 2)
            for block in parts.transformers:
                h, present = _transformer(block, h, bias, kv[next(blocks)])
                presents.append(present)
            return h.transpose(1, 2)

        down = est.down_stage()
        h = stage(down, h)
        skip = h
        h = states.conv(down.resample, h)
        for mid in est.mid_stages():
            h = stage(mid, h)
        up = est.up_stage()
        h = stage(up, torch.cat([h, skip], dim=1))
        h = states.conv(up.resample, h)
        h = _causal_block(est.final_block, h, states)
        return est.final_proj(h), torch.stack(presents), states.next_state()

    def cfg_euler_step(
        self,
        x: Tensor,
        mu: Tensor,
        spks: Tensor,
        cond: Tensor,
        t: Tensor,
        dt: Tensor,
        kv: Tensor,
        conv: Tensor,
        cfg_rate: float,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`ConditionalFlowMatching.cfg_euler_step` on ``N`` new frames ``[1, 80, N]`` with the step's cache."""
        velocity, kv, conv = self(
            torch.cat([x, x]),
            torch.cat([mu, torch.zeros_like(mu)]),
            torch.cat([t, t]),
            torch.cat([spks, torch.zeros_like(spks)]),
            torch.cat([cond, torch.zeros_like(cond)]),
            kv,
            conv,
        )
        conditional, unconditional = velocity[:1], velocity[1:]
        guided = (1.0 + cfg_rate) * conditional - cfg_rate * unconditional
        return x + dt * guided, kv, conv


def chunk_bias(past: int, new: int, chunk_size: int) -> Tensor:
    """``[N, P + N]`` additive bias of the new frames ``P…P+N−1`` over all frames: the chunk mask at absolute
    positions (frame ``i`` sees ``j < (i // chunk + 1) · chunk``), hidden → −1e10 as the full estimator (spec §5.5)."""
    queries = torch.arange(new) + past
    keys = torch.arange(past + new)
    visible = keys.unsqueeze(0) < ((queries // chunk_size + 1) * chunk_size).unsqueeze(1)
    return (1.0 - visible.to(torch.float32)) * MASKED_BIAS


def check_cache_frames(frames: int, chunk_size: int) -> None:
    """A cache is only exact if it ends on a chunk boundary (see the module doc)."""
    if frames % chunk_size:
        raise ValueError(
            f"an incremental estimator cache must hold whole {chunk_size}-frame chunks, got {frames} frames"
        )


class _ConvStates:
    """Hands each causal convolution its slice of the packed ``conv`` cache, in order, and collects the new ones."""

    def __init__(self, packed: Tensor, channels: list[int]) -> None:
        self._slices = iter(torch.split(packed, channels, dim=1))
        self._next: list[Tensor] = []

    def conv(self, conv: CausalConv1d, x: Tensor) -> Tensor:
        """``conv`` over ``history ⊕ x`` without padding: the full graph's output for these frames."""
        extended = torch.cat([next(self._slices), x], dim=-1)
        self._next.append(extended[:, :, extended.shape[-1] - (conv.kernel_size[0] - 1) :])
        return F.conv1d(extended, conv.weight, conv.bias)

    def next_state(self) -> Tensor:
        return torch.cat(self._next, dim=1)


def _causal_block(block: CausalBlock, x: Tensor, states: _ConvStates) -> Tensor:
    h = states.conv(block.conv(), x)
    for layer in list(block.block)[1:]:
        h = layer(h)
    return h


def _resnet_convs(resnet: CausalResnetBlock) -> list[CausalConv1d]:
    return [resnet.block1.conv(), resnet.block2.conv()]


def _resnet(resnet: CausalResnetBlock, x: Tensor, temb: Tensor, states: _ConvStates) -> Tensor:
    h = _causal_block(resnet.block1, x, states) + resnet.mlp(temb).unsqueeze(-1)
    h = _causal_block(resnet.block2, h, states)
    return h + resnet.res_conv(x)


def _transformer(block: TransformerBlock, x: Tensor, bias: Tensor, past: Tensor) -> tuple[Tensor, Tensor]:
    """``x`` ``[2, N, C]`` and the block's ``past`` ``[2 (k, v), 2, H, P, D]`` → output and ``present`` (``P + N``)."""
    attn = block.attn1
    normed = block.norm1(x)
    q, k, v = (attn._split_heads(proj(normed)) for proj in (attn.to_q, attn.to_k, attn.to_v))
    present = torch.cat([past, torch.stack([k, v])], dim=3)
    keys, values = present[0], present[1]
    scores = (q @ keys.transpose(-2, -1)) * (1.0 / math.sqrt(attn.head_dim)) + bias
    context = torch.softmax(scores, dim=-1) @ values
    x = attn.to_out[0](context.transpose(1, 2).flatten(2)) + x
    return block.ff(block.norm3(x)) + x, present


StepCache = tuple[Tensor, Tensor]
"""``(kv, conv)`` of one Euler step."""


def solve_frames(
    incremental: IncrementalEstimator,
    mu: Tensor,
    spks: Tensor,
    cond: Tensor,
    noise: Tensor,
    caches: list[StepCache] | None,
    n_timesteps: int,
    cfg_rate: float,
) -> tuple[Tensor, list[StepCache]]:
    """The CFM solve (spec §5.4) of ``N`` new frames (``mu, cond, noise`` ``[1, 80, N]``) after the frames ``caches``
    holds (one cache per step; ``None`` = no frames yet) → mel ``[1, 80, N]`` and the caches grown by these frames.

    ``noise`` is the fixed noise at the new frames' absolute positions: ``noise_buffer()[:, :, P : P + N]`` ·
    temperature.
    """
    steps = euler_steps(n_timesteps)
    caches = [incremental.empty_cache() for _ in steps] if caches is None else caches
    if len(caches) != len(steps):
        raise ValueError(f"{len(caches)} step caches for a {len(steps)}-step solve: a cache belongs to one step count")
    check_cache_frames(caches[0][0].shape[4], incremental.estimator.cfg.static_chunk_size)
    x = noise
    grown: list[StepCache] = []
    for (t, dt), (kv, conv) in zip(steps, caches, strict=True):
        x, kv, conv = incremental.cfg_euler_step(x, mu, spks, cond, t, dt, kv, conv, cfg_rate)
        grown.append((kv, conv))
    return x, grown

"""Conditional flow matching solver: fixed noise, cosine schedule, CFG Euler steps (spec §5.4)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..config import FlowConfig
from .estimator import Estimator

NOISE_SEED = 0
NOISE_CHANNELS = 80
NOISE_BUFFER_FRAMES = 15_000
"""Upstream draws ``torch.randn([1, 80, 15000])`` once; every call uses a prefix of it (max 300 s of mel)."""


@functools.lru_cache(maxsize=1)
def _upstream_noise() -> Tensor:
    # A fresh generator seeded with 0 yields the same stream as the global CPU generator after
    # ``set_all_random_seed(0)``, without touching global RNG state.
    generator = torch.Generator(device="cpu").manual_seed(NOISE_SEED)
    return torch.randn([1, NOISE_CHANNELS, NOISE_BUFFER_FRAMES], generator=generator)


def noise_buffer(frames: int = NOISE_BUFFER_FRAMES) -> Tensor:
    """The first ``frames`` frames of upstream's seed-0 CFM noise, ``[1, 80, frames]`` float32 (spec §5.4).

    The draw is always the full ``[1, 80, 15000]`` tensor and then sliced: ``randn`` of another size fills the rows
    with different values, so slicing is what keeps every length consistent with upstream.
    """
    if not 0 <= frames <= NOISE_BUFFER_FRAMES:
        raise ValueError(f"noise frames must be in [0, {NOISE_BUFFER_FRAMES}] (upstream buffer), got {frames}")
    return _upstream_noise()[:, :, :frames].clone()


def cosine_schedule(n_timesteps: int) -> Tensor:
    """``t_k = 1 − cos(π/2 · k/n)``, ``k = 0…n``, float32, in upstream's operation order (spec §5.4)."""
    t_span = torch.linspace(0, 1, n_timesteps + 1, dtype=torch.float32)
    return 1 - torch.cos(t_span * 0.5 * torch.pi)


def euler_steps(n_timesteps: int) -> list[tuple[Tensor, Tensor]]:
    """``(t, dt)`` (each float32 ``[1]``) of every Euler step, accumulated like upstream's ``solve_euler``.

    Upstream advances ``t = t + dt`` and then takes ``dt = t_span[k+1] − t``, so ``t`` is a float32 running sum, not
    ``t_span[k]`` itself; the TypeScript loop must reproduce exactly this sequence.
    """
    t_span = cosine_schedule(n_timesteps)
    t = t_span[:1]
    dt = (t_span[1] - t_span[0]).reshape(1)
    steps: list[tuple[Tensor, Tensor]] = []
    for k in range(1, n_timesteps + 1):
        steps.append((t, dt))
        t = t + dt
        if k < n_timesteps:
            dt = t_span[k + 1] - t
    return steps


class ConditionalFlowMatching(nn.Module):
    """``CausalConditionalCFM`` at inference: owns the estimator (``decoder.estimator.*``) and the Euler loop."""

    def __init__(self, cfg: FlowConfig) -> None:
        super().__init__()
        self.cfg_rate = cfg.inference_cfg_rate
        self.temperature = cfg.temperature
        self.estimator = Estimator(cfg.estimator)

    def cfg_euler_step(
        self, x: Tensor, mu: Tensor, spks: Tensor, cond: Tensor, t: Tensor, dt: Tensor, streaming: Tensor
    ) -> Tensor:
        """One step ``x + dt·((1+r)·v(x, mu, spks, cond) − r·v(x, 0, 0, 0))`` on a batch of 2 (spec §5.4).

        Row 0 is conditional, row 1 unconditional (mu, spks, cond zeroed; x, mask, t shared), as upstream.
        """
        mask = torch.ones_like(x[:, :1])
        velocity = self.estimator(
            torch.cat([x, x]),
            torch.cat([mask, mask]),
            torch.cat([mu, torch.zeros_like(mu)]),
            torch.cat([t, t]),
            torch.cat([spks, torch.zeros_like(spks)]),
            torch.cat([cond, torch.zeros_like(cond)]),
            streaming,
        )
        conditional, unconditional = velocity[:1], velocity[1:]
        guided = (1.0 + self.cfg_rate) * conditional - self.cfg_rate * unconditional
        return x + dt * guided

    def solve(
        self,
        mu: Tensor,
        spks: Tensor,
        cond: Tensor,
        streaming: Tensor,
        n_timesteps: int,
        on_step: Callable[[Tensor, Tensor], None] | None = None,
    ) -> Tensor:
        """Euler-integrate from the fixed noise over the cosine schedule; ``on_step(t, x)`` sees each step's input."""
        x = noise_buffer(mu.shape[2]).to(mu) * self.temperature
        for t, dt in euler_steps(n_timesteps):
            if on_step is not None:
                on_step(t, x)
            x = self.cfg_euler_step(x, mu, spks, cond, t, dt, streaming)
        return x

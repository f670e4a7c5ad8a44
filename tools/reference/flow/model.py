"""The whole flow: ``CausalMaskedDiffWithXvec`` inference (spec §5.1), written from the spec."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import FlowConfig
from .cfm import ConditionalFlowMatching
from .encoder import UpsampleConformerEncoder
from .masks import as_streaming_flag

CONDITION_STREAMS = 4
"""The estimator input stacks x | mu | spks | cond, each ``output_size`` channels (spec §5.3)."""


class Flow(nn.Module):
    """Speech tokens + speaker x-vector + prompt mel → mel. ``state_dict()`` has the official ``flow.pt`` layout.

    Graph-shaped entry points (what ``tools/export/flow.py`` exports): :meth:`encode` and :meth:`cfg_euler_step`.
    """

    def __init__(self, cfg: FlowConfig) -> None:
        super().__init__()
        if cfg.encoder.d_model != cfg.input_size:
            raise ValueError(
                f"encoder width {cfg.encoder.d_model} must equal the token embedding width {cfg.input_size}"
            )
        if cfg.estimator.in_channels != CONDITION_STREAMS * cfg.output_size:
            raise ValueError(
                f"estimator in_channels {cfg.estimator.in_channels} must be {CONDITION_STREAMS} × output_size "
                f"{cfg.output_size} (x | mu | spks | cond)"
            )
        self.cfg = cfg
        self.input_embedding = nn.Embedding(cfg.vocab_size, cfg.input_size)
        self.spk_embed_affine_layer = nn.Linear(cfg.spk_embed_dim, cfg.output_size)
        self.encoder = UpsampleConformerEncoder(cfg.encoder)
        self.encoder_proj = nn.Linear(cfg.encoder.d_model, cfg.output_size)
        self.decoder = ConditionalFlowMatching(cfg)

    def speaker_condition(self, embedding: Tensor) -> Tensor:
        """``spks = Linear(x / max(‖x‖₂, 1e-12))`` ``[1, 192] → [1, 80]`` (spec §5.1 step 1)."""
        return self.spk_embed_affine_layer(F.normalize(embedding, dim=1))

    def embed_tokens(self, tokens: Tensor) -> Tensor:
        """Token embedding of ``clamp(tokens, min=0)`` (padding ids −1 map to row 0, spec §5.1 step 2)."""
        # where() instead of clamp(): Less/Where exist for int64 on every onnxruntime backend.
        return self.input_embedding(torch.where(tokens < 0, torch.zeros_like(tokens), tokens))

    def encode(self, tokens: Tensor, context: Tensor, streaming: Tensor, embedding: Tensor) -> tuple[Tensor, Tensor]:
        """``flow_encoder`` graph: tokens ``[1, L]`` + look-ahead ``context`` ``[1, C]`` (C = 0 or 3) →
        ``mu`` ``[1, 80, 2L]``, ``spks`` ``[1, 80]``. ``streaming`` (bool ``[1]``) selects chunk masks (§5.1 steps 1–4).
        """
        length = tokens.shape[1]
        embedded = self.embed_tokens(torch.cat([tokens, context], dim=1))
        h = self.encoder(embedded[:, :length], embedded[:, length:], streaming)
        return self.encoder_proj(h).transpose(1, 2), self.speaker_condition(embedding)

    def estimate(
        self, x: Tensor, mask: Tensor, mu: Tensor, t: Tensor, spks: Tensor, cond: Tensor, streaming: Tensor
    ) -> Tensor:
        """One estimator call on an explicit batch (upstream runs batch 2: conditional row, unconditional row)."""
        return self.decoder.estimator(x, mask, mu, t, spks, cond, streaming)

    def cfg_euler_step(
        self, x: Tensor, mu: Tensor, spks: Tensor, cond: Tensor, t: Tensor, dt: Tensor, streaming: Tensor
    ) -> Tensor:
        """``flow_step`` graph: ``x`` ``[1, 80, T]`` → ``x + dt·((1+r)·v0 − r·v1)`` with the CFG batch built inside."""
        return self.decoder.cfg_euler_step(x, mu, spks, cond, t, dt, streaming)

    def solve(
        self,
        mu: Tensor,
        spks: Tensor,
        cond: Tensor,
        streaming: bool | Tensor,
        n_timesteps: int | None = None,
        on_step: Callable[[Tensor, Tensor], None] | None = None,
    ) -> Tensor:
        """The CFM solve (spec §5.4): all ``T`` frames, prompt frames included."""
        steps = self.cfg.n_timesteps if n_timesteps is None else n_timesteps
        return self.decoder.solve(mu, spks, cond, as_streaming_flag(streaming), steps, on_step)

    def inference(
        self,
        token: Tensor,
        prompt_token: Tensor,
        prompt_feat: Tensor,
        embedding: Tensor,
        streaming: bool | Tensor,
        finalize: bool,
    ) -> Tensor:
        """``flow.inference`` (spec §5.1): mel ``[1, 80, T − 2P]`` without the prompt frames.

        ``prompt_feat`` is time-major ``[1, 2P, 80]``. Unless ``finalize``, the last ``pre_lookahead_len`` tokens are
        look-ahead context only and produce no frames.
        """
        tokens = torch.cat([prompt_token, token], dim=1)
        lookahead = 0 if finalize else self.cfg.pre_lookahead_len
        split = tokens.shape[1] - lookahead
        flag = as_streaming_flag(streaming)
        mu, spks = self.encode(tokens[:, :split], tokens[:, split:], flag, embedding)
        cond = prompt_condition(prompt_feat, mu.shape[2])
        mel = self.solve(mu, spks, cond, flag)
        return mel[:, :, prompt_feat.shape[1] :]


def prompt_condition(prompt_feat: Tensor, frames: int) -> Tensor:
    """``cond`` ``[1, 80, T]``: the prompt mel in the first frames, then zeros (spec §5.1 step 6).

    ``prompt_feat`` is time-major ``[1, 2P, 80]`` as upstream passes it.
    """
    prompt_frames = prompt_feat.shape[1]
    if prompt_frames > frames:
        raise ValueError(f"prompt mel has {prompt_frames} frames but the encoder produced only {frames}")
    return F.pad(prompt_feat.transpose(1, 2), (0, frames - prompt_frames))


def change_speed(mel: Tensor, speed: float) -> Tensor:
    """Non-streaming speed change (spec §1.3): linear resampling of ``[1, 80, T]`` to ``int(T / speed)`` frames."""
    return F.interpolate(mel, size=int(mel.shape[2] / speed), mode="linear")


def count_parameters(cfg: FlowConfig, submodule: str = "") -> int:
    """Parameters of :class:`Flow` (or of ``submodule``, e.g. ``"decoder.estimator"``), built on the meta device."""
    with torch.device("meta"):
        flow = Flow(cfg)
    module = flow.get_submodule(submodule) if submodule else flow
    return sum(p.numel() for p in module.parameters())

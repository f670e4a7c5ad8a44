"""Attention masks shared by the flow encoder and the estimator.

Both build the mask from a ``streaming`` bool tensor instead of a Python flag, so one exported graph serves the chunked
(streaming) and the full-context (offline) mode (model-package ``flow_encoder`` / ``flow_step``). Lengths are ``int``
as torch's stubs type ``tensor.shape``; while the exporter traces they are 0-d tensors, so the masks follow the graph's
dynamic length.
"""

from __future__ import annotations

import torch
from torch import Tensor


def chunk_visibility(length: int, chunk_size: int, device: torch.device | None = None) -> Tensor:
    """``[T, T]`` bool: frame ``i`` may see frame ``j`` iff ``j < (i // chunk + 1) · chunk``.

    Every chunk sees itself and all earlier chunks (``num_decoding_left_chunks = -1``, spec §5.2 step 2, §5.5).
    """
    positions = torch.arange(length, device=device)
    visible_end = (positions // chunk_size + 1) * chunk_size
    return positions.unsqueeze(0) < visible_end.unsqueeze(1)


def attention_visibility(length: int, chunk_size: int, streaming: Tensor) -> Tensor:
    """``[1, T, T]`` bool: the chunk mask when ``streaming`` (bool ``[1]``) is true, else everything visible.

    At batch 1 the padding mask is all ones, so the offline mask is all true (spec §5.2 step 2).
    """
    chunked = chunk_visibility(length, chunk_size, streaming.device)
    return (chunked | streaming.logical_not()).unsqueeze(0)


def as_streaming_flag(streaming: bool | Tensor) -> Tensor:
    """Normalise a Python bool or a bool tensor to the bool ``[1]`` tensor the graphs take."""
    if isinstance(streaming, Tensor):
        return streaming.reshape(1).to(torch.bool)
    return torch.tensor([bool(streaming)])

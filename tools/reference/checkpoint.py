"""Strict checkpoint loading with an error that names every missing, unexpected and mis-shaped key."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import torch
from torch import nn


class CheckpointMismatchError(ValueError):
    """The state dict does not fit the module tree exactly."""


def check_state_dict(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state`` has exactly the module's keys and shapes."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshaped = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs module {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or misshaped:
        lines = [f"{what}: the checkpoint does not match the module tree"]
        for title, items in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped)):
            if items:
                lines.append(f"  {len(items)} {title} key(s):")
                lines.extend(f"    {item}" for item in items)
        raise CheckpointMismatchError("\n".join(lines))


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def load_strict(module: ModuleT, state: dict[str, torch.Tensor] | str | Path, what: str) -> ModuleT:
    """Check, then ``load_state_dict(strict=True)``; ``state`` may be a path to a ``torch.save``d dict."""
    tensors: dict[str, torch.Tensor] = (
        state if isinstance(state, dict) else torch.load(state, map_location="cpu", weights_only=True)
    )
    check_state_dict(module, tensors, what)
    module.load_state_dict(tensors, strict=True)
    return module

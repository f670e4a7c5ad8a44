"""Typed access to sub-modules. The module trees keep upstream's layout (``nn.ModuleList`` / ``nn.Sequential``
indices are the checkpoint's key names), whose items torch types as plain ``nn.Module``: these helpers give them their
real class, checked at run time, instead of a cast."""

from __future__ import annotations

from typing import TypeVar

from torch import nn

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def expect(module: nn.Module, kind: type[ModuleT]) -> ModuleT:
    """``module`` as a ``kind``, or ``TypeError``."""
    if not isinstance(module, kind):
        raise TypeError(f"expected a {kind.__name__} module, found {type(module).__name__}")
    return module


def children_of(container: nn.Module, kind: type[ModuleT]) -> list[ModuleT]:
    """The children of ``container`` in order, each a ``kind`` (or ``TypeError``)."""
    return [expect(child, kind) for child in container.children()]

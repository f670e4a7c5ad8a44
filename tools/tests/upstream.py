"""Helpers shared by the tools/ tests: where the upstream test vectors are, the flow they describe, one way to compare
arrays and one way to open a graph (fixtures that pytest injects by name are in ``conftest.py``).

``COSYVOICE_VECTORS_DIR`` names a directory in the layout of ``shared/data/upstream-vectors`` (``config.json`` +
``*.pt`` + ``*.npz``); unset, the upstream set itself. ``python -m tools.fixtures.vectors_like`` writes a second set
with other dimensions and seeds, so the same tests show they take every size and id from the data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
from torch import Tensor

from tools.reference.checkpoint import load_strict
from tools.reference.config import FlowConfig, load_checkpoint_config
from tools.reference.flow import Flow

DEFAULT_VECTORS = Path(__file__).resolve().parents[3] / "shared" / "data" / "upstream-vectors"
"""Tiny-weight checkpoint + arrays recorded from upstream CosyVoice 2 (README there)."""

UPSTREAM_VECTORS = Path(os.environ.get("COSYVOICE_VECTORS_DIR") or DEFAULT_VECTORS).resolve()
"""The set the reference and export tests read: ``COSYVOICE_VECTORS_DIR``, else :data:`DEFAULT_VECTORS` (the same
rule as ``UPSTREAM_VECTORS`` in test/helpers/package.ts)."""


def upstream_flow_config() -> FlowConfig:
    return load_checkpoint_config(UPSTREAM_VECTORS).flow


def load_upstream_flow() -> Flow:
    return load_strict(Flow(upstream_flow_config()), UPSTREAM_VECTORS / "flow.pt", "flow").eval()


def max_abs(actual: Tensor | np.ndarray, expected: Tensor | np.ndarray) -> float:
    """Largest absolute difference, in float64; the shapes must be equal (two empty arrays differ by 0)."""
    a = actual.detach().numpy() if isinstance(actual, Tensor) else actual
    b = expected.detach().numpy() if isinstance(expected, Tensor) else expected
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0))


def cpu_session(path: Path) -> ort.InferenceSession:
    """onnxruntime's CPU provider with one thread: the test machines' 2 cores are shared."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

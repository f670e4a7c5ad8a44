"""Fixtures shared by the tools/ tests (plain helpers are in ``upstream.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from tools.reference.flow import Flow
from tools.tests.upstream import load_upstream_flow


@pytest.fixture(scope="module")
def flow() -> Flow:
    """The flow of the upstream test vectors, loaded strictly, in eval mode (once per test module)."""
    return load_upstream_flow()


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny graphs on a shared 2-core machine: a second intra-op thread makes each call ~40× slower under load.
    Opt in per module with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def no_grad() -> Iterator[None]:
    """Each test without autograd. Opt in per module with ``pytestmark = pytest.mark.usefixtures("no_grad")``."""
    with torch.no_grad():
        yield

"""The fixture comparison of tools/fixtures/compare.py: what it lets through and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tools.fixtures.compare import FloatRule, tree_problems

RULES = (FloatRule(r"exact", 0.0, "bit for bit"), FloatRule(r".", 1e-5, "test rule"))


def write_tree(root: Path, wave: np.ndarray, ids: np.ndarray, meta: dict[str, object], graph: bytes) -> Path:
    root.mkdir()
    np.savez(root / "g.npz", wave=wave, ids=ids)
    wave.astype("<f4").tofile(root / "exact.f32")
    (root / "meta.json").write_text(json.dumps(meta))
    (root / "model.onnx").write_bytes(graph)
    return root


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    wave = rng.uniform(-1, 1, 64).astype(np.float32)
    return write_tree(tmp_path / "a", wave, np.arange(5, dtype=np.int32), {"k": [1, 2]}, b"graph")


def regenerate(tmp_path: Path, committed: Path, **change: object) -> list[str]:
    data = np.load(committed / "g.npz")
    parts = {"wave": data["wave"], "ids": data["ids"], "meta": {"k": [1, 2]}, "graph": b"graph", **change}
    fresh = write_tree(tmp_path / "b", parts["wave"], parts["ids"], parts["meta"], parts["graph"])
    return tree_problems(committed, fresh, RULES)


def test_identical_trees_pass(tmp_path: Path, committed: Path) -> None:
    assert regenerate(tmp_path, committed) == []


def test_float_rounding_within_the_rule_passes_except_where_the_rule_is_exact(tmp_path: Path, committed: Path) -> None:
    wave = np.load(committed / "g.npz")["wave"] + np.float32(4e-6)
    assert regenerate(tmp_path, committed, wave=wave) == ["exact.f32: max |Δ| 4e-06 > 0 (tolerance 0 × scale 1)"]


def test_float_difference_beyond_the_rule_fails(tmp_path: Path, committed: Path) -> None:
    wave = np.load(committed / "g.npz")["wave"].copy()
    wave[7] += np.float32(3e-5)
    problems = regenerate(tmp_path, committed, wave=wave)
    assert any(p.startswith("g.npz[wave]: max |Δ| 3") for p in problems), problems


def test_integers_json_and_graphs_must_be_identical(tmp_path: Path, committed: Path) -> None:
    ids = np.arange(5, dtype=np.int32)
    ids[2] = 9
    problems = regenerate(tmp_path, committed, ids=ids, meta={"k": [1, 3]}, graph=b"grapH")
    assert problems == ["g.npz[ids]: integer array differs", "meta.json: differs", "model.onnx: differs"]


def test_nan_positions_and_shapes_must_match(tmp_path: Path, committed: Path) -> None:
    wave = np.load(committed / "g.npz")["wave"].copy()
    wave[0] = np.nan
    assert any("NaN" in p for p in regenerate(tmp_path, committed, wave=wave))


def test_missing_and_extra_files_are_reported(tmp_path: Path, committed: Path) -> None:
    fresh = tmp_path / "c"
    fresh.mkdir()
    (fresh / "new.bin").write_bytes(b"x")
    problems = tree_problems(committed, fresh, RULES)
    assert "missing in the repository: new.bin" in problems
    assert "not produced any more: model.onnx" in problems


def test_an_array_without_a_rule_is_an_error(tmp_path: Path, committed: Path) -> None:
    wave = np.load(committed / "g.npz")["wave"]
    with pytest.raises(ValueError, match="no tolerance rule"):
        fresh = write_tree(tmp_path / "d", wave, np.arange(5, dtype=np.int32), {"k": [1, 2]}, b"graph")
        tree_problems(committed, fresh, (FloatRule(r"never", 0.0, ""),))

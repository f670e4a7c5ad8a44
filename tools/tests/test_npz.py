"""The fixture ``.npz`` writer (tools/fixtures/npz.py): what ``np.load`` reads back, and the bytes it writes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from tools.fixtures.npz import save_npz


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_every_array_reads_back_with_its_shape_dtype_and_values(tmp_path: Path) -> None:
    arrays: dict[str, np.ndarray] = {
        "seed": np.asarray(4242, np.int64),  # 0-d, as upstream's np.savez keeps it (not shape (1,))
        "sum": np.asarray(-1.25, np.float64),
        "one": np.array([7], np.int32),  # a genuine 1-element 1-d array stays 1-d
        "empty": np.zeros((0, 3), np.float32),
        "mel": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
    }
    save_npz(tmp_path / "a.npz", arrays)
    with np.load(tmp_path / "a.npz") as loaded:
        assert loaded.files == list(arrays)
        for name, expected in arrays.items():
            actual = loaded[name]
            assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype), name
            assert np.array_equal(actual, expected), name
        assert int(loaded["seed"]) == 4242  # what the upstream-vector tests do with a scalar


def test_members_are_c_order_little_endian_npy(tmp_path: Path) -> None:
    fortran = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    big_endian = np.arange(5, dtype=">i4")
    strided = np.arange(10, dtype=np.int64)[::3]
    save_npz(tmp_path / "a.npz", {"f": fortran, "b": big_endian, "s": strided})
    for name, expected in (("f", fortran), ("b", big_endian), ("s", strided)):
        data = io.BytesIO(members(tmp_path / "a.npz")[f"{name}.npy"])
        assert np.lib.format.read_magic(data) == (1, 0)
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(data)
        assert (shape, fortran_order, dtype.str[0]) == (expected.shape, False, "<"), name
        data.seek(0)
        assert np.array_equal(np.lib.format.read_array(data), expected), name


def test_members_match_np_savez_and_the_file_is_byte_reproducible(tmp_path: Path) -> None:
    arrays: dict[str, np.ndarray] = {
        "seed": np.asarray(3, np.int64),
        "x": np.linspace(0, 1, 7, dtype=np.float32),
        "ok": np.array([1, 0], bool),
    }
    np.savez(tmp_path / "numpy.npz", seed=arrays["seed"], x=arrays["x"], ok=arrays["ok"])
    save_npz(tmp_path / "a.npz", arrays)
    save_npz(tmp_path / "b.npz", arrays)
    assert members(tmp_path / "a.npz") == members(tmp_path / "numpy.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()

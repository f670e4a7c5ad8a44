"""``tools/export/compress.py``: a compressed copy of a package is lossless, deterministic and described exactly by its
manifest (the TypeScript side reads it in test/unit/loader/compressed-package.test.ts)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tools.export.compress import compress_package

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "test" / "fixtures" / "tiny-package"


def _manifest(d: Path) -> dict[str, Any]:
    return json.loads((d / "manifest.json").read_text(encoding="utf-8"))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def compressed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gz") / "pkg"
    compress_package(TINY, out, level=6, log=lambda _m: None)
    return out


def test_every_file_decodes_to_the_original(compressed: Path) -> None:
    plain = {f["path"]: f for f in _manifest(TINY)["files"]}
    manifest = _manifest(compressed)
    encoded = [f for f in manifest["files"] if f.get("encoding") == "gzip"]
    assert encoded and manifest["formatVersion"] == 2
    seen = set()
    for entry in manifest["files"]:
        stored = (compressed / entry["path"]).read_bytes()
        assert (len(stored), _sha(stored)) == (entry["bytes"], entry["sha256"])
        name = entry["path"].removesuffix(".gz") if "encoding" in entry else entry["path"]
        original = plain[name]
        content = gzip.decompress(stored) if "encoding" in entry else stored
        assert (len(content), _sha(content)) == (original["bytes"], original["sha256"])
        if "encoding" in entry:
            assert entry["decodedBytes"] == original["bytes"] and entry["bytes"] < original["bytes"]
        assert {k: v for k, v in entry.items() if k not in ("path", "bytes", "sha256", "encoding", "decodedBytes")} == {
            k: v for k, v in original.items() if k not in ("path", "bytes", "sha256")
        }
        seen.add(name)
    assert seen == set(plain)


def test_references_follow_the_stored_names(compressed: Path) -> None:
    plain, manifest = _manifest(TINY), _manifest(compressed)
    stored = {f["path"] for f in manifest["files"]}
    decoded = {f["path"]: f["path"].removesuffix(".gz") if "encoding" in f else f["path"] for f in manifest["files"]}
    for key in ("tokenizer", "noise"):
        assert manifest[key] in stored and decoded[manifest[key]] == plain[key]
    for graph, variants in plain["graphs"].items():
        for dtype, variant in variants.items():
            got = manifest["graphs"][graph][dtype]
            assert decoded[got["file"]] == variant["file"]
            assert [decoded[p] for p in got["externalData"]] == variant["externalData"]
    rewritten = ("files", "graphs", "tokenizer", "noise", "formatVersion")
    assert {k: v for k, v in manifest.items() if k not in rewritten} == {
        k: v for k, v in plain.items() if k not in rewritten
    }


def test_deterministic(compressed: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    compress_package(TINY, again, level=6, log=lambda _m: None)
    assert (again / "manifest.json").read_bytes() == (compressed / "manifest.json").read_bytes()


def test_files_that_do_not_pay_stay_plain_and_the_version_stays_1(tmp_path: Path) -> None:
    out = tmp_path / "kept"
    compress_package(TINY, out, level=1, min_saving=0.999, log=lambda _m: None)
    manifest = _manifest(out)
    assert manifest["formatVersion"] == _manifest(TINY)["formatVersion"] == 1
    assert manifest["files"] == _manifest(TINY)["files"]
    assert all((out / f["path"]).read_bytes() == (TINY / f["path"]).read_bytes() for f in manifest["files"])


def test_refusals(compressed: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="already compressed"):
        compress_package(compressed, tmp_path / "twice", log=lambda _m: None)
    with pytest.raises(ValueError, match="already holds a package"):
        compress_package(TINY, compressed, log=lambda _m: None)
    with pytest.raises(ValueError, match="min_saving"):
        compress_package(TINY, tmp_path / "bad", min_saving=1.0, log=lambda _m: None)

"""``python -m tools.export.compress SRC --out DST [--level 9] [--min-saving 0.02]``

Writes a copy of a model package whose files are stored gzip-compressed where that pays (docs/model-package.md
"Compressed files"): lossless, decoded by the engine after it verifies the stored file, so the download and the
browser's cache shrink and nothing the sessions compute changes.

Quantised weights are not uniform: int8 values of bell-shaped weights use the middle of their range far more often
than its ends, and a table of tokens' strings is text; deflate's Huffman codes take that redundancy out (e.g. the
full-size random-weight int8 LM −16 %). fp32 weights hardly compress and are kept as they are (``min_saving``).

The manifest's entry of a compressed file describes what is stored (``path`` ending in ``.gz``, its ``bytes`` and
``sha256``) plus ``encoding: "gzip"`` and ``decodedBytes``; graphs keep referring to their files by these paths, and a
graph's external data is found under its decoded name (the path without ``.gz``), the name the graph holds. A package
with a compressed file is format version 2 (older readers refuse it with a clear error instead of misreading it); one
without stays version 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.export.manifest import MANIFEST_FORMAT

COMPRESSED_FORMAT_VERSION = 2
DEFAULT_LEVEL = 9
DEFAULT_MIN_SAVING = 0.02
GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib writes a gzip header: no name, mtime 0 — the same bytes on every run
BLOCK = 1 << 22


def gzip_file(src: Path, dst: Path, level: int) -> tuple[int, str]:
    """Streams ``src`` through gzip into ``dst``; returns the written size and SHA-256."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, GZIP_WBITS)
    digest = hashlib.sha256()
    size = 0
    with src.open("rb") as fin, dst.open("wb") as fout:
        for block in iter(lambda: fin.read(BLOCK), b""):
            out = compressor.compress(block)
            digest.update(out)
            size += fout.write(out)
        out = compressor.flush()
        digest.update(out)
        size += fout.write(out)
    return size, digest.hexdigest()


def _place(src: Path, dst: Path) -> None:
    """A file kept as is: hard-linked when the two directories share a file system, else copied."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def compress_package(
    src: Path,
    out: Path,
    level: int = DEFAULT_LEVEL,
    min_saving: float = DEFAULT_MIN_SAVING,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Writes the compressed copy of the package in ``src`` to ``out`` (which must not hold a package yet); returns
    its manifest."""
    manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{src}/manifest.json is not a {MANIFEST_FORMAT} manifest")
    if any("encoding" in f for f in manifest["files"]):
        raise ValueError(f"{src} is already compressed")
    if not 0 <= min_saving < 1:
        raise ValueError(f"min_saving must be in [0, 1), got {min_saving}")
    if (out / "manifest.json").exists():
        raise ValueError(f"{out} already holds a package; choose an empty directory")
    out.mkdir(parents=True, exist_ok=True)
    renamed: dict[str, str] = {}
    files = []
    for entry in manifest["files"]:
        path = entry["path"]
        stored = out / (path + ".gz")
        stored.parent.mkdir(parents=True, exist_ok=True)
        size, sha256 = gzip_file(src / path, stored, level)
        if size <= entry["bytes"] * (1 - min_saving):
            files.append({**entry, "path": path + ".gz", "bytes": size, "sha256": sha256, "encoding": "gzip",
                          "decodedBytes": entry["bytes"]})
            renamed[path] = path + ".gz"
            log(f"compress: {path} {entry['bytes']} → {size} bytes ({1 - size / max(entry['bytes'], 1):.1%} saved)")
        else:
            stored.unlink()
            _place(src / path, out / path)
            files.append(entry)
            log(f"compress: {path} kept ({entry['bytes']} bytes; gzip saves {1 - size / max(entry['bytes'], 1):.1%})")

    def rename(path: str) -> str:
        return renamed.get(path, path)

    manifest["files"] = sorted(files, key=lambda f: f["path"])
    manifest["tokenizer"] = rename(manifest["tokenizer"])
    manifest["noise"] = rename(manifest["noise"])
    for variants in manifest["graphs"].values():
        for variant in variants.values():
            variant["file"] = rename(variant["file"])
            variant["externalData"] = [rename(p) for p in variant["externalData"]]
    if renamed:
        manifest["formatVersion"] = COMPRESSED_FORMAT_VERSION
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.export.compress", description=__doc__.split("\n\n")[1])
    p.add_argument("src", type=Path, help="a model package directory (written by python -m tools.export)")
    p.add_argument("--out", type=Path, required=True, help="output directory (new or empty)")
    p.add_argument("--level", type=int, default=DEFAULT_LEVEL, choices=range(1, 10), metavar="1..9")
    p.add_argument("--min-saving", type=float, default=DEFAULT_MIN_SAVING,
                   help="compress a file only if that saves at least this fraction of it (default 0.02)")
    args = p.parse_args(argv)
    if not (args.src / "manifest.json").is_file():
        p.error(f"{args.src} has no manifest.json: expected a model package directory")
    try:
        compress_package(args.src, args.out, args.level, args.min_saving, log=lambda m: print(m, file=sys.stderr))
    except ValueError as error:
        p.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())

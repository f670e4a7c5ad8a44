"""``python -m tools.export --checkpoint DIR --out DIR [--variants fp32,fp16,int8,q4]``

Exports a CosyVoice 2 checkpoint directory (official: ``llm.pt``, ``flow.pt``, ``hift.pt``, ``cosyvoice2.yaml``,
``CosyVoice-BlankEN/``, optional ``speech_tokenizer_v2.onnx`` and ``campplus.onnx``; or the same layout with a
``config.json`` for other sizes) to the browser model package described in docs/model-package.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.export.package import ALL_DTYPES, ExportOptions, export_package


def parse_dtypes(text: str) -> tuple[str, ...]:
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in items if t not in ALL_DTYPES]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown variant(s) {', '.join(bad)}; allowed: {', '.join(ALL_DTYPES)}")
    return items


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.export", description=__doc__.split("\n\n")[1])
    p.add_argument("--checkpoint", type=Path, required=True, help="checkpoint directory")
    p.add_argument("--out", type=Path, required=True, help="output directory of the model package")
    p.add_argument("--variants", type=parse_dtypes, default=ALL_DTYPES, help="comma list (default: all)")
    p.add_argument("--embed-variants", type=parse_dtypes, default=None,
                   help="variants of embed_text to write (others reuse the fp32 table); default: as --variants")
    p.add_argument("--model-id", default="cosyvoice2-0.5b")
    p.add_argument("--tokenizer", type=Path, default=None,
                   help="Qwen2 BPE tokenizer.json, if the checkpoint has no CosyVoice-BlankEN directory")
    p.add_argument("--noise-frames", type=int, default=None, help="frames of CFM noise to ship (default: 15000)")
    p.add_argument("--voice-fp16", action="store_true", help="also write fp16 copies of the cloning graphs")
    p.add_argument("--no-measure", action="store_true", help="skip measuring variant errors")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if not (args.checkpoint / "llm.pt").is_file():
        p.error(f"{args.checkpoint} has no llm.pt: expected a CosyVoice 2 checkpoint directory")
    if "fp32" not in args.variants:
        p.error("--variants must include fp32 (the other variants are derived from it)")
    export_package(
        ExportOptions(
            checkpoint=args.checkpoint,
            out=args.out,
            dtypes=args.variants,
            embed_dtypes=args.embed_variants,
            model_id=args.model_id,
            tokenizer=args.tokenizer,
            noise_frames=args.noise_frames,
            voice_fp16=args.voice_fp16,
            measure=not args.no_measure,
            log=(lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr)),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

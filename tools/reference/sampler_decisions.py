"""Expected RAS sampler decisions on a vectors set's stored log-probs, from this reference (``tools/reference/llm.py``).

``python -m tools.reference.sampler_decisions DIR`` prints JSON ``{"<variant>.<source>": {"tokens": [...],
"uniforms": n}}`` for the variants ``current`` / ``dec2024`` and the sources ``zero_shot``, ``cross_lingual``,
``instruct2`` (rows of ``<mode>.logp``, EOS masked per ``<mode>.ignore_eos``) and ``bistream`` (rows of
``bistream.call_logp``, EOS always masked). Closed loop: the history is the tokens sampled so far; the uniforms are
u_k = frac(k·φ⁻¹), k = 1, 2, … (test/unit/lm/vectors.ts ``GoldenUniforms``). test/unit/lm/sampler.test.ts compares
the TypeScript sampler with this output, so the expected decisions come from the reference, not from literals.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from tools.reference import llm as lm
from tools.reference.config import load_checkpoint_config

GOLDEN_RATIO_CONJUGATE = 0.6180339887498949
SOURCES = ("zero_shot", "cross_lingual", "instruct2", "bistream")
VARIANTS: tuple[lm.RasVariant, ...] = ("current", "dec2024")


def decisions(vectors_dir: Path) -> dict[str, dict[str, object]]:
    cfg = load_checkpoint_config(vectors_dir).llm
    with np.load(vectors_dir / "llm.npz") as npz:
        arrays = {name: npz[name] for name in npz.files}
    out: dict[str, dict[str, object]] = {}
    for variant in VARIANTS:
        for source in SOURCES:
            logp = arrays["bistream.call_logp" if source == "bistream" else f"{source}.logp"]
            ignore = np.ones(len(logp), bool) if source == "bistream" else arrays[f"{source}.ignore_eos"].astype(bool)
            count = [0]

            def uniform(count: list[int] = count) -> float:
                count[0] += 1
                return (count[0] * GOLDEN_RATIO_CONJUGATE) % 1

            sample = lm.make_ras_sampler(cfg, uniform, variant)
            tokens: list[int] = []
            for row, ignore_eos in zip(logp, ignore, strict=True):
                tokens.append(sample(torch.from_numpy(row), tokens, bool(ignore_eos)))
            out[f"{variant}.{source}"] = {"tokens": tokens, "uniforms": count[0]}
    return out


if __name__ == "__main__":
    json.dump(decisions(Path(sys.argv[1])), sys.stdout)

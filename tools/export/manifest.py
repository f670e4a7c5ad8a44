"""``manifest.json`` of the browser model package (docs/model-package.md; read by src/loader/manifest.ts)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.export.tokenizer import special_token_ids
from tools.reference.config import ModelConfig

MANIFEST_FORMAT = "cosyvoice-web/model-package"
MANIFEST_FORMAT_VERSION = 1

GRAPH_STAGE = {
    "embed_text": "lm",
    "embed_speech": "lm",
    "llm": "lm",
    "flow_encoder": "flow",
    "flow_step": "flow",
    "flow_step_incremental": "flow",
    "hift_f0": "vocoder",
    "hift_decoder": "vocoder",
    "speech_tokenizer": "voice",
    "campplus": "voice",
}

# Streaming constants of CosyVoice2Model (spec §1.4, §6.4); not part of the checkpoint.
TOKEN_HOP = 25
MAX_TOKEN_HOP = 100
MEL_CACHE_FRAMES = 8
# Front-end constants (spec §3).
SPEECH_TOKENIZER_RATE = 16_000
MAX_PROMPT_SECONDS = 30
WHISPER_MELS = 128
FBANK_BINS = 80


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_constants(cfg: ModelConfig) -> dict[str, Any]:
    """The ``config`` section: every constant the TypeScript engine needs."""
    llm, flow, hift = cfg.llm, cfg.flow, cfg.hift
    v = llm.speech_token_size
    samples_per_frame = hift.samples_per_frame
    return {
        "sampleRate": cfg.sample_rate,
        "tokenFrameRate": cfg.token_frame_rate,
        "tokenMelRatio": flow.token_mel_ratio,
        "melBins": flow.output_size,
        "samplesPerMelFrame": samples_per_frame,
        "llm": {
            "hiddenSize": llm.hidden_size,
            "numLayers": llm.num_layers,
            "numKvHeads": llm.num_kv_heads,
            "headDim": llm.head_dim,
            "textVocabSize": llm.text_vocab_size,
            "speechTokenSize": v,
            "eosId": v,
            "fillId": v + 2,
            "stopIds": [v, v + 1, v + 2],
            "sosRow": v + 3,
            "taskIdRow": v + 4,
            "mixRatio": list(llm.mix_ratio),
        },
        "sampling": {
            "topP": llm.top_p,
            "topK": llm.top_k,
            "winSize": llm.win_size,
            "tauR": llm.tau_r,
            "minTokenTextRatio": llm.min_token_text_ratio,
            "maxTokenTextRatio": llm.max_token_text_ratio,
        },
        "flow": {
            "vocabSize": flow.vocab_size,
            "chunkTokens": flow.encoder.static_chunk_size,
            "preLookahead": flow.pre_lookahead_len,
            "nTimesteps": flow.n_timesteps,
            "cfgRate": flow.inference_cfg_rate,
            "temperature": flow.temperature,
            "noiseFrames": flow.noise_frames,
            "spkEmbedDim": flow.spk_embed_dim,
        },
        "hift": {
            "nbHarmonics": hift.nb_harmonics,
            "nsfAlpha": hift.nsf_alpha,
            "nsfSigma": hift.nsf_sigma,
            "voicedThreshold": hift.nsf_voiced_threshold,
            "nFft": hift.n_fft,
            "hopLength": hift.hop_len,
            "audioLimit": hift.audio_limit,
        },
        "streaming": {
            "tokenHop": TOKEN_HOP,
            "maxTokenHop": MAX_TOKEN_HOP,
            "melCacheFrames": MEL_CACHE_FRAMES,
            "sourceCacheSamples": MEL_CACHE_FRAMES * samples_per_frame,
        },
        "frontend": {
            "speechTokenizerSampleRate": SPEECH_TOKENIZER_RATE,
            "maxPromptSeconds": MAX_PROMPT_SECONDS,
            "whisperMels": WHISPER_MELS,
            "fbankBins": FBANK_BINS,
        },
        "specialTokens": special_token_ids(),
    }


@dataclass
class PackageIndex:
    """Files of a package being written, and which file serves each (graph, dtype)."""

    root: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    graphs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tokenizer: str | None = None
    noise: str | None = None

    def add_file(self, rel: str, stage: str, kind: str, graph: str | None = None, dtype: str | None = None) -> None:
        path = self.root / rel
        entry: dict[str, Any] = {
            "path": rel,
            "bytes": path.stat().st_size,
            "sha256": sha256_of(path),
            "stage": stage,
            "kind": kind,
        }
        if graph is not None:
            entry["graph"] = graph
        if dtype is not None:
            entry["dtype"] = dtype
        self.files[rel] = entry

    def add_graph(self, graph: str, dtype: str, rel: str, external: list[str] | None = None) -> None:
        """Registers ``rel`` (already written under root) as the ``dtype`` variant of ``graph``.

        A file may serve several dtypes (e.g. the fp32 F0 predictor in the vocoder's int8 variant); it is listed
        once under the dtype it was written in.
        """
        stage = GRAPH_STAGE[graph]
        for r, kind in [(rel, "graph"), *((e, "external-data") for e in (external or []))]:
            if r not in self.files:
                self.add_file(r, stage, kind, graph, dtype)
        self.graphs.setdefault(graph, {})[dtype] = {"file": rel, "externalData": list(external or [])}

    def replace_external(self, graph: str, dtype: str, external: list[str]) -> None:
        """After the ``dtype`` variant of ``graph`` was rewritten with other external data: refreshes its file's size
        and hash, registers new data files (a file several graphs share names no graph) and forgets unused ones."""
        variant = self.graphs[graph][dtype]
        old = self.files[variant["file"]]
        self.add_file(variant["file"], old["stage"], "graph", old.get("graph"), old.get("dtype"))
        for rel in external:
            if rel not in self.files:
                self.add_file(rel, old["stage"], "external-data", dtype=dtype)
        variant["externalData"] = list(external)
        used = {f for g in self.graphs.values() for v in g.values() for f in [v["file"], *v["externalData"]]}
        for rel in [r for r, f in self.files.items() if f["kind"] == "external-data" and r not in used]:
            del self.files[rel]

    def to_json(self, model_id: str, cfg: ModelConfig, extra: dict[str, Any] | None = None) -> str:
        if self.tokenizer is None or self.noise is None:
            raise ValueError("a package needs tokenizer.json and the CFM noise buffer")
        order = list(GRAPH_STAGE)
        manifest = {
            "format": MANIFEST_FORMAT,
            "formatVersion": MANIFEST_FORMAT_VERSION,
            "modelId": model_id,
            "config": model_constants(cfg),
            "tokenizer": self.tokenizer,
            "noise": self.noise,
            "graphs": {g: self.graphs[g] for g in order if g in self.graphs},
            "files": sorted(self.files.values(), key=lambda f: f["path"]),
            **(extra or {}),
        }
        return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"

"""Checkpoint → browser model package (docs/model-package.md).

Writes the fp32 graphs from the reference modules, derives the requested weight-format variants, copies the
cloning front-end graphs, writes ``tokenizer.json``, the CFM noise buffer and ``manifest.json``, and measures every
variant's error against fp32 on onnxruntime (recorded in the manifest's ``quality`` section).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from tools.export import shared_weights, variants
from tools.export.flow import export_flow_encoder, export_flow_step, export_flow_step_incremental, write_noise
from tools.export.graph import external_files
from tools.export.hift import example_decoder_inputs, export_hift_decoder, export_hift_f0
from tools.export.llm import export_embed_speech, export_embed_text, export_llm
from tools.export.manifest import GRAPH_STAGE, PackageIndex
from tools.export.tokenizer import build_from_blanken, build_from_tokenizer_json, special_token_ids
from tools.reference.checkpoint import load_strict
from tools.reference.config import ModelConfig, load_checkpoint_config
from tools.reference.flow import Flow
from tools.reference.hift import load_hift
from tools.reference.llm import load_qwen2lm

ALL_DTYPES = ("fp32", "fp16", "fp16w", "int8", "q4")

# Graphs that compute in fp32 in every variant (spec §6.5: HiFT's F0 and exp(magnitude) break in fp16 arithmetic;
# HiFT is convolutions, which the weight-only quantisers leave untouched): their fp16, int8 and q4 entries are the
# fp32 file; only fp16w (fp16-stored weights, fp32 arithmetic) gives them a smaller one.
FP32_COMPUTE = frozenset({"hift_f0", "hift_decoder"})
# Stages that get an fp16w variant: the flow (WebGPU without shader-f16) and the vocoder (every device). The LM has
# better choices on every device (q4 on WebGPU, int8 on wasm, fp16 with shader-f16), and its fp16w copy would add 1 GB.
FP16W_STAGES = frozenset({"flow", "vocoder"})

# Graphs whose variants hold the same weights (tools/export/shared_weights.py): each dtype's common initializers go
# to one ``<name>.<dtype>.data`` that both graphs reference, so a client loading both downloads the weights once.
SHARED_WEIGHTS = {"flow_estimator": ("flow_step", "flow_step_incremental")}

# The LM's text table in the int8 variant (the wasm default): rows on a 6-bit grid (±31 × the row's scale) in the
# same int8 storage and graph. Its values then carry ≈ 5.4 instead of ≈ 7.4 bits of information, so a compressed
# package (tools/export/compress.py) downloads 31 MB less at full size (125.7 → 94.6 MB), which brings the wasm
# default under 600 MB. A lookup's error enters only at the text positions: measured on the full-size random-weight
# LM (tools/bench/variant-error.ts, 61 teacher-forced positions against fp16) the next-token TVD goes from 0.0213 to
# 0.0256 (a 4-bit table: 0.0367; the q4 LM: 0.122). docs/model-package.md "Variants".
TABLE_LEVELS = {"embed_text": 31}

VOICE_FILES = {"speech_tokenizer": "speech_tokenizer_v2.onnx", "campplus": "campplus.onnx"}


@dataclass(frozen=True)
class ExportOptions:
    checkpoint: Path
    out: Path
    dtypes: tuple[str, ...] = ALL_DTYPES
    embed_dtypes: tuple[str, ...] | None = None
    """Variants of ``embed_text`` to write (default: all of ``dtypes``); the others reuse the fp32 table."""
    model_id: str = "cosyvoice2-0.5b"
    tokenizer: Path | None = None
    """A Qwen2 BPE ``tokenizer.json`` when the checkpoint has no ``CosyVoice-BlankEN`` directory."""
    noise_frames: int | None = None
    voice_fp16: bool = False
    measure: bool = True
    log: Callable[[str], None] = print


def export_package(opts: ExportOptions) -> dict[str, Any]:
    """Runs the whole export; returns the manifest as a dict."""
    cfg = load_checkpoint_config(opts.checkpoint)
    if opts.noise_frames is not None:
        from tools.reference.config import replace

        cfg = replace(cfg, flow=replace(cfg.flow, noise_frames=opts.noise_frames))
    for dtype in opts.dtypes:
        if dtype not in ALL_DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; expected a subset of {', '.join(ALL_DTYPES)}")
    if "fp32" not in opts.dtypes:
        raise ValueError("the fp32 variant is always exported (every other variant is derived from it)")
    out = opts.out
    out.mkdir(parents=True, exist_ok=True)
    index = PackageIndex(out)

    writers = fp32_writers(opts.checkpoint, cfg, opts.log)
    for graph, write in writers.items():
        opts.log(f"export: {graph} fp32")
        write(out / f"{graph}.fp32.onnx")
        index.add_graph(graph, "fp32", f"{graph}.fp32.onnx", external_files(out / f"{graph}.fp32.onnx"))

    quality: dict[str, dict[str, Any]] = {}
    for graph in writers:
        for dtype in opts.dtypes:
            if dtype == "fp32" or (dtype == "fp16w" and GRAPH_STAGE[graph] not in FP16W_STAGES):
                continue
            rel = variant_file(graph, dtype, opts)
            if rel == f"{graph}.fp32.onnx":  # the fp32 file serves this dtype too (the vocoder, embed tables)
                index.add_graph(graph, dtype, rel, index.graphs[graph]["fp32"]["externalData"])
                continue
            opts.log(f"export: {graph} {dtype}")
            levels = TABLE_LEVELS.get(graph, variants.INT8_LEVELS)
            model = variants.make_variant(variants.load(out / f"{graph}.fp32.onnx"), dtype, levels)
            external = variants.save(model, out / rel)
            index.add_graph(graph, dtype, rel, external)
            if opts.measure:
                quality.setdefault(graph, {})[dtype] = measure_error(out / f"{graph}.fp32.onnx", out / rel, graph, cfg)

    for name, graphs in SHARED_WEIGHTS.items():
        share_graph_weights(out, index, name, graphs)
    copy_voice_graphs(opts, index)
    write_tokenizer(opts, index)
    noise = write_noise(out / "cfm_noise.f32", cfg.flow.noise_frames)
    index.add_file(noise.name, "flow", "noise")
    index.noise = noise.name

    extra = {"quality": quality} if quality else {}
    text = index.to_json(opts.model_id, cfg, extra)
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return json.loads(text)


def fp32_writers(checkpoint: Path, cfg: ModelConfig, log: Callable[[str], None]) -> dict[str, Callable[[Path], Any]]:
    """Loads the three checkpoints strictly and returns one fp32 writer per graph, in manifest order."""
    log(f"load: {checkpoint}/llm.pt")
    lm = load_qwen2lm(checkpoint / "llm.pt", cfg.llm).eval()
    log(f"load: {checkpoint}/flow.pt")
    flow = load_strict(Flow(cfg.flow), checkpoint / "flow.pt", "flow.pt").eval()
    log(f"load: {checkpoint}/hift.pt")
    hift = load_hift(checkpoint / "hift.pt", cfg.hift).eval()
    return {
        "embed_text": lambda p: export_embed_text(lm, p),
        "embed_speech": lambda p: export_embed_speech(lm, p),
        "llm": lambda p: export_llm(lm, p),
        "flow_encoder": lambda p: export_flow_encoder(flow, p),
        "flow_step": lambda p: export_flow_step(flow, p),
        "flow_step_incremental": lambda p: export_flow_step_incremental(flow, p),
        "hift_f0": lambda p: export_hift_f0(hift, p),
        "hift_decoder": lambda p: export_hift_decoder(hift, p),
    }


def variant_file(graph: str, dtype: str, opts: ExportOptions) -> str:
    """File serving ``graph`` in ``dtype``: its own file, or the fp32 file where the policy keeps fp32."""
    if graph in FP32_COMPUTE and dtype != "fp16w":
        return f"{graph}.fp32.onnx"
    if graph == "embed_text" and opts.embed_dtypes is not None and dtype not in opts.embed_dtypes:
        return f"{graph}.fp32.onnx"
    return f"{graph}.{dtype}.onnx"


def share_graph_weights(out: Path, index: PackageIndex, name: str, graphs: tuple[str, ...]) -> None:
    """Per variant file set of ``graphs``, moves their common weights into ``<name>.<dtype>.data`` (after every
    variant is derived and measured: those steps read the self-contained fp32 files)."""
    if not all(g in index.graphs for g in graphs):
        return
    done: set[tuple[str, ...]] = set()
    for dtype in index.graphs[graphs[0]]:
        files = tuple(index.graphs[g][dtype]["file"] for g in graphs if dtype in index.graphs[g])
        if len(set(files)) < 2 or files in done:
            continue
        done.add(files)
        external = sorted(shared_weights.share([out / f for f in files], out / f"{name}.{dtype}.data"))
        for graph in graphs:
            for d, variant in index.graphs[graph].items():
                if variant["file"] in files:
                    index.replace_external(graph, d, external)


def copy_voice_graphs(opts: ExportOptions, index: PackageIndex) -> None:
    """Passes the official cloning front-end through (optionally with fp16 weights), if the checkpoint has it."""
    for graph, name in VOICE_FILES.items():
        src = opts.checkpoint / name
        if not src.is_file():
            opts.log(f"export: {name} not in the checkpoint; the package will not clone voices on device")
            continue
        shutil.copyfile(src, opts.out / f"{graph}.fp32.onnx")
        index.add_graph(graph, "fp32", f"{graph}.fp32.onnx")
        if opts.voice_fp16:
            model = variants.make_fp16(variants.load(src))
            variants.save(model, opts.out / f"{graph}.fp16.onnx")
            index.add_graph(graph, "fp16", f"{graph}.fp16.onnx")


def write_tokenizer(opts: ExportOptions, index: PackageIndex) -> None:
    blanken = opts.checkpoint / "CosyVoice-BlankEN"
    if blanken.is_dir():
        text = build_from_blanken(blanken)
    elif opts.tokenizer is not None:
        text = build_from_tokenizer_json(opts.tokenizer)
    else:
        raise FileNotFoundError(
            f"{opts.checkpoint} has no CosyVoice-BlankEN directory; pass --tokenizer with a Qwen2 BPE tokenizer.json"
        )
    ids = {t["content"]: t["id"] for t in json.loads(text)["added_tokens"]}
    assert ids == special_token_ids(), "tokenizer special ids differ from spec §2.2"
    (opts.out / "tokenizer.json").write_text(text, encoding="utf-8")
    index.add_file("tokenizer.json", "lm", "tokenizer")
    index.tokenizer = "tokenizer.json"


# --- variant error measurement --------------------------------------------------------------------------------------


def _feeds(graph: str, cfg: ModelConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Representative random inputs for one graph (shapes of a short utterance)."""
    llm, flow = cfg.llm, cfg.flow
    if graph == "embed_text":
        return {"input_ids": rng.integers(0, llm.text_vocab_size, (1, 16), dtype=np.int64)}
    if graph == "embed_speech":
        return {"speech_ids": rng.integers(0, llm.speech_rows + 2, (1, 16), dtype=np.int64)}
    if graph == "llm":
        s = 12
        feeds: dict[str, np.ndarray] = {
            "inputs_embeds": (rng.standard_normal((1, s, llm.hidden_size)) * 0.05).astype(np.float32),
            "attention_mask": np.ones((1, s), dtype=np.int64),
            "position_ids": np.arange(s, dtype=np.int64)[None],
        }
        for i in range(llm.num_layers):
            for kind in ("key", "value"):
                feeds[f"past_key_values.{i}.{kind}"] = np.zeros((1, llm.num_kv_heads, 0, llm.head_dim), np.float32)
        return feeds
    if graph == "flow_encoder":
        n = 2 * flow.encoder.static_chunk_size + 5
        return {
            "tokens": rng.integers(0, flow.vocab_size, (1, n), dtype=np.int64),
            "context": rng.integers(0, flow.vocab_size, (1, flow.pre_lookahead_len), dtype=np.int64),
            "streaming": np.array([True]),
            "embedding": rng.standard_normal((1, flow.spk_embed_dim)).astype(np.float32),
        }
    if graph == "flow_step":
        t = 2 * flow.estimator.static_chunk_size + 10
        return {
            "x": rng.standard_normal((1, flow.output_size, t)).astype(np.float32),
            "mu": rng.standard_normal((1, flow.output_size, t)).astype(np.float32),
            "spks": rng.standard_normal((1, flow.output_size)).astype(np.float32),
            "cond": rng.standard_normal((1, flow.output_size, t)).astype(np.float32),
            "t": np.array([0.3], np.float32),
            "dt": np.array([0.1], np.float32),
            "streaming": np.array([False]),
        }
    if graph == "flow_step_incremental":
        # a past of one chunk (the cache only ever holds whole chunks) and 10 new frames; the cache shapes are the
        # graph's own (blocks, heads, convolution channels), read from its inputs by measure_error
        return _feeds("flow_step", cfg, rng) | {"past_frames": np.array(flow.estimator.static_chunk_size)}
    if graph == "hift_f0":
        # log-mel-like values (speech mels span about −11 … 2)
        return {"mel": (rng.standard_normal((1, cfg.hift.in_channels, 60)) * 2 - 5).astype(np.float32)}
    if graph == "hift_decoder":
        mel, excitation, cache = (t.numpy() for t in example_decoder_inputs(cfg.hift, frames=60))
        return {
            "mel": (rng.standard_normal(mel.shape) * 2 - 5).astype(np.float32),
            "excitation": (rng.standard_normal(excitation.shape) * 0.1).astype(np.float32),
            "cache_source": cache,
        }
    raise KeyError(graph)


def _cache_feeds(session: ort.InferenceSession, feeds: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Random ``past_kv`` / ``conv_state`` of the shapes ``session`` declares, with ``feeds["past_frames"]`` frames."""
    past = int(feeds.pop("past_frames"))
    for name in ("x", "mu", "cond"):
        feeds[name] = feeds[name][:, :, :10]
    del feeds["streaming"]
    for spec in session.get_inputs():
        if spec.name in ("past_kv", "conv_state"):
            shape = [past if isinstance(d, str) else d for d in spec.shape]
            feeds[spec.name] = rng.standard_normal(shape).astype(np.float32)


def measure_error(fp32_path: Path, variant_path: Path, graph: str, cfg: ModelConfig) -> dict[str, float]:
    """Max-abs and relative error of a variant's first output against fp32 on representative random inputs."""
    rng = np.random.default_rng(1234)
    feeds = _feeds(graph, cfg, rng)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    reference = ort.InferenceSession(str(fp32_path), opts, providers=["CPUExecutionProvider"])
    if "past_frames" in feeds:
        _cache_feeds(reference, feeds, rng)
    ref = reference.run(None, feeds)[0]
    got = ort.InferenceSession(str(variant_path), opts, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    scale = float(np.abs(ref).max()) or 1.0
    return {
        "maxAbs": float(f"{err.max():.3g}"),
        "rms": float(f"{np.sqrt((err**2).mean()):.3g}"),
        "relMaxAbs": float(f"{err.max() / scale:.3g}"),
    }


def stages_of(manifest: dict[str, Any]) -> set[str]:
    return {GRAPH_STAGE[g] for g in manifest["graphs"]}

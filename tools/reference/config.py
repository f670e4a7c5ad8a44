"""Hyper-parameters of the CosyVoice 2 modules.

Defaults are the official CosyVoice2-0.5B values (spec §0, §4.1, §5, §6.1). Every dimension is a field, so the same
code builds the tiny fixture models. A checkpoint directory carries a ``config.json`` in the layout of
``shared/data/upstream-vectors/config.json`` (``model`` → flow/hift, ``llm.model`` → Qwen2LM); an official checkpoint
directory (``cosyvoice2.yaml`` next to ``llm.pt``) uses :func:`official_config`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LlmConfig:
    """Qwen2LM: Qwen2 body + ``llm_embedding`` (SOS, TASK_ID) + ``speech_embedding`` + ``llm_decoder``."""

    hidden_size: int = 896
    intermediate_size: int = 4864
    num_layers: int = 24
    num_heads: int = 14
    num_kv_heads: int = 2
    head_dim: int = 64
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1_000_000.0
    text_vocab_size: int = 151_936
    speech_token_size: int = 6561
    """Speech vocabulary; ids ``speech_token_size + {0, 1, 2}`` are EOS, the unused 2nd stop id, and FILL."""
    mix_ratio: tuple[int, int] = (5, 15)
    top_p: float = 0.8
    top_k: int = 25
    win_size: int = 10
    tau_r: float = 0.1
    min_token_text_ratio: float = 2.0
    max_token_text_ratio: float = 20.0

    @property
    def eos_id(self) -> int:
        return self.speech_token_size

    @property
    def fill_id(self) -> int:
        return self.speech_token_size + 2

    @property
    def speech_rows(self) -> int:
        return self.speech_token_size + 3


@dataclass(frozen=True)
class EncoderConfig:
    """UpsampleConformerEncoder (spec §5.2)."""

    d_model: int = 512
    num_heads: int = 8
    linear_units: int = 2048
    num_blocks: int = 6
    num_up_blocks: int = 4
    static_chunk_size: int = 25
    """Chunk size in tokens; the up-sampled layers use ``static_chunk_size * upsample_stride`` frames."""
    pre_lookahead_len: int = 3
    upsample_stride: int = 2
    embed_eps: float = 1e-5
    layer_eps: float = 1e-12


@dataclass(frozen=True)
class EstimatorConfig:
    """CausalConditionalDecoder (spec §5.5)."""

    in_channels: int = 320
    out_channels: int = 80
    channels: int = 256
    n_blocks: int = 4
    num_mid_blocks: int = 12
    num_heads: int = 8
    attention_head_dim: int = 64
    static_chunk_size: int = 50

    @property
    def time_embed_dim(self) -> int:
        return 4 * self.channels


@dataclass(frozen=True)
class FlowConfig:
    """CausalMaskedDiffWithXvec + CausalConditionalCFM (spec §5)."""

    vocab_size: int = 6561
    input_size: int = 512
    output_size: int = 80
    spk_embed_dim: int = 192
    token_mel_ratio: int = 2
    pre_lookahead_len: int = 3
    n_timesteps: int = 10
    inference_cfg_rate: float = 0.7
    temperature: float = 1.0
    noise_frames: int = 15_000
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)


@dataclass(frozen=True)
class HiftConfig:
    """HiFTGenerator (spec §6.1)."""

    in_channels: int = 80
    base_channels: int = 512
    nb_harmonics: int = 8
    sampling_rate: int = 24_000
    nsf_alpha: float = 0.1
    nsf_sigma: float = 0.003
    nsf_voiced_threshold: float = 10.0
    upsample_rates: tuple[int, ...] = (8, 5, 3)
    upsample_kernel_sizes: tuple[int, ...] = (16, 11, 7)
    n_fft: int = 16
    hop_len: int = 4
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    source_resblock_kernel_sizes: tuple[int, ...] = (7, 7, 11)
    source_resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    lrelu_slope: float = 0.1
    audio_limit: float = 0.99
    f0_cond_channels: int = 512

    @property
    def samples_per_frame(self) -> int:
        rate = self.hop_len
        for r in self.upsample_rates:
            rate *= r
        return rate


@dataclass(frozen=True)
class ModelConfig:
    sample_rate: int = 24_000
    token_frame_rate: int = 25
    llm: LlmConfig = field(default_factory=LlmConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    hift: HiftConfig = field(default_factory=HiftConfig)


def official_config() -> ModelConfig:
    """CosyVoice2-0.5B as released (cosyvoice2.yaml)."""
    return ModelConfig()


def _llm_from_json(llm_model: dict[str, Any]) -> LlmConfig:
    q = llm_model["llm"]["qwen2_config"]
    s = llm_model.get("sampling", {})
    rope = q.get("rope_parameters", {}).get("rope_theta", q.get("rope_theta", 1_000_000.0))
    return LlmConfig(
        hidden_size=q["hidden_size"],
        intermediate_size=q["intermediate_size"],
        num_layers=q["num_hidden_layers"],
        num_heads=q["num_attention_heads"],
        num_kv_heads=q["num_key_value_heads"],
        head_dim=q.get("head_dim", q["hidden_size"] // q["num_attention_heads"]),
        rms_norm_eps=q["rms_norm_eps"],
        rope_theta=float(rope),
        text_vocab_size=q["vocab_size"],
        speech_token_size=llm_model["speech_token_size"],
        mix_ratio=tuple(llm_model.get("mix_ratio", (5, 15))),
        top_p=s.get("top_p", 0.8),
        top_k=s.get("top_k", 25),
        win_size=s.get("win_size", 10),
        tau_r=s.get("tau_r", 0.1),
        min_token_text_ratio=llm_model.get("min_token_text_ratio", 2),
        max_token_text_ratio=llm_model.get("max_token_text_ratio", 20),
    )


def _flow_from_json(flow: dict[str, Any]) -> FlowConfig:
    enc = flow["encoder"]
    dec = flow["decoder"]
    est = dec["estimator"]
    cfm = dec.get("cfm_params", {})
    return FlowConfig(
        vocab_size=flow["vocab_size"],
        input_size=flow["input_size"],
        output_size=flow["output_size"],
        spk_embed_dim=flow["spk_embed_dim"],
        token_mel_ratio=flow["token_mel_ratio"],
        pre_lookahead_len=flow["pre_lookahead_len"],
        n_timesteps=dec.get("n_timesteps", 10),
        inference_cfg_rate=cfm.get("inference_cfg_rate", 0.7),
        temperature=dec.get("temperature", 1.0),
        noise_frames=dec.get("noise_frames", 15_000),
        encoder=EncoderConfig(
            d_model=enc["output_size"],
            num_heads=enc["attention_heads"],
            linear_units=enc["linear_units"],
            num_blocks=enc["num_blocks"],
            num_up_blocks=enc.get("num_up_blocks", 4),
            static_chunk_size=enc["static_chunk_size"],
            pre_lookahead_len=enc.get("pre_lookahead_len", flow["pre_lookahead_len"]),
            upsample_stride=enc.get("upsample_stride", 2),
        ),
        estimator=EstimatorConfig(
            in_channels=est["in_channels"],
            out_channels=est["out_channels"],
            channels=est["channels"][0],
            n_blocks=est["n_blocks"],
            num_mid_blocks=est["num_mid_blocks"],
            num_heads=est["num_heads"],
            attention_head_dim=est["attention_head_dim"],
            static_chunk_size=est["static_chunk_size"],
        ),
    )


def _hift_from_json(h: dict[str, Any]) -> HiftConfig:
    return HiftConfig(
        in_channels=h["in_channels"],
        base_channels=h["base_channels"],
        nb_harmonics=h["nb_harmonics"],
        sampling_rate=h["sampling_rate"],
        nsf_alpha=h["nsf_alpha"],
        nsf_sigma=h["nsf_sigma"],
        nsf_voiced_threshold=float(h["nsf_voiced_threshold"]),
        upsample_rates=tuple(h["upsample_rates"]),
        upsample_kernel_sizes=tuple(h["upsample_kernel_sizes"]),
        n_fft=h["istft_params"]["n_fft"],
        hop_len=h["istft_params"]["hop_len"],
        resblock_kernel_sizes=tuple(h["resblock_kernel_sizes"]),
        resblock_dilation_sizes=tuple(tuple(d) for d in h["resblock_dilation_sizes"]),
        source_resblock_kernel_sizes=tuple(h["source_resblock_kernel_sizes"]),
        source_resblock_dilation_sizes=tuple(tuple(d) for d in h["source_resblock_dilation_sizes"]),
        lrelu_slope=h["lrelu_slope"],
        audio_limit=h["audio_limit"],
        f0_cond_channels=h["f0_predictor"]["cond_channels"],
    )


def from_json(data: dict[str, Any]) -> ModelConfig:
    """Parse a checkpoint ``config.json`` (the upstream-vectors layout: ``model`` + ``llm.model``)."""
    model = data["model"]
    return ModelConfig(
        sample_rate=model.get("sample_rate", 24_000),
        token_frame_rate=model.get("token_frame_rate", 25),
        llm=_llm_from_json(data["llm"]["model"]) if "llm" in data else LlmConfig(),
        flow=_flow_from_json(model["flow"]),
        hift=_hift_from_json(model["hift"]),
    )


def load_checkpoint_config(checkpoint_dir: str | Path) -> ModelConfig:
    """Configuration of a checkpoint directory: its ``config.json``, or the official one next to ``cosyvoice2.yaml``."""
    d = Path(checkpoint_dir)
    if (d / "config.json").is_file():
        return from_json(json.loads((d / "config.json").read_text()))
    if (d / "cosyvoice2.yaml").is_file():
        return official_config()
    raise FileNotFoundError(
        f"{d}: no config.json (cosyvoice-web / upstream-vectors layout) and no cosyvoice2.yaml (official checkpoint)"
    )


def to_json(cfg: ModelConfig) -> dict[str, Any]:
    """Inverse of :func:`from_json` (the subset of the upstream-vectors layout that :func:`from_json` reads)."""
    llm, flow, hift = cfg.llm, cfg.flow, cfg.hift
    enc, est = flow.encoder, flow.estimator
    return {
        "model": {
            "sample_rate": cfg.sample_rate,
            "token_frame_rate": cfg.token_frame_rate,
            "flow": {
                "vocab_size": flow.vocab_size,
                "input_size": flow.input_size,
                "output_size": flow.output_size,
                "spk_embed_dim": flow.spk_embed_dim,
                "token_mel_ratio": flow.token_mel_ratio,
                "pre_lookahead_len": flow.pre_lookahead_len,
                "encoder": {
                    "output_size": enc.d_model,
                    "attention_heads": enc.num_heads,
                    "linear_units": enc.linear_units,
                    "num_blocks": enc.num_blocks,
                    "num_up_blocks": enc.num_up_blocks,
                    "static_chunk_size": enc.static_chunk_size,
                    "pre_lookahead_len": enc.pre_lookahead_len,
                    "upsample_stride": enc.upsample_stride,
                },
                "decoder": {
                    "n_timesteps": flow.n_timesteps,
                    "temperature": flow.temperature,
                    "noise_frames": flow.noise_frames,
                    "cfm_params": {"inference_cfg_rate": flow.inference_cfg_rate},
                    "estimator": {
                        "in_channels": est.in_channels,
                        "out_channels": est.out_channels,
                        "channels": [est.channels],
                        "n_blocks": est.n_blocks,
                        "num_mid_blocks": est.num_mid_blocks,
                        "num_heads": est.num_heads,
                        "attention_head_dim": est.attention_head_dim,
                        "static_chunk_size": est.static_chunk_size,
                    },
                },
            },
            "hift": {
                "in_channels": hift.in_channels,
                "base_channels": hift.base_channels,
                "nb_harmonics": hift.nb_harmonics,
                "sampling_rate": hift.sampling_rate,
                "nsf_alpha": hift.nsf_alpha,
                "nsf_sigma": hift.nsf_sigma,
                "nsf_voiced_threshold": hift.nsf_voiced_threshold,
                "upsample_rates": list(hift.upsample_rates),
                "upsample_kernel_sizes": list(hift.upsample_kernel_sizes),
                "istft_params": {"n_fft": hift.n_fft, "hop_len": hift.hop_len},
                "resblock_kernel_sizes": list(hift.resblock_kernel_sizes),
                "resblock_dilation_sizes": [list(d) for d in hift.resblock_dilation_sizes],
                "source_resblock_kernel_sizes": list(hift.source_resblock_kernel_sizes),
                "source_resblock_dilation_sizes": [list(d) for d in hift.source_resblock_dilation_sizes],
                "lrelu_slope": hift.lrelu_slope,
                "audio_limit": hift.audio_limit,
                "f0_predictor": {"cond_channels": hift.f0_cond_channels},
            },
        },
        "llm": {
            "model": {
                "speech_token_size": llm.speech_token_size,
                "mix_ratio": list(llm.mix_ratio),
                "min_token_text_ratio": llm.min_token_text_ratio,
                "max_token_text_ratio": llm.max_token_text_ratio,
                "sampling": {"top_p": llm.top_p, "top_k": llm.top_k, "win_size": llm.win_size, "tau_r": llm.tau_r},
                "llm": {
                    "qwen2_config": {
                        "hidden_size": llm.hidden_size,
                        "intermediate_size": llm.intermediate_size,
                        "num_hidden_layers": llm.num_layers,
                        "num_attention_heads": llm.num_heads,
                        "num_key_value_heads": llm.num_kv_heads,
                        "head_dim": llm.head_dim,
                        "rms_norm_eps": llm.rms_norm_eps,
                        "rope_theta": llm.rope_theta,
                        "vocab_size": llm.text_vocab_size,
                    }
                },
            }
        },
    }


def replace(cfg: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` re-exported for building tiny variants."""
    return dataclasses.replace(cfg, **changes)

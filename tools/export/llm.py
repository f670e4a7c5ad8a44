"""ONNX export of the speech-token LM graphs ``embed_text``, ``embed_speech`` and ``llm`` (docs/model-package.md).

fp32, opset 17, batch 1, every dynamic axis named; written by ``tools.export.graph.export_graph`` (tracer warnings are
errors, so a shape that would silently be baked into the graph as a constant fails the export).

Files whose weights would come near the 2 GiB protobuf limit are written with external data in one
``<file name>.data`` next to the graph (the real fp32 ``llm`` graph is ≈ 1.46 GB and stays a single file; the
threshold is a parameter so the external-data path can be exercised with the tiny fixture model).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from tools.export.graph import EXTERNAL_DATA_THRESHOLD_BYTES, FLOAT, INT64, GraphIo, TensorSpec, export_graph
from tools.reference.llm import KvPair, Qwen2LM

SEQUENCE = "sequence"
PAST_SEQUENCE = "past_sequence"
TOTAL_SEQUENCE = "total_sequence"


def past_key_name(layer: int) -> str:
    return f"past_key_values.{layer}.key"


def past_value_name(layer: int) -> str:
    return f"past_key_values.{layer}.value"


def present_key_name(layer: int) -> str:
    return f"present.{layer}.key"


def present_value_name(layer: int) -> str:
    return f"present.{layer}.value"


def llm_input_names(num_layers: int) -> list[str]:
    cache = [name for i in range(num_layers) for name in (past_key_name(i), past_value_name(i))]
    return ["inputs_embeds", "attention_mask", "position_ids", *cache]


def llm_io(num_layers: int, hidden: int, kv_heads: int, head_dim: int, logits: int) -> GraphIo:
    """``llm`` inputs and outputs exactly as docs/model-package.md lists them."""

    def cache(name: str, axis: str) -> TensorSpec:
        return name, FLOAT, (1, kv_heads, axis, head_dim)

    past = tuple(cache(n, PAST_SEQUENCE) for i in range(num_layers) for n in (past_key_name(i), past_value_name(i)))
    present = tuple(
        cache(n, TOTAL_SEQUENCE) for i in range(num_layers) for n in (present_key_name(i), present_value_name(i))
    )
    inputs = (
        ("inputs_embeds", FLOAT, (1, SEQUENCE, hidden)),
        ("attention_mask", INT64, (1, TOTAL_SEQUENCE)),
        ("position_ids", INT64, (1, SEQUENCE)),
        *past,
    )
    return inputs, (("logits", FLOAT, (1, logits)), *present)


def embed_io(ids_name: str, hidden: int) -> GraphIo:
    """``embed_text`` (``input_ids``) / ``embed_speech`` (``speech_ids``) → ``inputs_embeds [1, S, H]``."""
    return ((ids_name, INT64, (1, SEQUENCE)),), (("inputs_embeds", FLOAT, (1, SEQUENCE, hidden)),)


class EmbedTextGraph(nn.Module):
    """``input_ids [1, S]`` → ``inputs_embeds [1, S, H]`` (rows of ``embed_tokens``)."""

    def __init__(self, model: Qwen2LM) -> None:
        super().__init__()
        self.embed_tokens = model.backbone.embed_tokens

    def forward(self, input_ids: Tensor) -> Tensor:
        return self.embed_tokens(input_ids)


class EmbedSpeechGraph(nn.Module):
    """``speech_ids [1, S]`` → ``inputs_embeds [1, S, H]``; ids ``V+3`` / ``V+4`` are SOS / TASK_ID.

    The joined table is a buffer so the graph holds one named initializer instead of a folded ``Concat``.
    """

    speech_side_table: Tensor

    def __init__(self, model: Qwen2LM) -> None:
        super().__init__()
        self.register_buffer("speech_side_table", model.speech_side_table().detach().clone())

    def forward(self, speech_ids: Tensor) -> Tensor:
        return torch.nn.functional.embedding(speech_ids, self.speech_side_table)


class LlmGraph(nn.Module):
    """:meth:`Qwen2LM.forward_step` with the KV cache flattened into ``past_key_values.{i}.key/value`` inputs."""

    def __init__(self, model: Qwen2LM) -> None:
        super().__init__()
        self.lm = model

    def forward(
        self, inputs_embeds: Tensor, attention_mask: Tensor, position_ids: Tensor, *past_flat: Tensor
    ) -> tuple[Tensor, ...]:
        past: list[KvPair] = [(past_flat[i], past_flat[i + 1]) for i in range(0, len(past_flat), 2)]
        logits, _, presents = self.lm.forward_step(inputs_embeds, attention_mask, position_ids, past)
        # A constant-shape reshape lets ONNX shape inference state the contract's static [1, V + 3].
        logits = logits.reshape(1, self.lm.cfg.speech_rows)
        return (logits, *(tensor for pair in presents for tensor in pair))


def export_embed_text(
    model: Qwen2LM, path: str | Path, external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES
) -> Path:
    example_ids = torch.zeros(1, 3, dtype=torch.int64)
    io = embed_io("input_ids", model.cfg.hidden_size)
    return export_graph(EmbedTextGraph(model), (example_ids,), path, io, external_data_threshold_bytes)


def export_embed_speech(
    model: Qwen2LM, path: str | Path, external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES
) -> Path:
    example_ids = torch.zeros(1, 3, dtype=torch.int64)
    io = embed_io("speech_ids", model.cfg.hidden_size)
    return export_graph(EmbedSpeechGraph(model), (example_ids,), path, io, external_data_threshold_bytes)


def llm_example_inputs(model: Qwen2LM, new: int = 3, past: int = 2) -> tuple[Tensor, ...]:
    """Tracing inputs with S ≠ P, both > 1, so no axis can be mistaken for a constant or for another axis."""
    cfg = model.cfg
    generator = torch.Generator().manual_seed(0)
    device = model.llm_decoder.weight.device
    embeds = torch.randn(1, new, cfg.hidden_size, generator=generator).to(device)
    attention_mask = torch.ones(1, past + new, dtype=torch.int64, device=device)
    position_ids = torch.arange(past, past + new, dtype=torch.int64, device=device).unsqueeze(0)
    cache_shape = (1, cfg.num_kv_heads, past, cfg.head_dim)
    cache = [torch.randn(cache_shape, generator=generator).to(device) for _ in range(2 * cfg.num_layers)]
    return (embeds, attention_mask, position_ids, *cache)


def export_llm(
    model: Qwen2LM, path: str | Path, external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES
) -> Path:
    cfg = model.cfg
    io = llm_io(cfg.num_layers, cfg.hidden_size, cfg.num_kv_heads, cfg.head_dim, cfg.speech_rows)
    return export_graph(LlmGraph(model), llm_example_inputs(model), path, io, external_data_threshold_bytes)

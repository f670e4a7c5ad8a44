"""ONNX export of the speech-token LM graphs ``embed_text``, ``embed_speech`` and ``llm`` (docs/model-package.md).

fp32, opset 17, batch 1, every dynamic axis named. Exporter: the TorchScript tracer (``torch.onnx.export(...,
dynamo=False)``): it honours ``opset_version=17`` and ``dynamic_axes`` names directly and its output is byte-stable
across re-exports. Tracer warnings are turned into errors, so a shape that would silently be baked into the graph as
a constant fails the export instead.

Files whose weights would come near the 2 GiB protobuf limit are written with external data in one
``<file name>.data`` next to the graph (the real fp32 ``llm`` graph is ≈ 1.46 GB and stays a single file; the
threshold is a parameter so the external-data path can be exercised with the tiny fixture model).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import onnx
import torch
from torch import Tensor, nn

from tools.reference.llm import KvPair, Qwen2LM

OPSET = 17
PROTOBUF_LIMIT_BYTES = 2**31
EXTERNAL_DATA_THRESHOLD_BYTES = PROTOBUF_LIMIT_BYTES - 64 * 2**20
"""Initializer bytes above which a graph is saved with external data (64 MiB head-room for the graph itself)."""

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


def llm_output_names(num_layers: int) -> list[str]:
    return ["logits", *(name for i in range(num_layers) for name in (present_key_name(i), present_value_name(i)))]


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

    def forward(self, inputs_embeds: Tensor, attention_mask: Tensor, position_ids: Tensor, *past_flat: Tensor):
        past: list[KvPair] = [(past_flat[i], past_flat[i + 1]) for i in range(0, len(past_flat), 2)]
        logits, _, presents = self.lm.forward_step(inputs_embeds, attention_mask, position_ids, past)
        # A constant-shape reshape lets ONNX shape inference state the contract's static [1, V + 3].
        logits = logits.reshape(1, self.lm.cfg.speech_rows)
        return (logits, *(tensor for pair in presents for tensor in pair))


def initializer_bytes(proto: onnx.ModelProto) -> int:
    """Bytes of the graph's initializers with their data loaded."""
    return sum(len(t.raw_data) for t in proto.graph.initializer) + sum(
        t.ByteSize() for t in proto.graph.initializer if not t.raw_data
    )


def save_graph(proto: onnx.ModelProto, path: Path, external_data_threshold_bytes: int) -> None:
    """One ``.onnx`` file, or ``.onnx`` + a single ``<file name>.data`` when the weights exceed the threshold."""
    data_path = path.with_name(path.name + ".data")
    data_path.unlink(missing_ok=True)  # a stale data file from an earlier large export would mislead loaders
    if initializer_bytes(proto) > external_data_threshold_bytes:
        onnx.save(proto, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data_path.name)
    else:
        onnx.save(proto, path)


def trace_to_onnx(
    module: nn.Module,
    args: tuple[Tensor, ...],
    path: str | Path,
    input_names: list[str],
    output_names: list[str],
    dynamic_axes: dict[str, dict[int, str]],
    external_data_threshold_bytes: int,
) -> Path:
    """Trace-export into a scratch directory, reload (inlining any tracer-written external data) and save."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("error", torch.jit.TracerWarning)
        # Deliberate choice (module docstring); the tracer is deprecated, not removed, in torch 2.13.
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx\._internal\.")
        scratch_file = Path(scratch) / "graph.onnx"
        torch.onnx.export(
            module,
            args,
            str(scratch_file),
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        proto = onnx.load(scratch_file, load_external_data=True)
    save_graph(proto, path, external_data_threshold_bytes)
    return path


def export_embed_text(
    model: Qwen2LM, path: str | Path, external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES
) -> Path:
    example_ids = torch.zeros(1, 3, dtype=torch.int64)
    return trace_to_onnx(
        EmbedTextGraph(model),
        (example_ids,),
        path,
        ["input_ids"],
        ["inputs_embeds"],
        {"input_ids": {1: SEQUENCE}, "inputs_embeds": {1: SEQUENCE}},
        external_data_threshold_bytes,
    )


def export_embed_speech(
    model: Qwen2LM, path: str | Path, external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES
) -> Path:
    example_ids = torch.zeros(1, 3, dtype=torch.int64)
    return trace_to_onnx(
        EmbedSpeechGraph(model),
        (example_ids,),
        path,
        ["speech_ids"],
        ["inputs_embeds"],
        {"speech_ids": {1: SEQUENCE}, "inputs_embeds": {1: SEQUENCE}},
        external_data_threshold_bytes,
    )


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


def llm_dynamic_axes(num_layers: int) -> dict[str, dict[int, str]]:
    axes: dict[str, dict[int, str]] = {
        "inputs_embeds": {1: SEQUENCE},
        "attention_mask": {1: TOTAL_SEQUENCE},
        "position_ids": {1: SEQUENCE},
    }
    for i in range(num_layers):
        axes.update({past_key_name(i): {2: PAST_SEQUENCE}, past_value_name(i): {2: PAST_SEQUENCE}})
        axes.update({present_key_name(i): {2: TOTAL_SEQUENCE}, present_value_name(i): {2: TOTAL_SEQUENCE}})
    return axes


def export_llm(
    model: Qwen2LM, path: str | Path, external_data_threshold_bytes: int = EXTERNAL_DATA_THRESHOLD_BYTES
) -> Path:
    layers = model.cfg.num_layers
    return trace_to_onnx(
        LlmGraph(model),
        llm_example_inputs(model),
        path,
        llm_input_names(layers),
        llm_output_names(layers),
        llm_dynamic_axes(layers),
        external_data_threshold_bytes,
    )

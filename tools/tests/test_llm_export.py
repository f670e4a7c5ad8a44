"""ONNX export of the LM graphs (docs/model-package.md): interface contract, onnxruntime parity, determinism.

Parity: onnxruntime (CPU, default graph optimisations) against the PyTorch reference within ``TOL_ORT_VS_TORCH``
(observed on the tiny upstream-vectors model: logits ≤ 3.3e-6, KV cache ≤ 1.7e-6), and against the upstream
``llm.npz`` log-probabilities within the README tolerance of 5e-5 (observed ≤ 4.8e-6).
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from tools.export import llm as export
from tools.reference import llm as lm
from tools.reference.config import LlmConfig, load_checkpoint_config
from tools.tests.upstream import UPSTREAM_VECTORS, cpu_session, max_abs

GRAPHS = {"embed_text": export.export_embed_text, "embed_speech": export.export_embed_speech, "llm": export.export_llm}

TOL_ORT_VS_TORCH = 1e-5
TOL_LOGP = 5e-5  # upstream README "LLM tolerances"

FLOAT = onnx.TensorProto.FLOAT
INT64 = onnx.TensorProto.INT64


@pytest.fixture(scope="module")
def cfg() -> LlmConfig:
    return load_checkpoint_config(UPSTREAM_VECTORS).llm


@pytest.fixture(scope="module")
def model(cfg: LlmConfig) -> lm.Qwen2LM:
    return lm.load_qwen2lm(UPSTREAM_VECTORS / "llm.pt", cfg)


@pytest.fixture(scope="module")
def vectors() -> dict[str, np.ndarray]:
    with np.load(UPSTREAM_VECTORS / "llm.npz") as npz:
        return {name: npz[name] for name in npz.files}


def export_all(model: lm.Qwen2LM, directory: Path) -> dict[str, Path]:
    return {name: exporter(model, directory / f"{name}.onnx") for name, exporter in GRAPHS.items()}


@pytest.fixture(scope="module")
def exported(model: lm.Qwen2LM, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return export_all(model, tmp_path_factory.mktemp("lm-graphs"))


@pytest.fixture(scope="module")
def llm_session(exported: dict[str, Path]) -> ort.InferenceSession:
    return cpu_session(exported["llm"])


def log_softmax(logits: np.ndarray) -> np.ndarray:
    return torch.log_softmax(torch.from_numpy(logits), dim=-1).numpy()


class OrtLm:
    """Drives the exported ``llm`` graph like :class:`lm.KvSession` drives the module (cache fed back each call)."""

    def __init__(self, session: ort.InferenceSession, cfg: LlmConfig) -> None:
        self.session = session
        self.cfg = cfg
        empty = np.zeros((1, cfg.num_kv_heads, 0, cfg.head_dim), dtype=np.float32)
        self.past = [empty] * (2 * cfg.num_layers)

    @property
    def length(self) -> int:
        return self.past[0].shape[2]

    def feed(self, embeds: np.ndarray, attention_mask: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        total = self.length + embeds.shape[1]
        feeds = {
            "inputs_embeds": embeds,
            "attention_mask": np.ones((1, total), dtype=np.int64) if attention_mask is None else attention_mask,
            "position_ids": np.arange(self.length, total, dtype=np.int64)[None],
        }
        feeds.update(zip(export.llm_input_names(self.cfg.num_layers)[3:], self.past, strict=True))
        logits, *presents = self.session.run(None, feeds)
        self.past = presents
        return logits, presents


def torch_step(
    model: lm.Qwen2LM, embeds: np.ndarray, past: list[lm.KvPair], attention_mask: np.ndarray | None = None
) -> tuple[np.ndarray, list[lm.KvPair]]:
    past_len = past[0][0].shape[2]
    total = past_len + embeds.shape[1]
    mask = torch.ones(1, total, dtype=torch.int64) if attention_mask is None else torch.from_numpy(attention_mask)
    with torch.no_grad():
        logits, _, presents = model.forward_step(
            torch.from_numpy(embeds), mask, torch.arange(past_len, total).unsqueeze(0), past
        )
    return logits.numpy(), presents


def flat(presents: list[lm.KvPair]) -> list[np.ndarray]:
    return [tensor.numpy() for pair in presents for tensor in pair]


# --- interface contract -----------------------------------------------------------------------------------------------


def value_signature(value: onnx.ValueInfoProto) -> tuple[str, int, list[int | str]]:
    tensor_type = value.type.tensor_type
    return value.name, tensor_type.elem_type, [d.dim_param or d.dim_value for d in tensor_type.shape.dim]


def test_llm_graph_interface_matches_the_contract(exported: dict[str, Path], cfg: LlmConfig) -> None:
    graph = onnx.load(exported["llm"]).graph
    cache_in: list[int | str] = [1, cfg.num_kv_heads, "past_sequence", cfg.head_dim]
    cache_out: list[int | str] = [1, cfg.num_kv_heads, "total_sequence", cfg.head_dim]
    expected_inputs: list[tuple[str, int, list[int | str]]] = [
        ("inputs_embeds", FLOAT, [1, "sequence", cfg.hidden_size]),
        ("attention_mask", INT64, [1, "total_sequence"]),
        ("position_ids", INT64, [1, "sequence"]),
    ]
    expected_outputs: list[tuple[str, int, list[int | str]]] = [("logits", FLOAT, [1, cfg.speech_rows])]
    for i in range(cfg.num_layers):
        expected_inputs += [
            (f"past_key_values.{i}.key", FLOAT, cache_in),
            (f"past_key_values.{i}.value", FLOAT, cache_in),
        ]
        expected_outputs += [(f"present.{i}.key", FLOAT, cache_out), (f"present.{i}.value", FLOAT, cache_out)]
    assert [value_signature(v) for v in graph.input] == expected_inputs
    assert [value_signature(v) for v in graph.output] == expected_outputs


@pytest.mark.parametrize(("graph_name", "input_name"), [("embed_text", "input_ids"), ("embed_speech", "speech_ids")])
def test_embedding_graph_interfaces_match_the_contract(
    exported: dict[str, Path], cfg: LlmConfig, graph_name: str, input_name: str
) -> None:
    graph = onnx.load(exported[graph_name]).graph
    assert [value_signature(v) for v in graph.input] == [(input_name, INT64, [1, "sequence"])]
    assert [value_signature(v) for v in graph.output] == [("inputs_embeds", FLOAT, [1, "sequence", cfg.hidden_size])]


@pytest.mark.parametrize("graph_name", list(GRAPHS))
def test_graphs_are_valid_opset_17_single_files(exported: dict[str, Path], graph_name: str) -> None:
    path = exported[graph_name]
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]
    assert not path.with_name(path.name + ".data").exists()
    for tensor in proto.graph.initializer:
        assert tensor.data_type == FLOAT
        assert tensor.data_location == onnx.TensorProto.DEFAULT


# --- numerics ---------------------------------------------------------------------------------------------------------


def test_embedding_graphs_are_exact_lookups(exported: dict[str, Path], model: lm.Qwen2LM, cfg: LlmConfig) -> None:
    text_ids = np.arange(cfg.text_vocab_size, dtype=np.int64)[None]
    (text,) = cpu_session(exported["embed_text"]).run(None, {"input_ids": text_ids})
    np.testing.assert_array_equal(text[0], model.backbone.embed_tokens.weight.detach().numpy())

    speech_ids = np.arange(cfg.speech_rows + 2, dtype=np.int64)[None]
    (speech,) = cpu_session(exported["embed_speech"]).run(None, {"speech_ids": speech_ids})
    np.testing.assert_array_equal(speech[0, : cfg.speech_rows], model.speech_embedding.weight.detach().numpy())
    np.testing.assert_array_equal(speech[0, cfg.speech_rows :], model.llm_embedding.weight.detach().numpy())


def test_embed_speech_builds_the_upstream_unistream_input(
    exported: dict[str, Path], cfg: LlmConfig, vectors: dict[str, np.ndarray]
) -> None:
    """zero_shot.lm_input = [SOS, text…, TASK_ID, prompt speech…]: SOS/TASK_ID are ids V+3 / V+4 of embed_speech."""
    lm_input = vectors["zero_shot.lm_input"][0]
    prompt_speech = vectors["zero_shot.prompt_speech_token"][0]
    speech_ids = np.array([[cfg.speech_rows, cfg.speech_rows + 1, *prompt_speech]], dtype=np.int64)
    (rows,) = cpu_session(exported["embed_speech"]).run(None, {"speech_ids": speech_ids})
    task_index = lm_input.shape[0] - len(prompt_speech) - 1
    np.testing.assert_array_equal(rows[0, 0], lm_input[0])
    np.testing.assert_array_equal(rows[0, 1], lm_input[task_index])
    np.testing.assert_array_equal(rows[0, 2:], lm_input[task_index + 1 :])


def test_prefill_and_cached_decode_match_torch_and_upstream(
    llm_session: ort.InferenceSession, model: lm.Qwen2LM, cfg: LlmConfig, vectors: dict[str, np.ndarray]
) -> None:
    """zero_shot teacher forcing: prefill at P = 0, then one row per step with the cache fed back."""
    forced = vectors["zero_shot.forced"]
    onnx_lm = OrtLm(llm_session, cfg)
    torch_past = model.empty_past()
    embeds = vectors["zero_shot.lm_input"]
    for step in range(len(forced)):
        logits, presents = onnx_lm.feed(embeds)
        torch_logits, torch_past = torch_step(model, embeds, torch_past)
        assert max_abs(logits, torch_logits) <= TOL_ORT_VS_TORCH
        for onnx_cache, torch_cache in zip(presents, flat(torch_past), strict=True):
            assert max_abs(onnx_cache, torch_cache) <= TOL_ORT_VS_TORCH
        assert max_abs(log_softmax(logits[0]), vectors["zero_shot.logp"][step]) <= TOL_LOGP
        embeds = model.speech_embedding.weight[int(forced[step])].detach().numpy()[None, None]


def test_bistream_calls_with_varying_rows_and_past(
    llm_session: ort.InferenceSession, cfg: LlmConfig, vectors: dict[str, np.ndarray]
) -> None:
    """The upstream bistream call log: S ∈ {31, 1, 5, 6} rows at P ∈ [0, 69] — exercises both dynamic axes."""
    offsets = vectors["bistream.call_offset"]
    rows = vectors["bistream.call_input"]
    onnx_lm = OrtLm(llm_session, cfg)
    logp = []
    for start, end in itertools.pairwise(offsets):
        logits, _ = onnx_lm.feed(rows[None, start:end])
        logp.append(log_softmax(logits[0]))
    assert max_abs(np.stack(logp), vectors["bistream.call_logp"]) <= TOL_LOGP


def test_padding_mask_matches_torch(
    llm_session: ort.InferenceSession, model: lm.Qwen2LM, cfg: LlmConfig, vectors: dict[str, np.ndarray]
) -> None:
    """attention_mask zeros are honoured inside the graph exactly like in the module (prefill and one decode)."""
    embeds = vectors["cross_lingual.lm_input"]
    mask = np.ones((1, embeds.shape[1]), dtype=np.int64)
    mask[0, 2] = 0
    onnx_lm = OrtLm(llm_session, cfg)
    logits, _ = onnx_lm.feed(embeds, mask)
    torch_logits, torch_past = torch_step(model, embeds, model.empty_past(), mask)
    assert max_abs(logits, torch_logits) <= TOL_ORT_VS_TORCH

    decode_row = embeds[:, -1:]
    decode_mask = np.concatenate([mask, np.ones((1, 1), dtype=np.int64)], axis=1)
    logits, _ = onnx_lm.feed(decode_row, decode_mask)
    torch_logits, _ = torch_step(model, decode_row, torch_past, decode_mask)
    assert max_abs(logits, torch_logits) <= TOL_ORT_VS_TORCH


# --- files ------------------------------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reexport_is_byte_identical(exported: dict[str, Path], model: lm.Qwen2LM, tmp_path: Path) -> None:
    again = export_all(model, tmp_path)
    first = {name: sha256(path) for name, path in exported.items()}
    assert {name: sha256(path) for name, path in again.items()} == first


def test_large_graphs_use_one_external_data_file(
    llm_session: ort.InferenceSession, model: lm.Qwen2LM, cfg: LlmConfig, vectors: dict[str, np.ndarray], tmp_path: Path
) -> None:
    """Threshold 0 forces the > 2 GiB path on the tiny model: ``llm.onnx`` + ``llm.onnx.data``, same numerics."""
    path = export.export_llm(model, tmp_path / "llm.onnx", external_data_threshold_bytes=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llm.onnx", "llm.onnx.data"]
    proto = onnx.load(path, load_external_data=False)
    external = [t for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert external
    assert {entry.value for t in external for entry in t.external_data if entry.key == "location"} == {"llm.onnx.data"}

    embeds = vectors["zero_shot.lm_input"]
    external_logits, _ = OrtLm(cpu_session(path), cfg).feed(embeds)
    single_file_logits, _ = OrtLm(llm_session, cfg).feed(embeds)
    np.testing.assert_array_equal(external_logits, single_file_logits)

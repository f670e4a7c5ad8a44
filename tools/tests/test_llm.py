"""The PyTorch Qwen2LM reference against the upstream test vectors (shared/data/upstream-vectors, README "LLM").

Tolerances are the README's ("LLM tolerances"): logp / scores_in / call_logp 5e-5, hidden states 2e-5,
probabilities 1e-5, table lookups and every integer array exact.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pytest
import torch

from tools.reference import llm as lm
from tools.reference.checkpoint import CheckpointMismatchError
from tools.reference.config import LlmConfig, load_checkpoint_config
from tools.tests.upstream import UPSTREAM_VECTORS, max_abs

UNISTREAM_MODES = ("zero_shot", "cross_lingual", "instruct2")

TOL_LOGP = 5e-5
TOL_HIDDEN = 2e-5
TOL_PROB = 1e-5


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


def mode_arrays(vectors: dict[str, np.ndarray], mode: str) -> Callable[[str], np.ndarray]:
    return lambda name: vectors[f"{mode}.{name}"]


def ids(array: np.ndarray) -> list[int]:
    """``[1, n]`` id array → list."""
    return [int(i) for i in array.reshape(-1)]


def assert_close_with_infs(actual: np.ndarray, expected: np.ndarray, tol: float) -> None:
    """−inf entries must coincide exactly; finite entries within ``tol``."""
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    finite = np.isfinite(expected)
    assert max_abs(actual[finite], expected[finite]) <= tol


def unistream_prompt(get: Callable[[str], np.ndarray]) -> lm.UnistreamPrompt:
    return lm.UnistreamPrompt(ids(get("text")), ids(get("prompt_text")), ids(get("prompt_speech_token")))


def teacher_forced_steps(model: lm.Qwen2LM, get: Callable[[str], np.ndarray]) -> tuple[list[int], list[lm.DecodeStep]]:
    """Run the unistream loop with the recorded ``forced`` tokens; stop after them like the recording's consumer."""
    steps: list[lm.DecodeStep] = []
    forced = ids(get("forced"))
    decoder = lm.decode_unistream(model, unistream_prompt(get), lm.replay_sampler(forced), steps.append)
    emitted = list(itertools.islice(decoder, len(forced)))
    return emitted, steps


def scripted_uniform(draws: Sequence[float]) -> lm.UniformSource:
    remaining: Iterator[float] = iter(draws)
    return lambda: next(remaining)


def uniform_selecting(weights: np.ndarray, index: int) -> float:
    """A uniform draw that :func:`lm.draw_index` maps to ``index`` (the middle of its CDF interval)."""
    cdf = np.cumsum(weights.astype(np.float64))
    low = cdf[index - 1] if index > 0 else 0.0
    return float((low + cdf[index]) / 2 / cdf[-1])


# --- checkpoint ------------------------------------------------------------------------------------------------------


def test_upstream_checkpoint_loads_strictly_with_the_official_key_order(model: lm.Qwen2LM) -> None:
    state = torch.load(UPSTREAM_VECTORS / "llm.pt", map_location="cpu", weights_only=True)
    assert list(model.state_dict()) == list(state)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state[name]), name
    assert model.llm.model.lm_head.weight is model.backbone.embed_tokens.weight


def test_official_layout_is_the_fixture_layout_with_24_layers() -> None:
    """The official module tree has the fixture's key patterns (config.json: same patterns in the same order)."""
    state = torch.load(UPSTREAM_VECTORS / "llm.pt", map_location="cpu", weights_only=True)
    with torch.device("meta"):
        official = lm.Qwen2LM(LlmConfig())

    def pattern(key: str) -> str:
        return re.sub(r"\.layers\.\d+\.", ".layers.{i}.", key)

    fixture_patterns = list(dict.fromkeys(pattern(k) for k in state))
    official_keys = list(official.state_dict())
    assert list(dict.fromkeys(pattern(k) for k in official_keys)) == fixture_patterns
    per_layer = sum(1 for p in fixture_patterns if ".layers.{i}." in p)
    assert len(official_keys) == len(fixture_patterns) + (LlmConfig().num_layers - 1) * per_layer


def test_mismatched_checkpoint_names_every_bad_key(cfg: LlmConfig) -> None:
    state = dict(torch.load(UPSTREAM_VECTORS / "llm.pt", map_location="cpu", weights_only=True))
    dropped = "llm.model.model.layers.1.mlp.up_proj.weight"
    renamed = "llm.model.model.layers.0.self_attn.o_proj.weight"
    reshaped = "llm_decoder.bias"
    del state[dropped]
    state["llm.model.model.layers.0.self_attn.out_proj.weight"] = state.pop(renamed)
    state[reshaped] = state[reshaped][:-1]
    with pytest.raises(CheckpointMismatchError) as error:
        lm.load_qwen2lm(state, cfg)
    message = str(error.value)
    for key in (dropped, renamed, "llm.model.model.layers.0.self_attn.out_proj.weight", reshaped):
        assert key in message


def test_untied_text_head_is_rejected(cfg: LlmConfig) -> None:
    state = dict(torch.load(UPSTREAM_VECTORS / "llm.pt", map_location="cpu", weights_only=True))
    state["llm.model.lm_head.weight"] = state["llm.model.lm_head.weight"] + 1.0
    with pytest.raises(CheckpointMismatchError, match="lm_head"):
        lm.load_qwen2lm(state, cfg)


def test_parameter_counts(cfg: LlmConfig) -> None:
    assert lm.count_parameters(LlmConfig()) == 505_803_812  # spec §0 / §4.1 / state-dicts §1
    assert lm.count_parameters(cfg) == json.loads((UPSTREAM_VECTORS / "config.json").read_text())["llm"]["n_params"]


# --- unistream modes: inputs and forward pass -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", UNISTREAM_MODES)
def test_lm_input_is_bit_exact(model: lm.Qwen2LM, vectors: dict[str, np.ndarray], mode: str) -> None:
    get = mode_arrays(vectors, mode)
    with torch.no_grad():
        lm_input = lm.embed_rows(model, lm.unistream_rows(unistream_prompt(get))).numpy()
    np.testing.assert_array_equal(lm_input, get("lm_input"))


@pytest.mark.parametrize("mode", UNISTREAM_MODES)
def test_length_bounds_use_target_text_only(cfg: LlmConfig, vectors: dict[str, np.ndarray], mode: str) -> None:
    get = mode_arrays(vectors, mode)
    assert lm.length_bounds(len(ids(get("text"))), cfg) == (int(get("min_len")), int(get("max_len")))


@pytest.mark.parametrize("mode", UNISTREAM_MODES)
def test_prefill_hidden_states(model: lm.Qwen2LM, vectors: dict[str, np.ndarray], mode: str) -> None:
    get = mode_arrays(vectors, mode)
    lm_input = torch.from_numpy(get("lm_input"))
    length = lm_input.shape[1]
    with torch.no_grad():
        hidden, _ = model.forward_hidden(
            lm_input,
            torch.ones(1, length, dtype=torch.int64),
            torch.arange(length).unsqueeze(0),
            model.empty_past(),
        )
    assert max_abs(hidden.numpy(), get("dbg.prefill_h")) <= TOL_HIDDEN


@pytest.mark.parametrize("mode", UNISTREAM_MODES)
def test_teacher_forced_decode_with_kv_cache(model: lm.Qwen2LM, vectors: dict[str, np.ndarray], mode: str) -> None:
    get = mode_arrays(vectors, mode)
    emitted, steps = teacher_forced_steps(model, get)
    np.testing.assert_array_equal(emitted, get("emitted"))
    np.testing.assert_array_equal([s.ignore_eos for s in steps], get("ignore_eos").astype(bool))
    # Positions: prefill 0…L−1, then one row per step (the KV-cache length before each call).
    length = get("lm_input").shape[1]
    assert [s.past_len for s in steps] == [0] + [length + i for i in range(len(steps) - 1)]
    assert max_abs(np.stack([s.logp.numpy() for s in steps]), get("logp")) <= TOL_LOGP
    assert max_abs(np.stack([s.hidden_last.numpy() for s in steps]), get("h_last")) <= TOL_HIDDEN


@pytest.mark.parametrize("mode", UNISTREAM_MODES)
def test_eos_masking_gives_the_sampler_input(
    model: lm.Qwen2LM, cfg: LlmConfig, vectors: dict[str, np.ndarray], mode: str
) -> None:
    get = mode_arrays(vectors, mode)
    _, steps = teacher_forced_steps(model, get)
    scores = np.stack([lm.mask_eos(s.logp, cfg.eos_id, s.ignore_eos).numpy() for s in steps])
    assert_close_with_infs(scores, get("scores_in"), TOL_LOGP)
    # Only EOS is ever masked (§4.4 step 1).
    assert not np.isneginf(np.delete(scores, cfg.eos_id, axis=1)).any()


# --- sampling filter and RAS ------------------------------------------------------------------------------------------


def padded_nucleus(nucleus: lm.NucleusSet, width: int) -> tuple[np.ndarray, np.ndarray]:
    count = len(nucleus.ids)
    ids_padded = np.full(width, -1, dtype=np.int64)
    probs_padded = np.zeros(width, dtype=np.float32)
    ids_padded[:count] = nucleus.ids.numpy()
    probs_padded[:count] = nucleus.probs.numpy()
    return ids_padded, probs_padded


@pytest.mark.parametrize("mode", UNISTREAM_MODES)
def test_nucleus_filter_on_recorded_scores(cfg: LlmConfig, vectors: dict[str, np.ndarray], mode: str) -> None:
    get = mode_arrays(vectors, mode)
    width = get("nucleus_ids").shape[1]
    for step, scores in enumerate(get("scores_in")):
        nucleus = lm.nucleus_filter(torch.from_numpy(scores), cfg.top_p, cfg.top_k)
        nucleus_ids, nucleus_probs = padded_nucleus(nucleus, width)
        np.testing.assert_array_equal(nucleus_ids, get("nucleus_ids")[step])
        assert len(nucleus.ids) == get("nucleus_count")[step]
        assert max_abs(nucleus_probs, get("nucleus_probs")[step]) <= TOL_PROB
        assert abs(nucleus.cum - float(get("nucleus_cum")[step])) <= TOL_PROB


@pytest.mark.parametrize("mode", UNISTREAM_MODES)
def test_nucleus_sets_from_own_logits(
    model: lm.Qwen2LM, cfg: LlmConfig, vectors: dict[str, np.ndarray], mode: str
) -> None:
    """End to end: the README margins make the sets exact for any implementation within the logp tolerance."""
    get = mode_arrays(vectors, mode)
    _, steps = teacher_forced_steps(model, get)
    for step, record in enumerate(steps):
        nucleus = lm.nucleus_filter(lm.mask_eos(record.logp, cfg.eos_id, record.ignore_eos), cfg.top_p, cfg.top_k)
        np.testing.assert_array_equal(padded_nucleus(nucleus, get("nucleus_ids").shape[1])[0], get("nucleus_ids")[step])


@pytest.mark.parametrize("mode", UNISTREAM_MODES)
def test_repetition_check_and_fallback_distribution(cfg: LlmConfig, vectors: dict[str, np.ndarray], mode: str) -> None:
    get = mode_arrays(vectors, mode)
    forced = ids(get("forced"))
    rep_num = [lm.repetition_count(token, forced[:step], cfg.win_size) for step, token in enumerate(forced)]
    rep_fire = [lm.repetition_fires(n, cfg) for n in rep_num]
    np.testing.assert_array_equal(rep_num, get("rep_num"))
    np.testing.assert_array_equal(rep_fire, get("rep_fire").astype(bool))
    fallback_steps = [step for step, fires in enumerate(rep_fire) if fires]
    np.testing.assert_array_equal(fallback_steps, get("ras_fallback_step"))
    scores = get("scores_in")
    fallback = np.stack(
        [lm.ras_fallback_probs(torch.from_numpy(scores[s]), forced[s], "current").numpy() for s in fallback_steps]
    )
    assert max_abs(fallback, get("ras_fallback_probs")) <= TOL_PROB


def test_draw_index_inverts_the_cdf_of_unnormalised_weights(vectors: dict[str, np.ndarray]) -> None:
    count = int(vectors["zero_shot.nucleus_count"][0])
    weights = vectors["zero_shot.nucleus_probs"][0][:count]
    for index in range(count):
        assert lm.draw_index(torch.from_numpy(weights), scripted_uniform([uniform_selecting(weights, index)])) == index
    with pytest.raises(ValueError):
        lm.draw_index(torch.from_numpy(weights), scripted_uniform([1.0]))


def test_ras_decisions_with_scripted_uniforms(cfg: LlmConfig, vectors: dict[str, np.ndarray]) -> None:
    """Nucleus draw without repetition; on repetition ``current`` excludes the id and ``dec2024`` may redraw it."""
    step = int(vectors["zero_shot.ras_fallback_step"][0])
    scores = torch.from_numpy(vectors["zero_shot.scores_in"][step])
    count = int(vectors["zero_shot.nucleus_count"][step])
    nucleus_ids = vectors["zero_shot.nucleus_ids"][step][:count]
    first_pick = uniform_selecting(vectors["zero_shot.nucleus_probs"][step][:count], 0)
    top = int(nucleus_ids[0])

    no_repeat = lm.ras_sample(scores, [], cfg, scripted_uniform([first_pick]), "current")
    assert no_repeat == top

    current_probs = lm.ras_fallback_probs(scores, top, "current").numpy()
    assert current_probs[top] == 0.0
    for variant in ("current", "dec2024"):
        probs = lm.ras_fallback_probs(scores, top, variant).numpy()
        redraw = uniform_selecting(probs, top if variant == "dec2024" else int(np.argmax(current_probs)))
        token = lm.ras_sample(scores, [top], cfg, scripted_uniform([first_pick, redraw]), variant)
        assert token == (top if variant == "dec2024" else int(np.argmax(current_probs)))
    full_distribution = torch.softmax(scores, 0).numpy()
    np.testing.assert_array_equal(lm.ras_fallback_probs(scores, top, "dec2024").numpy(), full_distribution)


def test_production_sampler_masks_eos_only_when_asked(cfg: LlmConfig, vectors: dict[str, np.ndarray]) -> None:
    """At a recorded step where EOS is allowed and in the nucleus, a draw landing on EOS returns EOS; with EOS masked
    the same draw returns another id (the step is found in the stored arrays, not named)."""
    found = [
        (mode, step)
        for mode in UNISTREAM_MODES
        for step, ignore in enumerate(vectors[f"{mode}.ignore_eos"])
        if not ignore and cfg.eos_id in vectors[f"{mode}.nucleus_ids"][step]
    ]
    assert found, "the set has no step where EOS is allowed and kept by the nucleus filter"
    mode, step = found[0]
    count = int(vectors[f"{mode}.nucleus_count"][step])
    index = ids(vectors[f"{mode}.nucleus_ids"][step][:count]).index(cfg.eos_id)
    pick = uniform_selecting(vectors[f"{mode}.nucleus_probs"][step][:count], index)
    logp = torch.from_numpy(vectors[f"{mode}.logp"][step])
    allowed = lm.make_ras_sampler(cfg, scripted_uniform([pick, 0.5]))(logp, [], False)
    masked = lm.make_ras_sampler(cfg, scripted_uniform([pick, 0.5]))(logp, [], True)
    assert allowed == cfg.eos_id
    assert masked != cfg.eos_id


# --- decode loops -----------------------------------------------------------------------------------------------------


def test_unistream_stops_on_any_special_id_and_at_max_len(model: lm.Qwen2LM, cfg: LlmConfig) -> None:
    prompt = lm.cross_lingual_prompt([1])
    _, max_len = lm.length_bounds(1, cfg)
    assert list(lm.decode_unistream(model, prompt, lm.replay_sampler(itertools.repeat(7)))) == [7] * max_len
    for stop in (cfg.eos_id, cfg.eos_id + 1, cfg.fill_id):
        assert list(lm.decode_unistream(model, prompt, lm.replay_sampler([3, 4, stop, 5]))) == [3, 4]


def test_bistream_replays_the_upstream_call_log(model: lm.Qwen2LM, vectors: dict[str, np.ndarray]) -> None:
    get = mode_arrays(vectors, "bistream")
    steps: list[lm.DecodeStep] = []
    emitted = list(
        lm.decode_bistream(
            model,
            lm.split_pieces(ids(get("text")), get("text_piece_len")),
            ids(get("prompt_text")),
            ids(get("prompt_speech_token")),
            lm.replay_sampler(get("sampler_returns")),
            steps.append,
        )
    )
    rows = [row for step in steps for row in step.rows]
    np.testing.assert_array_equal(emitted, get("emitted"))
    np.testing.assert_array_equal([s.token for s in steps], get("out_tokens"))
    np.testing.assert_array_equal(np.cumsum([0] + [len(s.rows) for s in steps]), get("call_offset"))
    np.testing.assert_array_equal([s.past_len for s in steps], get("call_past_len"))
    np.testing.assert_array_equal([int(r.kind) for r in rows], get("call_row_kind"))
    np.testing.assert_array_equal([r.id for r in rows], get("call_row_id"))
    np.testing.assert_array_equal([s.sampled for s in steps], get("call_sampled").astype(bool))
    np.testing.assert_array_equal([s.ignore_eos for s in steps], get("call_ignore_eos").astype(bool))
    with torch.no_grad():
        np.testing.assert_array_equal(lm.embed_rows(model, rows)[0].numpy(), get("call_input"))
    assert max_abs(np.stack([s.logp.numpy() for s in steps]), get("call_logp")) <= TOL_LOGP
    assert max_abs(np.stack([s.hidden_last.numpy() for s in steps]), get("call_h_last")) <= TOL_HIDDEN


def test_bistream_waits_for_text_after_fill_and_refeeds_in_the_final_call(model: lm.Qwen2LM, cfg: LlmConfig) -> None:
    """The branch the vectors do not exercise: FILL with < N text rows cached → wait; then the final call re-feeds."""
    n_text, n_speech = cfg.mix_ratio
    steps: list[lm.DecodeStep] = []
    pieces = [list(range(n_text)), [100]]  # no prompt: SOS + N text, then FILL after M tokens; then 1 text id only
    sampler = lm.replay_sampler([*range(n_speech), 9, cfg.eos_id])
    tokens = lm.decode_bistream(model, pieces, [], [], sampler, steps.append)
    assert list(tokens) == [*range(n_speech), 9]
    assert [s.token for s in steps] == [*range(n_speech), cfg.fill_id, 9, cfg.eos_id]
    fill_call, final_call = steps[n_speech], steps[n_speech + 1]
    assert final_call.rows == (*fill_call.rows, lm.InputRow(lm.RowKind.TEXT, 100), lm.TASK_ID_ROW)
    assert final_call.past_len == fill_call.past_len + len(fill_call.rows)


@pytest.mark.parametrize("phase", ["streaming", "final"])
def test_bistream_rejects_unexpected_special_ids(model: lm.Qwen2LM, cfg: LlmConfig, phase: str) -> None:
    """Streaming phase: only FILL may end a burst; final phase: only EOS may end decoding (§4.6)."""
    n_text = cfg.mix_ratio[0]
    returns = [cfg.eos_id + 1] if phase == "streaming" else [cfg.fill_id]
    pieces = [list(range(n_text))] if phase == "streaming" else [[1]]  # [[1]] never starts streaming (< N text)
    with pytest.raises(lm.BistreamError):
        list(lm.decode_bistream(model, pieces, [], [], lm.replay_sampler(returns)))


# --- step function semantics ------------------------------------------------------------------------------------------


def test_padding_mask_hides_keys(model: lm.Qwen2LM, vectors: dict[str, np.ndarray]) -> None:
    """A junk row at cache index 0 with attention_mask 0 changes nothing (positions are explicit)."""
    lm_input = torch.from_numpy(vectors["cross_lingual.lm_input"])
    length = lm_input.shape[1]
    positions = torch.arange(length).unsqueeze(0)
    with torch.no_grad():
        all_valid = torch.ones(1, length, dtype=torch.int64)
        clean, _, _ = model.forward_step(lm_input, all_valid, positions, model.empty_past())
        junk = torch.full((1, 1, lm_input.shape[2]), 3.0)
        mask = torch.ones(1, length + 1, dtype=torch.int64)
        mask[0, 0] = 0
        padded_positions = torch.cat([torch.zeros(1, 1, dtype=torch.int64), positions], dim=1)
        padded_input = torch.cat([junk, lm_input], dim=1)
        padded, _, _ = model.forward_step(padded_input, mask, padded_positions, model.empty_past())
    assert max_abs(padded.numpy(), clean.numpy()) <= 1e-5

"""Forward hooks that capture the intermediates the upstream test vectors store, under the vectors' names.

Shared by the reference tests (which compare them with ``shared/data/upstream-vectors``) and by
``tools.fixtures.vectors_like`` (which writes a second set in the same layout). Every layer of every stack is probed:
all conformer layers of both encoder stacks, and every transformer of every estimator block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from tools.reference.flow import Flow
from tools.reference.flow.estimator import ResamplingStage, Stage
from tools.reference.hift import HiFT


@contextmanager
def probes(modules: dict[str, nn.Module], capture: Callable[[str, nn.Module], Callable[..., None]]) -> Iterator[None]:
    """Register ``capture(name, module)`` as forward hook on every module for the duration of the block."""
    handles = [module.register_forward_hook(capture(name, module)) for name, module in modules.items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def probed_encode(
    flow: Flow, tokens: Tensor, context: Tensor, streaming: Tensor, embedding: Tensor
) -> dict[str, Tensor]:
    """``flow.encode`` with every intermediate ``flow_encoder.npz`` stores, named as there (without the mode prefix)."""
    length = tokens.shape[1]
    enc = flow.encoder
    seen: dict[str, Tensor] = {}

    def capture(name: str, module: nn.Module) -> Callable[..., None]:
        def hook(_: nn.Module, args: tuple[Any, ...], output: Tensor) -> None:
            seen[name] = output
            if name == "encoders_0":  # the first layer of each stack receives its mask and position table
                seen["chunk_mask"], seen["pos_emb"] = args[1], args[2]
            if name == "up_encoders_0":
                seen["up_chunk_mask"], seen["up_pos_emb"] = args[1], args[2]
            if name == "spk_affine":
                seen["embedding_normalized"] = args[0]

        return hook

    modules: dict[str, nn.Module] = {
        "token_embedding": flow.input_embedding,
        "embed": enc.embed,
        "pre_lookahead": enc.pre_lookahead_layer,
        "up_layer": enc.up_layer,
        "up_embed": enc.up_embed,
        "encoder": enc,
        "spk_affine": flow.spk_embed_affine_layer,
    }
    modules.update({f"encoders_{i}": layer for i, layer in enumerate(enc.encoders)})
    modules.update({f"up_encoders_{i}": layer for i, layer in enumerate(enc.up_encoders)})
    with torch.no_grad(), probes(modules, capture):
        mu, spks = flow.encode(tokens, context, streaming, embedding)

    return {
        "enc_in": seen["token_embedding"][:, :length],
        "context": seen["token_embedding"][:, length:],
        "h": seen["encoder"],
        "mu": mu,
        "spks": spks,
        "embedding_normalized": seen["embedding_normalized"],
        "embed_pos_emb": seen["pos_emb"],
        "up_embed_pos_emb": seen["up_pos_emb"],
        "dbg.embed_xs": seen["embed"][:, :length],
        "dbg.context_embed_xs": seen["embed"][:, length:],
        "dbg.pre_lookahead_out": seen["pre_lookahead"],
        "dbg.chunk_mask": seen["chunk_mask"],
        "dbg.up_layer_out": seen["up_layer"],
        "dbg.up_embed_xs": seen["up_embed"],
        "dbg.up_chunk_mask": seen["up_chunk_mask"],
        **{f"dbg.encoders_{i}_out": seen[f"encoders_{i}"] for i in range(len(enc.encoders))},
        **{f"dbg.up_encoders_{i}_out": seen[f"up_encoders_{i}"] for i in range(len(enc.up_encoders))},
    }


def estimator_probe_modules(flow: Flow) -> dict[str, nn.Module]:
    """The estimator sub-modules whose outputs ``estimator.npz`` stores as ``dbg.<name>``: time MLP, each block's
    resnet, every one of its transformers, its down/up-sampling conv, and the final block."""
    est = flow.decoder.estimator
    modules: dict[str, nn.Module] = {"time_mlp_out": est.time_mlp}
    stacks: tuple[tuple[str, Sequence[Stage]], ...] = (
        ("down", [est.down_stage()]),
        ("mid", est.mid_stages()),
        ("up", [est.up_stage()]),
    )
    for kind, stages in stacks:
        for i, stage in enumerate(stages):
            modules[f"{kind}_{i}_resnet_out"] = stage.resnet
            for j, transformer in enumerate(stage.transformers):
                modules[f"{kind}_{i}_transformer_{j}_out"] = transformer
            if isinstance(stage, ResamplingStage):
                modules[f"{kind}_{i}_conv_out"] = stage.resample
    modules["final_block_out"] = est.final_block
    return modules


def probed_estimate(flow: Flow, *args: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """``flow.estimate(*args)`` and every ``dbg.*`` intermediate of :func:`estimator_probe_modules`, plus
    ``attn_allowed`` (the visibility the first transformer sees: its additive bias is 0 where attending is allowed)."""
    modules = estimator_probe_modules(flow)
    first_transformer = next(name for name in modules if "_transformer_" in name)
    seen: dict[str, Tensor] = {}

    def capture(name: str, _: nn.Module) -> Callable[..., None]:
        def hook(__: nn.Module, args: tuple[Any, ...], output: Tensor) -> None:
            seen[name] = output
            if name == first_transformer:
                seen["attn_allowed"] = args[1] == 0  # additive bias: 0 = may attend, −1e10 = hidden

        return hook

    with torch.no_grad(), probes(modules, capture):
        out = flow.estimate(*args)
    return out, seen


@contextmanager
def recorded_decoder_activations(hift: HiFT) -> Iterator[dict[str, np.ndarray]]:
    """Within the block, forward hooks capture the upstream ``hift.npz`` ``dbg.*`` arrays under their names; removed
    on leaving it (also on an exception), so a failed probe leaves no hook on the model."""
    recorded: dict[str, np.ndarray] = {}

    def keep(name: str) -> Callable[[nn.Module, Any, Tensor], None]:
        return lambda _module, _inputs, output: recorded.__setitem__(name, output.numpy().copy())

    handles = [hift.conv_pre.register_forward_hook(keep("dbg.conv_pre_out"))]
    for i in range(hift.num_stages):
        handles.append(hift.ups[i].register_forward_hook(keep(f"dbg.ups_{i}_out")))
        handles.append(hift.source_resblocks[i].register_forward_hook(keep(f"dbg.source_resblocks_{i}_out")))
    handles.append(
        hift.conv_post.register_forward_pre_hook(
            lambda _module, inputs: recorded.__setitem__("dbg.conv_post_in", inputs[0].numpy().copy())
        )
    )
    try:
        yield recorded
    finally:
        for handle in handles:
            handle.remove()

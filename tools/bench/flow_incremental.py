"""Per-chunk cost of one streaming CFG Euler step: today's re-solve of the whole prefix vs the incremental estimator.

    .venv/bin/python -m tools.bench.flow_incremental [--threads N] [--prompt-tokens P] [--chunks K]

Full-size estimator (spec §5.5) with random weights, torch CPU: the figures are ratios for this machine, not browser
timings (the TypeScript runner and ``tools/bench/ttfa.ts`` are not wired to the incremental graph yet). One Euler step
per chunk is timed; a solve costs ``n_timesteps`` times that. Also prints the size of the kept cache per step and for a
whole solve, because keys/values of every transformer block and both CFG rows are kept for every Euler step.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from tools.reference.config import FlowConfig
from tools.reference.flow import Flow, IncrementalEstimator, euler_steps

BYTES_PER_FLOAT = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--prompt-tokens", type=int, default=87, help="flow prompt tokens (87 ≈ a 3.5 s prompt)")
    parser.add_argument("--chunks", type=int, default=4, help="non-final calls of upstream's schedule to time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    cfg = FlowConfig()
    flow = Flow(cfg).eval()
    incremental = IncrementalEstimator(flow.decoder.estimator).eval()
    chunk_tokens, ratio = cfg.encoder.static_chunk_size, cfg.token_mel_ratio
    chunk_frames = cfg.estimator.static_chunk_size
    lookahead = cfg.pre_lookahead_len
    prompt_tokens = args.prompt_tokens
    cached_chunks = max(prompt_tokens - lookahead, 0) // chunk_tokens
    t, dt = euler_steps(cfg.n_timesteps)[0]
    spks = torch.randn(1, cfg.output_size)

    kv, conv = incremental.empty_cache()
    per_frame = math.prod(kv.shape[:4]) * kv.shape[5] * BYTES_PER_FLOAT
    print(f"cache per frame and Euler step: {per_frame / 1024:.0f} KiB (keys/values of {kv.shape[0]} blocks, "
          f"2 CFG rows); conv state {conv.numel() * BYTES_PER_FLOAT / 1024:.0f} KiB per step")
    print(f"prompt cache ({cached_chunks} complete chunks of {prompt_tokens} prompt tokens, {cfg.n_timesteps} steps): "
          f"{cached_chunks * chunk_frames * per_frame * cfg.n_timesteps / 2**20:.0f} MiB")

    with torch.no_grad():
        done = cached_chunks * chunk_frames
        if done:
            x = torch.randn(1, cfg.output_size, done)
            _, kv, conv = incremental.cfg_euler_step(x, x, spks, x, t, dt, kv, conv, cfg.inference_cfg_rate)
        pad = math.ceil(prompt_tokens / chunk_tokens) * chunk_tokens - prompt_tokens
        offset, hop = 0, chunk_tokens
        print("call | frames re-solved | re-solve step ms | new frames | incremental step ms | ratio | cache MiB/solve")
        for call in range(args.chunks):
            this_hop = hop + (pad if call == 0 else 0)
            end = ratio * (prompt_tokens + offset + this_hop)
            field = torch.randn(1, cfg.output_size, end)
            start = time.perf_counter()
            flow.cfg_euler_step(field, field, spks, field, t, dt, torch.tensor([True]))
            full_ms = 1000 * (time.perf_counter() - start)
            new = field[:, :, done:]
            start = time.perf_counter()
            _, kv, conv = incremental.cfg_euler_step(new, new, spks, new, t, dt, kv, conv, cfg.inference_cfg_rate)
            inc_ms = 1000 * (time.perf_counter() - start)
            cache_mib = kv.numel() * BYTES_PER_FLOAT * cfg.n_timesteps / 2**20
            print(f"{call:4d} | {end:16d} | {full_ms:16.0f} | {end - done:10d} | {inc_ms:19.0f} | "
                  f"{full_ms / inc_ms:5.2f} | {cache_mib:.0f}")
            done = end
            offset += this_hop
            hop = min(4 * chunk_tokens, 2 * hop)


if __name__ == "__main__":
    main()

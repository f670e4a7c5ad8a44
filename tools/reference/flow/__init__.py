"""CosyVoice 2 flow (``flow.pt``): token encoder, speaker projection, estimator and CFG Euler solver (spec §5).

``Flow(cfg)`` has the official ``flow.pt`` state-dict layout; load it with
``tools.reference.checkpoint.load_strict(Flow(cfg), path, "flow")``.
"""

from .cfm import NOISE_BUFFER_FRAMES, cosine_schedule, euler_steps, noise_buffer
from .encoder import relative_position_table
from .incremental import IncrementalEstimator, StepCache, chunk_bias, solve_frames
from .masks import as_streaming_flag, attention_visibility, chunk_visibility
from .model import Flow, change_speed, count_parameters, prompt_condition

__all__ = [
    "NOISE_BUFFER_FRAMES",
    "Flow",
    "IncrementalEstimator",
    "StepCache",
    "as_streaming_flag",
    "attention_visibility",
    "change_speed",
    "chunk_bias",
    "chunk_visibility",
    "cosine_schedule",
    "count_parameters",
    "euler_steps",
    "noise_buffer",
    "prompt_condition",
    "relative_position_table",
    "solve_frames",
]

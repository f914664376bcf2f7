"""How fast each kind of model answers: time to first token and time between tokens.

The ranges are what these models typically show through a gateway (public latency dashboards
and our own measurements put them in this order of magnitude); a request's seed draws its
timings from them (completion.latency_checkpoint), and `--pace realistic` streams at exactly
those timings, so the usage block and the stream agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockserver.replies.reasoning import always_thinks


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    ttft_ms: tuple[int, int]  # engine time to first token, low-high
    tbt_ms: tuple[int, int]  # engine time between tokens, low-high (1000 / tokens per second)


# GPT-4o class, and any model not listed: 80-320 ms to the first token, 22-66 tokens/s.
DEFAULT = LatencyProfile((80, 320), (15, 45))
SMALL = LatencyProfile((60, 250), (8, 20))  # mini, flash, turbo: 50-125 tokens/s
HIDDEN_REASONING = LatencyProfile((1500, 6000), (8, 20))  # o-series think before any token
REASONING = LatencyProfile((300, 900), (25, 50))  # reasoning streamed: 20-40 tokens/s
DEEPSEEK = LatencyProfile((300, 900), (25, 50))
QWEN = LatencyProfile((150, 500), (15, 35))

# First match wins: (lower-case name prefix or marker, profile).
_BY_PREFIX = (
    ("o1", HIDDEN_REASONING),
    ("o3", HIDDEN_REASONING),
    ("o4", HIDDEN_REASONING),
    ("deepseek", DEEPSEEK),
    ("qwen", QWEN),
)
_SMALL_MARKERS = ("-mini", "-flash", "-turbo", "-nano")


def latency_profile(model: str) -> LatencyProfile:
    if always_thinks(model):
        return REASONING
    name = model.lower()
    for prefix, profile in _BY_PREFIX:
        if name.startswith(prefix):
            return profile
    if any(marker in name for marker in _SMALL_MARKERS):
        return SMALL
    return DEFAULT

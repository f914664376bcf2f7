"""Thinking: when a reply carries reasoning_content, and how long it thinks.

The gateway turns thinking on with `enable_thinking: true` (top level or in `extra_body`; only the
boolean true counts), `reasoning_effort`, or a model name ending in `-thinking`. Reasoning models
(deepseek-reasoner, DeepSeek R1, QwQ) always think, as they do behind the real gateway.
"""

from __future__ import annotations

from mockserver.contract.request import ChatRequest

# Paragraphs of reasoning per effort: higher effort thinks longer.
PARAGRAPHS = {"minimal": 1, "low": 1, "medium": 2, "high": 4}
# Models that send reasoning_content whatever the request says (name prefixes, lower case).
ALWAYS_THINKING = ("deepseek-reasoner", "deepseek-r1", "qwq")


def thinking_effort(request: ChatRequest) -> str | None:
    """The effort in force, or None when the reply does not think."""
    body = request.body
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort:
        return effort if effort in PARAGRAPHS else "medium"
    extra = body.get("extra_body")
    if body.get("enable_thinking") is True or (
        isinstance(extra, dict) and extra.get("enable_thinking") is True
    ):
        return "medium"
    if always_thinks(request.model):
        return "medium"
    return None


def always_thinks(model: str) -> bool:
    """A model that thinks whatever the request says (its latency profile is a reasoner's)."""
    name = model.lower()
    return name.endswith("-thinking") or name.startswith(ALWAYS_THINKING)

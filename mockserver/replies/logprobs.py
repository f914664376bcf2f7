"""Log probabilities for `logprobs: true`: one entry per token of the content, as OpenAI sends.

The tokens are the mock's own (tokens.split), so they concatenate to the content exactly and
each entry's `bytes` are its UTF-8. Each token gets a plausible distribution: the chosen token
is usually the likeliest; at a temperature above 0 it is sometimes the runner-up, as sampling
does. `top_logprobs` lists the N likeliest tokens of that distribution, sorted, the chosen one
among them with the same logprob as its entry. Drawn from a Random keyed by the reply's seed
key, so the same request and seed give the same numbers, plain or streamed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from random import Random
from typing import Any

from mockserver.replies import tokens

# Likely alternatives at any position: the candidates a top_logprobs list draws from.
_EN_ALTERNATIVES = (
    " the", " a", ",", ".", " and", " of", " to", " is", " in", " that", " it", " for",
    " this", " with", " on", " as", " are", " be", " or", " can", "\n", " an", " you", ":",
)  # fmt: skip
_ZH_ALTERNATIVES = (
    "的", "是", "了", "在", "和", "有", "我", "这", "，", "。", "一", "个", "们", "不",
    "也", "就", "人", "都", "说", "要", "会", "对", "可", "以",
)  # fmt: skip
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
# The most top_logprobs entries the alternatives can fill besides the token itself. The
# logprobs-fields rule keeps requests to 20; with it switched off, more are listed as this many.
MAX_TOP = min(len(_EN_ALTERNATIVES), len(_ZH_ALTERNATIVES)) - 1
SAMPLED_RUNNER_UP = 0.12  # at temperature > 0: how often the chosen token is not the likeliest


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token, its log probability, and the likeliest tokens at its position."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "logprob": self.logprob,
            "bytes": list(self.token.encode("utf-8")),
            "top_logprobs": [
                {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))} for t, lp in self.top
            ],
        }


def content_json(entries: tuple[TokenLogprob, ...]) -> dict[str, Any]:
    """The `logprobs` object of a choice or chunk: content entries, no refusal."""
    return {"content": [e.to_json() for e in entries], "refusal": None}


def _distribution(rng: Random, size: int) -> list[float]:
    """`size` probabilities, decreasing, summing to at most 1."""
    first = rng.uniform(0.55, 0.9995)
    rest = 1.0 - first
    probabilities = [first]
    for _ in range(size - 1):
        share = rest * rng.uniform(0.2, 0.6)
        probabilities.append(share)
        rest -= share
    return sorted(probabilities, reverse=True)


def _entry(token: str, rng: Random, top_n: int, sampled: bool) -> TokenLogprob:
    """The chosen `token` and the top_n likeliest tokens (itself among them) at its position."""
    probabilities = _distribution(rng, max(top_n, 2))
    # the runner-up only where a list of one would leave the chosen token out
    rank = 1 if sampled and top_n != 1 and rng.random() < SAMPLED_RUNNER_UP else 0
    pool = _ZH_ALTERNATIVES if _CJK.match(token.strip()) else _EN_ALTERNATIVES
    others = [t for t in rng.sample(pool, top_n + 1) if t != token]
    ranked = [*others[:rank], token, *others[rank:]]
    logprobs = [math.log(p) for p in probabilities]
    top = tuple(zip(ranked, logprobs, strict=False))[:top_n]
    return TokenLogprob(token=token, logprob=logprobs[rank], top=top)


def token_logprobs(
    content: str, rng: Random, top_n: int, temperature: float
) -> tuple[TokenLogprob, ...]:
    """An entry for each token of `content`, in order, each listing up to MAX_TOP others."""
    sampled = temperature > 0
    top_n = min(max(top_n, 0), MAX_TOP)
    return tuple(_entry(token, rng, top_n, sampled) for token in tokens.split(content))

"""Rate limits per API key: requests and tokens per minute, as OpenAI counts and reports them.

Every reply carries x-ratelimit-{limit,remaining,reset}-{requests,tokens} counting down; a key
whose budget is spent gets 429 rate_limit_exceeded with retry-after until its window resets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mockserver.contract.errors import MockError
from mockserver.contract.request import ChatRequest
from mockserver.replies import tokens
from mockserver.replies.error_catalog import duration, retry_headers

WINDOW_S = 60.0
MAX_KEYS = 10_000  # budgets kept before expired ones are dropped


@dataclass(slots=True)
class _Budget:
    started: float
    requests: int = 0
    tokens: int = 0


@dataclass(slots=True)
class RateLimiter:
    rpm: int | None
    tpm: int | None
    clock: Callable[[], float] = field(default=time.monotonic)
    _budgets: dict[str, _Budget] = field(default_factory=dict)

    def _budget(self, key: str) -> _Budget:
        now = self.clock()
        budget = self._budgets.get(key)
        if budget is None and len(self._budgets) >= MAX_KEYS:  # forget finished windows
            self._budgets = {k: b for k, b in self._budgets.items() if now - b.started < WINDOW_S}
        if budget is None or now - budget.started >= WINDOW_S:
            budget = self._budgets[key] = _Budget(started=now)
        return budget

    @property
    def active(self) -> bool:
        return self.rpm is not None or self.tpm is not None

    @staticmethod
    def cost(chat: ChatRequest) -> int:
        """What a chat request is charged: its prompt plus its max_tokens."""
        return tokens.prompt_tokens(chat.messages, chat.body.get("tools")) + (chat.max_tokens or 0)

    def charge(self, key: str, tokens: int) -> dict[str, str]:
        """Count one request of `tokens` for `key`: its headers, or a 429 when spent."""
        if self.rpm is None and self.tpm is None:
            return {}
        budget = self._budget(key)
        reset = max(WINDOW_S - (self.clock() - budget.started), 0.0)
        over_requests = self.rpm is not None and budget.requests >= self.rpm
        over_tokens = self.tpm is not None and budget.tokens + tokens > self.tpm
        if not (over_requests or over_tokens):
            budget.requests += 1
            budget.tokens += tokens
        return self.verdict(
            budget.requests, budget.tokens, reset, over_requests=over_requests, over=over_tokens
        )

    def verdict(
        self, requests: int, tokens: int, reset: float, *, over_requests: bool, over: bool
    ) -> dict[str, str]:
        """Headers for a budget after a charge (used `requests` and `tokens`, `reset` seconds
        left), or the 429 when the charge was refused (`over_requests`, else `over` tokens).
        Shared budgets (Redis) are charged elsewhere and answered here alike."""
        headers = self._headers(_Budget(started=0.0, requests=requests, tokens=tokens), reset)
        if over_requests or over:
            kind = "requests" if over_requests else "tokens"
            limit = self.rpm if over_requests else self.tpm
            headers |= retry_headers(reset)
            raise MockError(
                f"Rate limit reached for {kind} per min (RPM/TPM): Limit {limit}. "
                f"Please try again in {duration(reset)}.",
                status=429,
                error_type=kind,
                code="rate_limit_exceeded",
                headers=headers,
            )
        return headers

    def _headers(self, budget: _Budget, reset: float) -> dict[str, str]:
        headers = {}
        for kind, limit, used in (
            ("requests", self.rpm, budget.requests),
            ("tokens", self.tpm, budget.tokens),
        ):
            if limit is not None:
                headers[f"x-ratelimit-limit-{kind}"] = str(limit)
                headers[f"x-ratelimit-remaining-{kind}"] = str(max(limit - used, 0))
                headers[f"x-ratelimit-reset-{kind}"] = duration(reset)
        return headers

"""`mockserver verify`: send each fixture's request to the real gateway and report drift.

The fixture's side is what the mock itself answers (an in-process server on a loopback socket,
the fixture forced with X-Mock-Fixture), so the check covers the mock's rendering too. The
gateway is treated politely: a few requests at a time, retries that wait as long as its
retry-after asks (up to a cap), and a budget of requests after which the rest is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from jsonschema.protocols import Validator

from mockserver.app.serving import listen
from mockserver.app.state import CONTRACT, FIXTURES
from mockserver.settings import Settings
from mockserver.stubs.model import Fixture
from mockserver.upstream.compare import Answer, drift
from mockserver.upstream.config import Upstream
from mockserver.upstream.proxy import failure
from mockserver.wire import sse

RETRIED = frozenset({408, 409, 429, 500, 502, 503, 504})
FORCE_HEADER = "X-Mock-Fixture"


@dataclass(frozen=True, slots=True, kw_only=True)
class Politeness:
    concurrency: int = 2
    retries: int = 2
    max_wait_s: float = 60.0  # a longer retry-after is not waited for: the fixture errs
    budget: int = 100  # requests to the gateway in all, retries included
    timeout_s: float = 120.0


@dataclass(slots=True, kw_only=True)
class Outcome:
    """One fixture's verdict: ok, drift, error (no usable answer) or skipped."""

    fixture: str
    source: str
    result: str
    problems: list[str] = field(default_factory=list)
    status: int | None = None
    attempts: int = 0
    ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Budget:
    def __init__(self, requests: int) -> None:
        self.left = requests
        self.spent = 0

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        self.spent += 1
        return True


def retry_delay(headers: Mapping[str, str], attempt: int) -> float:
    """What the gateway asked for (retry-after-ms, retry-after in seconds or as a date), else
    exponential backoff from half a second."""
    with contextlib.suppress(ValueError):
        if "retry-after-ms" in headers:
            return max(float(headers["retry-after-ms"]) / 1000, 0.0)
    value = headers.get("retry-after")
    if value:
        with contextlib.suppress(ValueError):
            return max(float(value), 0.0)
        with contextlib.suppress(TypeError, ValueError):
            when = email.utils.parsedate_to_datetime(value).timestamp()
            return max(float(when) - time.time(), 0.0)
    return 0.5 * 2.0**attempt


class ReplyTooLarge(Exception):
    """The gateway's reply passed the upstream's max_reply_bytes: it is not read further."""


async def read_answer(response: aiohttp.ClientResponse, limit: int | None = None) -> Answer:
    """The reply, read whole (up to `limit` bytes, else ReplyTooLarge)."""
    if limit is None:
        raw = await response.read()
    else:
        received = bytearray()
        async for piece in response.content.iter_any():
            received += piece
            if len(received) > limit:
                raise ReplyTooLarge(f"the gateway sent a reply larger than {limit} bytes")
        raw = bytes(received)
    if response.content_type == "text/event-stream":
        return Answer(response.status, events=tuple(sse.payloads(raw)))
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = raw[:2000].decode("utf-8", "replace")
    return Answer(response.status, body=body)


class Verifier:
    def __init__(self, upstream: Upstream, politeness: Politeness) -> None:
        self.upstream = upstream
        self.politeness = politeness
        self.budget = Budget(politeness.budget)
        self._gate = asyncio.Semaphore(politeness.concurrency)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        if self.upstream.key:
            headers["Authorization"] = f"Bearer {self.upstream.key}"
        return headers

    async def ask_gateway(
        self, session: aiohttp.ClientSession, body: bytes, outcome: Outcome
    ) -> Answer | None:
        """The gateway's answer, retried as it asks; None (outcome set) when there is none."""
        answer: Answer | None = None
        reason = "no attempt"
        for attempt in range(self.politeness.retries + 1):
            if not self.budget.take():
                outcome.result = "skipped"
                outcome.problems.append("the request budget (--max-requests) is spent")
                return None
            outcome.attempts += 1
            try:
                async with (
                    self._gate,
                    session.post(
                        self.upstream.url, data=body, headers=self._headers(), allow_redirects=False
                    ) as response,
                ):
                    answer = await read_answer(response, self.upstream.max_reply_bytes)
                    headers = {k.lower(): v for k, v in response.headers.items()}
            except ReplyTooLarge as exc:  # asking again would bring the same reply
                answer, reason = None, str(exc)
                break
            except (TimeoutError, aiohttp.ClientError) as exc:
                answer, headers = None, {}
                reason = failure(exc, self.upstream.display).message
            if answer is not None and answer.status not in RETRIED:
                return answer
            if answer is not None:
                reason = f"the gateway answered {answer.status}"
            wait = retry_delay(headers, attempt)
            if attempt == self.politeness.retries or wait > self.politeness.max_wait_s:
                break
            await asyncio.sleep(wait)
        outcome.result = "error"
        outcome.status = answer.status if answer is not None else None
        outcome.problems.append(f"{reason} (after {outcome.attempts} attempt(s))")
        return None

    async def check(
        self,
        session: aiohttp.ClientSession,
        mock_url: str,
        fixture: Fixture,
        response_schema: Validator,
    ) -> Outcome:
        outcome = Outcome(fixture=fixture.name, source=fixture.source, result="ok")
        request = fixture.spec.get("request")
        if not isinstance(request, dict):
            outcome.result = "skipped"
            outcome.problems.append("no request: block (recorded or written) to send")
            return outcome
        body = orjson.dumps(request)
        started = time.perf_counter()
        gateway = await self.ask_gateway(session, body, outcome)
        outcome.ms = round((time.perf_counter() - started) * 1000, 1)
        if gateway is None:
            return outcome
        outcome.status = gateway.status
        if not 200 <= gateway.status < 300:
            outcome.result = "error"
            message = gateway.body.get("error") if isinstance(gateway.body, dict) else gateway.body
            outcome.problems.append(f"the gateway answered {gateway.status}: {str(message)[:300]}")
            return outcome
        headers = {
            "Content-Type": "application/json",
            "Authorization": "Bearer sk-verify",
            FORCE_HEADER: fixture.name,
        }
        async with session.post(mock_url, data=body, headers=headers) as response:
            ours = await read_answer(response)
        usage = bool((request.get("stream_options") or {}).get("include_usage"))
        problems = drift(
            gateway,
            ours,
            stream=request.get("stream") is True,
            include_usage=usage,
            response_schema=response_schema,
        )
        if problems:
            outcome.result, outcome.problems = "drift", problems
        return outcome


@contextlib.asynccontextmanager
async def local_mock(
    paths: Sequence[Path], spec: Path | None
) -> AsyncIterator[tuple[str, Validator, Sequence[Fixture]]]:
    """The mock serving `paths` under the contract `spec` on a loopback port: its chat URL,
    the contract's response schema, and the fixtures it loaded (in file order)."""
    settings = Settings(port=0, fixture_paths=tuple(paths), seed=0, access_log=False, spec=spec)
    runner, port = await listen(settings)
    app = runner.app
    try:
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        yield url, app[CONTRACT].current.response, app[FIXTURES].fixtures
    finally:
        await runner.cleanup()


async def verify(
    paths: Sequence[Path],
    upstream: Upstream,
    politeness: Politeness | None = None,
    spec: Path | None = None,
) -> tuple[list[Outcome], int]:
    """Every fixture's outcome, in file order, and the requests sent to the gateway.

    Raises FixtureLoadError when the fixtures do not load, SpecError for an unusable `spec`.
    """
    politeness = politeness or Politeness()
    verifier = Verifier(upstream, politeness)
    timeout = aiohttp.ClientTimeout(total=politeness.timeout_s, connect=upstream.connect_timeout_s)
    async with (
        local_mock(paths, spec) as (mock_url, response_schema, fixtures),
        aiohttp.ClientSession(timeout=timeout, trust_env=False) as session,
    ):
        checks = (verifier.check(session, mock_url, f, response_schema) for f in fixtures)
        outcomes = await asyncio.gather(*checks)
    return list(outcomes), verifier.budget.spent

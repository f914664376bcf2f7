"""Repeats: a request seen before, byte for byte, answered again without deciding again.

Load tests and CI suites send the same body many times. A generated reply (no fixture
matched, no fault, no rate limit, no gateway) depends on nothing but the body, the headers
fixtures read, the contract and the fixtures. While those are unchanged, the same bytes need no
parsing, validating, matching, generating or encoding again: the answer is the first reply's
bytes with its own id and created (wire/prepared.py). That skips about two thirds of a
request's CPU (bench/README.md). Anything that could make the answer differ keeps the request
on the full path: a fault or fixture header, a fixture with `times` that would match but for
its uses (a reset of its counter would bring it back), or a change of fixtures or contract
since (the entry is dropped).

A request is kept the second time it comes. Bounded: MAX_ENTRIES entries, bodies of at most
MAX_BODY bytes, MAX_BYTES in all, and MAX_SEEN hashes of requests seen once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from mockserver.contract.live import LiveContract
from mockserver.contract.request import ChatRequest
from mockserver.contract.schemas import Contract
from mockserver.replies.completion import new_id
from mockserver.replies.reply import Completed, Reply
from mockserver.replies.respond import FORCE_HEADER
from mockserver.settings import Settings
from mockserver.state.base import SharedState
from mockserver.stubs.context import MatchContext
from mockserver.stubs.fixture_set import FixtureSet
from mockserver.wire.faults import HEADER as FAULT_HEADER
from mockserver.wire.faults import NO_FAULT, Chaos, FaultLayers
from mockserver.wire.prepared import Prepared
from mockserver.wire.ratelimit import RateLimiter

MAX_ENTRIES = 1024
MAX_BODY = 64 * 1024  # the journal keeps bodies up to this size as they came
MAX_BYTES = 16 * 1024 * 1024  # request bodies and prepared replies, in all
MAX_SEEN = 4096  # hashes of requests seen once (8 bytes each, and the dict's own)
ENTRY_OVERHEAD = 512  # the entry, its key and the reply's objects, about
PIECE_OVERHEAD = 40  # each bytes or str object an entry holds, beyond its contents

Key = bytes | tuple[bytes, tuple[str | None, ...]]


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply decided before, ready for the journal and the wire."""

    reply: Reply
    model: str
    stream: bool
    include_usage: bool


@dataclass(frozen=True, slots=True)
class _Entry:
    model: str
    stream: bool
    include_usage: bool
    prepared: Prepared
    size: int


class Repeats:
    """The generated answers of the requests seen last, keyed by their bytes."""

    def __init__(
        self,
        settings: Settings,
        contract: LiveContract,
        fixtures: FixtureSet,
        state: SharedState,
        chaos: Chaos,
        limiter: RateLimiter,
    ) -> None:
        # What the server was started with that can make two equal requests differ.
        self.enabled = (
            settings.upstream is None
            and settings.pace == "instant"
            and settings.fault is NO_FAULT
            and chaos.rate <= 0
            and not limiter.active
        )
        self._contract = contract
        self._fixtures = fixtures
        self._state = state
        self._shared = state.backend != "memory"
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self.bytes = 0
        # What every entry was answered under: the contract and the fixture set's generation.
        # When either changes, every entry is stale at once, and all are dropped (an entry
        # kept the contract alive before: ~150 KB each, past the byte bound).
        self._under: tuple[Contract, int] | None = None
        # Hashes of requests seen once: a request is kept the second time it comes, so traffic
        # that never repeats pays a hash, not the preparing of bytes it will never reuse.
        self._seen: OrderedDict[int, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _key(self, raw: bytes, headers: Mapping[str, str]) -> Key | None:
        """None: this request is not one to repeat (a header asks for something of its own)."""
        if not self.enabled or len(raw) > MAX_BODY:
            return None
        if FAULT_HEADER in headers or FORCE_HEADER in headers:
            return None
        read = self._fixtures.headers_read
        return (raw, tuple(map(headers.get, read))) if read else raw

    async def recall(self, raw: bytes, headers: Mapping[str, str]) -> Answer | None:
        """The answer to a request with these bytes, when nothing could make it differ now."""
        key = self._key(raw, headers)
        entry = self._entries.get(key) if key is not None else None
        if key is None or entry is None:
            return None
        if self._shared:  # another worker may have changed the fixtures
            await self._state.fresh()
        if not self._still_valid():
            return None
        self._entries.move_to_end(key)
        reply = Reply(payload=entry.prepared.encoded(new_id("chatcmpl-"), int(time.time())))
        return Answer(reply, entry.model, entry.stream, entry.include_usage)

    def remember(
        self,
        raw: bytes,
        headers: Mapping[str, str],
        chat: ChatRequest,
        reply: Reply,
        faults: FaultLayers,
        contract: Contract,
    ) -> None:
        """Keep a generated reply that nothing but the request decided, once it came twice."""
        key = self._key(raw, headers)
        payload = reply.payload
        if key is None or not self._seen_before(key):
            return
        if (
            not isinstance(payload, Completed)
            or not reply.generated
            or payload.recorded is not None
            or reply.status != 200
            or reply.headers
            or reply.plan != NO_FAULT
            or faults.server is not NO_FAULT
            or faults.header is not NO_FAULT
            or any(choice.tool_calls for choice in payload.completion.choices)  # ids of their own
            or self._fixtures.uses_decide(MatchContext(chat.body, chat.headers))
        ):
            return
        prepared = Prepared.of(
            payload.completion, stream=chat.stream, include_usage=chat.include_usage
        )
        if prepared is None:
            return
        if contract is not self._contract.current:
            return  # swapped while this request was answered
        self._still_valid()
        self._under = (contract, self._fixtures.generation)
        size = ENTRY_OVERHEAD + len(raw) + prepared.size + PIECE_OVERHEAD * len(prepared.pieces)
        if isinstance(key, tuple):  # the values of the headers fixtures read
            size += sum(len(value or "") + PIECE_OVERHEAD for value in key[1])
        self._drop(key)
        entry = _Entry(chat.model, chat.stream, chat.include_usage, prepared, size)
        self._entries[key] = entry
        self.bytes += size
        while len(self._entries) > MAX_ENTRIES or self.bytes > MAX_BYTES:
            _, old = self._entries.popitem(last=False)
            self.bytes -= old.size

    def _still_valid(self) -> bool:
        """Whether the entries were answered under the contract and fixtures in force now;
        if not, they are all dropped."""
        under = self._under
        if under is None:
            return True
        if under[0] is self._contract.current and under[1] == self._fixtures.generation:
            return True
        self._entries.clear()
        self._seen.clear()
        self.bytes = 0
        self._under = None
        return False

    def _seen_before(self, key: Key) -> bool:
        digest = hash(key)
        if digest in self._seen:
            return True
        self._seen[digest] = None
        if len(self._seen) > MAX_SEEN:
            self._seen.popitem(last=False)
        return False

    def _drop(self, key: Key) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size

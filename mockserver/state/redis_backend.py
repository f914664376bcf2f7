"""State shared by every worker and replica through one Redis server.

Keys live under one prefix. Per chat request: one pipelined read (fixture-set version and
scenario counters), a compare-and-set claim when a fixture answered, one journal append; rate
budgets and chaos draws cost a round trip only when switched on. Run-time fixture changes are
stored as a whole (the additions and replacements with their order, the removed file fixtures)
and announced on a pub/sub channel; each worker also checks the version before every request,
so a change made on one worker is in force on all of them for the next request. A worker whose
live feed has a watcher (an open dashboard) also reads the journal stream's new entries.
Every call is bounded by a short timeout: a lost Redis is a 503, never a hung request, and
redis-py reconnects on the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson
import redis.asyncio as aioredis
import yaml
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from mockserver.contract.errors import MockError
from mockserver.journal.live import Feed
from mockserver.journal.sink import JournalFile
from mockserver.journal.store import ServeEvent, encode_entry
from mockserver.state import codec, scripts
from mockserver.state.base import StateUnavailable
from mockserver.state.batching import Batcher
from mockserver.state.connect import StateConnectError, describe
from mockserver.stubs.fixture_set import FixtureSet
from mockserver.stubs.loader import load_text
from mockserver.stubs.model import Fixture
from mockserver.wire import json_bytes
from mockserver.wire.faults import NO_FAULT, Chaos, FaultPlan
from mockserver.wire.ratelimit import WINDOW_S, RateLimiter

T = TypeVar("T")
Snapshot = tuple[bytes | None, dict[bytes, bytes]]  # fixture-set version, scenario counters
log = logging.getLogger("mockserver")
TIMEOUT_S = 1.0  # per call to Redis; past it the request gets a 503
CLAIM_TRIES = 16  # scenario steps lost to other workers before a request gives up (503)
RUNTIME_SOURCE = "admin-api.yaml"
PAGE = 256  # journal entries read per round trip
LISTEN_POLL_S = 1.0  # the change listener looks up from get_message at least this often
STOP_WAIT_S = 1.5  # what close() gives the listener to stop
TAIL_BLOCK_MS = 1000  # the journal tail's XREAD waits at most this long, then looks up
CLEARED = b"cleared:"  # + the writer: a journal clear announced to the other workers
SPEC = b"spec:"  # + the writer: the --spec document was read again (admin reload)


async def _nothing_to_reread() -> bool:
    return False


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RedisState:
    backend = "redis"

    def __init__(
        self,
        url: str,
        *,
        fixtures: FixtureSet,
        load_files: Callable[[], list[Fixture]],
        limiter: RateLimiter,
        chaos: Chaos,
        feed: Feed,
        journal_limit: int,
        journal_bytes: int,
        journal_file: Path | None = None,
        on_spec_reload: Callable[[], Awaitable[bool]] = _nothing_to_reread,
        prefix: str = "mockserver:",
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.fixtures = fixtures
        # The dashboard's live feed: this worker's requests and clears as they happen, the other
        # workers' from the shared journal while a dashboard watches (_tail).
        self._feed = feed
        self._writer = uuid.uuid4().hex[:16]  # marks this worker's entries and clears
        self._on_spec_reload = on_spec_reload  # True when a new document is in force
        self._load_files = load_files  # the file fixtures, checked as at start
        self._limiter = limiter
        self._chaos = chaos
        self._journal_limit = journal_limit
        self._journal_bytes = journal_bytes
        self._timeout = timeout
        # One retry: the first call after Redis restarted finds a dead pooled connection.
        options: dict[str, Any] = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "retry": Retry(NoBackoff(), 1),
        }
        self._redis = aioredis.Redis.from_url(url, **options)
        # Pub/sub waits for messages: no read timeout on its connection.
        self._listener_client = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        self._k = {
            name: prefix + name
            for name in (
                "journal",
                "journal:bytes",
                "calls",
                "fixtures:runtime",
                "fixtures:removed",
                "fixtures:disabled",
                "fixtures:version",
                "fixtures:files",
                "chaos",
                "changes",
            )
        }
        self._rate_prefix = prefix + "rate:"
        self._append = self._redis.register_script(scripts.JOURNAL_APPEND)
        self._claim = self._redis.register_script(scripts.CLAIM_STEP)
        self._rate = self._redis.register_script(scripts.RATE_CHARGE)
        # Journal appends and snapshot reads of concurrent requests: one round trip per batch.
        self._sync: Batcher[tuple[str, bytes] | None, Snapshot | None] = Batcher(self._sync_all)
        self._version: bytes | None = None
        self._files_generation: bytes | None = None
        self._parsed: dict[str, Fixture] = {}  # run-time fixture text -> fixture
        self._listener: asyncio.Task[None] | None = None
        self._tailer: asyncio.Task[None] | None = None
        self._closing = False
        self._last_error: str | None = None
        self._sink = JournalFile(journal_file) if journal_file else None

    # --- lifecycle
    async def start(self) -> None:
        try:
            async with asyncio.timeout(self._timeout * 2):
                await self._redis.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            raise StateConnectError(f"cannot reach Redis for --state: {describe(exc)}") from exc
        async with self._guard():
            await self._apply()
        self._listener = asyncio.create_task(self._listen())
        self._tailer = asyncio.create_task(self._tail())

    async def close(self) -> None:
        self._closing = True
        for task in (self._listener, self._tailer):
            if task is not None:
                await _stop(task)
        await self._sync.close()
        await self._redis.aclose()
        await self._listener_client.aclose()
        if self._sink is not None:
            self._sink.close()

    async def health(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            return {
                "status": "degraded",
                "state": {"backend": self.backend, "reachable": False, "error": describe(exc)},
            }
        return {"status": "ok", "state": {"backend": self.backend, "reachable": True}}

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        async with self._unavailable(), asyncio.timeout(self._timeout * 2):
            yield

    @contextlib.asynccontextmanager
    async def _unavailable(self) -> AsyncIterator[None]:
        """A lost Redis as StateUnavailable (a 503), said once in the log. Without a timer of
        its own: for what waits on a batch, which _sync_all bounds once for all its callers."""
        try:
            yield
        except (RedisError, OSError, TimeoutError) as exc:
            why = describe(exc)
            if why != self._last_error:
                log.warning("shared state (Redis) unavailable: %s", why)
            self._last_error = why
            raise StateUnavailable("Redis unreachable") from exc
        if self._last_error is not None:
            log.warning("shared state (Redis) reachable again")
            self._last_error = None

    # --- journal
    async def record(self, event: ServeEvent) -> None:
        data = encode_entry(event)
        async with self._unavailable():
            await self._sync.submit((event.id, data))
        if self._sink is not None:
            self._sink.write(data + b"\n")
        self._feed.recorded(event)

    async def _sync_all(self, items: Sequence[tuple[str, bytes] | None]) -> list[Snapshot | None]:
        """One round trip for what concurrent requests need: their journal entries appended
        (one script call, which trims atomically), then, if any asked (None), the fixture-set
        version and the scenario counters read once for all of them.

        The script goes by EVALSHA, loaded again only when Redis says it does not know it (a
        restart, SCRIPT FLUSH): a redis-py Script in a pipeline asks SCRIPT EXISTS first, one
        more round trip on every batch.
        """
        entries = [item for item in items if item is not None]
        reads = len(entries) < len(items)
        args: list[str | bytes | int] = [self._journal_limit, self._journal_bytes, self._writer]
        for event_id, data in entries:
            args += [event_id, data]
        keys = [self._k["journal"], self._k["journal:bytes"]]
        results: list[Any] = []
        for attempt in range(2):
            pipe = self._redis.pipeline(transaction=False)
            if entries:
                pipe.evalsha(self._append.sha, len(keys), *keys, *args)
            if reads:
                pipe.get(self._k["fixtures:version"])
                pipe.hgetall(self._k["calls"])
            try:
                async with asyncio.timeout(self._timeout):  # for every caller in the batch
                    results = await pipe.execute()
                break
            except NoScriptError:  # nothing ran: the script failed first, the reads are redone
                if attempt:
                    raise
                await self._redis.script_load(scripts.JOURNAL_APPEND)
        snapshot: Snapshot | None = (results[-2], results[-1]) if reads else None
        return [None if item is not None else snapshot for item in items]

    async def _pages(self) -> AsyncGenerator[list[tuple[bytes, dict[bytes, bytes]]], None]:
        """The journal newest first, PAGE entries per round trip: a full journal is many short
        reads, none near the timeout (one read of all of it took seconds)."""
        last: bytes | None = None
        while True:
            async with self._guard():
                page = cast(
                    list[tuple[bytes, dict[bytes, bytes]]],
                    await self._redis.xrevrange(self._k["journal"], last or "+", "-", count=PAGE),
                )
            if last is not None and page and page[0][0] == last:
                page = page[1:]  # the previous page's last entry: the range includes its end
            if not page:
                return
            yield page
            last = page[-1][0]

    async def events(self) -> Sequence[ServeEvent]:
        return codec.Stored([fields[b"e"] async for page in self._pages() for _, fields in page])

    async def event(self, event_id: str) -> ServeEvent | None:
        """Newest first, so a recent request is found in the first page."""
        wanted = event_id.encode()
        async with contextlib.aclosing(self._pages()) as pages:
            async for page in pages:
                for _, fields in page:
                    if fields[b"i"] == wanted:
                        return codec.decode(fields[b"e"])
        return None

    async def journal_usage(self) -> tuple[int, int]:
        pipe = self._redis.pipeline(transaction=False)
        pipe.xlen(self._k["journal"])
        pipe.get(self._k["journal:bytes"])
        async with self._guard():
            entries, size = await pipe.execute()
        return int(entries), int(size or 0)

    async def clear_journal(self) -> None:
        async with self._guard():
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(self._k["journal"], self._k["journal:bytes"])
            pipe.publish(self._k["changes"], CLEARED + self._writer.encode())
            await pipe.execute()
        self._feed.cleared()

    # --- one chat request
    async def charge(self, key: str, tokens: int) -> dict[str, str]:
        limiter = self._limiter
        if not limiter.active:
            return {}
        # The key is a credential: only its digest is stored.
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        window_ms = int(WINDOW_S * 1000)
        async with self._guard():
            used_r, used_t, reset_ms, over = await self._rate(
                keys=[self._rate_prefix + digest],
                args=[
                    -1 if limiter.rpm is None else limiter.rpm,
                    -1 if limiter.tpm is None else limiter.tpm,
                    tokens,
                    window_ms,
                ],
            )
        return limiter.verdict(
            int(used_r),
            int(used_t),
            max(int(reset_ms), 0) / 1000,
            over_requests=over == 1,
            over=over == 2,
        )

    async def chaos(self) -> FaultPlan:
        if self._chaos.rate <= 0:
            return NO_FAULT
        async with self._guard():
            k = int(await self._redis.incr(self._k["chaos"])) - 1
        return self._chaos.draw_at(k)

    async def respond(self, answer: Callable[[], T]) -> T:
        fixtures = self.fixtures
        for _ in range(CLAIM_TRIES):
            async with self._guard():
                snapshot = await self._sync.submit(None)
                assert snapshot is not None  # a read was asked for
                version, calls = snapshot
                if version != self._version:
                    await self._apply()
            # From here to the claim nothing is awaited: no other request sees this snapshot.
            answered_under = self._version or b""  # what the fixture set now is
            fixtures.calls = {k.decode(): int(v) for k, v in calls.items()}
            fixtures.last_taken = None
            error: MockError | None = None
            try:
                result: T | None = answer()
            except MockError as exc:  # e.g. a sequence exhausted: the step still counts
                result, error = None, exc
            taken = _taken(fixtures)
            if taken is not None:
                name, step = taken
                alike = fixtures.by_name[name].answers_alike  # no race to lose: only counted
                keys = [self._k["calls"], self._k["fixtures:version"]]
                args: list[str | int | bytes] = [name, step, 1 if alike else 0, answered_under]
                async with self._guard():
                    claimed = await self._claim(keys=keys, args=args)
                if not claimed:
                    continue  # another worker took that step first: answer again
            if error is not None:
                raise error
            return result  # type: ignore[return-value]  # set when no error was raised
        raise StateUnavailable("too many workers raced for the same scenario step")

    # --- run-time fixture changes
    async def fresh(self) -> None:
        """The fixture set as stored now. The version is read with the batch of concurrent
        requests' reads (a repeated request asks this on every call: a round trip of its own
        cost ~110 us of CPU in redis-py)."""
        async with self._unavailable():
            snapshot = await self._sync.submit(None)
        assert snapshot is not None  # a read was asked for
        if snapshot[0] != self._version:
            async with self._guard():
                await self._apply()

    async def _apply(self) -> None:
        """Bring this worker's fixture set to the stored state (the caller guards)."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(self._k["fixtures:version"])
        pipe.get(self._k["fixtures:files"])
        pipe.hgetall(self._k["fixtures:runtime"])
        pipe.smembers(self._k["fixtures:removed"])
        pipe.smembers(self._k["fixtures:disabled"])
        version, files, runtime, removed, disabled = await pipe.execute()
        if files != self._files_generation:
            self.fixtures.reload(self._load_files())
            self._files_generation = files
        entries = sorted(
            (orjson.loads(value) for value in runtime.values()), key=lambda e: e["seq"]
        )
        self.fixtures.set_runtime(
            [self._fixture(e["text"]) for e in entries],
            {m.decode() for m in removed},
            {m.decode() for m in disabled},
        )
        in_use = {e["text"] for e in entries}  # the cache holds what is in force, no more
        self._parsed = {text: f for text, f in self._parsed.items() if text in in_use}
        if version != self._version:
            self._feed.fixtures_changed()
        self._version = version

    def _fixture(self, text: str) -> Fixture:
        fixture = self._parsed.get(text)
        if fixture is None:
            fixtures, problems = load_text(text, RUNTIME_SOURCE, [])
            if problems or len(fixtures) != 1:  # it was checked before it was stored
                raise MockError(f"A stored run-time fixture does not load: {problems}")
            fixture = self._parsed[text] = fixtures[0]
        return fixture

    async def _changed(
        self, pipe: Any, files: tuple[bytes, Sequence[Fixture]] | None = None
    ) -> None:
        """End a change: new version, announced to every worker, applied here. `files`: the
        file fixtures this worker loaded (and checked) already, and their generation, so that
        _apply does not read and check every file a second time."""
        pipe.set(self._k["fixtures:version"], uuid.uuid4().hex)
        pipe.publish(self._k["changes"], b"fixtures")
        await pipe.execute()
        if files is not None:
            self._files_generation, loaded = files
            self.fixtures.reload(loaded)
        await self._apply()

    def _stored(self, fixture: Fixture, seq: int) -> bytes:
        text = yaml.safe_dump([dict(fixture.spec)], allow_unicode=True, sort_keys=False)
        self._parsed[text] = fixture
        return json_bytes.dumps({"seq": seq, "text": text})  # read back on every change

    async def add_fixtures(self, fixtures: Sequence[Fixture]) -> None:
        async with self._guard():
            last = int(
                await self._redis.incrby(self._k["fixtures:version"] + ":seq", len(fixtures))
            )
            pipe = self._redis.pipeline(transaction=True)
            for i, fixture in enumerate(fixtures):
                seq = last - len(fixtures) + i
                pipe.hset(self._k["fixtures:runtime"], fixture.name, self._stored(fixture, seq))
                pipe.srem(self._k["fixtures:removed"], fixture.name)
            await self._changed(pipe)

    async def replace_fixture(self, fixture: Fixture) -> None:
        async with self._guard():
            raw = await self._redis.hget(self._k["fixtures:runtime"], fixture.name)
            if raw is not None:  # keeps its place among the run-time fixtures
                seq = int(orjson.loads(raw)["seq"])
            else:
                seq = int(await self._redis.incr(self._k["fixtures:version"] + ":seq"))
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(self._k["fixtures:runtime"], fixture.name, self._stored(fixture, seq))
            pipe.hdel(self._k["calls"], fixture.name)
            await self._changed(pipe)

    async def remove_fixture(self, name: str) -> None:
        async with self._guard():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hdel(self._k["fixtures:runtime"], name)
            if self.fixtures.is_file_fixture(name):
                pipe.sadd(self._k["fixtures:removed"], name)
            pipe.hdel(self._k["calls"], name)
            await self._changed(pipe)

    async def set_enabled(self, name: str, enabled: bool) -> None:
        async with self._guard():
            pipe = self._redis.pipeline(transaction=True)
            if enabled:
                pipe.srem(self._k["fixtures:disabled"], name)
            else:
                pipe.sadd(self._k["fixtures:disabled"], name)
            await self._changed(pipe)

    async def calls(self) -> dict[str, int]:
        async with self._guard():
            calls = cast(dict[bytes, bytes], await self._redis.hgetall(self._k["calls"]))
        return {k.decode(): int(v) for k, v in calls.items()}

    async def reset_counters(self, name: str | None = None) -> None:
        async with self._guard():
            if name is None:
                await self._redis.delete(self._k["calls"])
            else:
                await self._redis.hdel(self._k["calls"], name)

    async def reset_all(self) -> None:
        async with self._guard():
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(
                self._k["journal"],
                self._k["journal:bytes"],
                self._k["calls"],
                self._k["fixtures:runtime"],
                self._k["fixtures:removed"],
                self._k["fixtures:disabled"],
            )  # chaos draws go on, as in memory: a reset does not replay the sequence
            pipe.publish(self._k["changes"], CLEARED + self._writer.encode())
            await self._changed(pipe)
        self._feed.cleared()

    async def reload_files(self, fixtures: Sequence[Fixture], *, spec: bool = False) -> None:
        async with self._guard():
            pipe = self._redis.pipeline(transaction=True)
            if spec:  # before the fixtures: the others load theirs against the new document
                pipe.publish(self._k["changes"], SPEC + self._writer.encode())
            generation = uuid.uuid4().hex.encode()
            pipe.set(self._k["fixtures:files"], generation)
            pipe.delete(self._k["calls"])
            await self._changed(pipe, files=(generation, fixtures))

    # --- the announcement listener
    async def _listen(self) -> None:
        """Apply every announced change; after a lost connection, resubscribe and catch up."""
        while not self._closing:
            try:
                async with self._listener_client.pubsub() as pubsub:
                    await pubsub.subscribe(self._k["changes"])
                    async with self._guard():
                        await self._apply()
                    while not self._closing:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=LISTEN_POLL_S
                        )
                        if message is None:
                            continue
                        data = message.get("data")
                        if isinstance(data, bytes) and data.startswith(CLEARED):
                            if data != CLEARED + self._writer.encode():  # its own: told already
                                self._feed.cleared()
                            continue
                        if isinstance(data, bytes) and data.startswith(SPEC):
                            if data != SPEC + self._writer.encode():
                                await self._reread_spec()
                            continue
                        async with self._guard():
                            await self._apply()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, StateUnavailable) as exc:
                log.debug("fixture-change listener lost Redis (%s); resubscribing", exc)
                await asyncio.sleep(0.5)

    async def _reread_spec(self) -> None:
        """Another worker's admin reload read the --spec document again: so does this one
        (off the event loop), then loads its fixture files against it."""
        if await self._on_spec_reload():
            self._files_generation = None  # a request may have reloaded them meanwhile
            async with self._guard():
                await self._apply()

    # --- the other workers' requests, for this worker's live feed
    async def _tail(self) -> None:
        """While a dashboard watches this worker's feed, the entries the other workers append
        reach it too: the shared stream is read from the newest entry at the moment the first
        watcher came. Nothing is read, or decoded, while nobody watches."""
        last: bytes | None = None
        mine = self._writer.encode()
        while not self._closing:
            if not self._feed.watched.is_set():
                last = None
                await self._feed.watched.wait()
                continue
            try:
                if last is None:
                    last = await self._newest_id()
                reply = cast(
                    list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
                    await self._listener_client.xread(
                        {self._k["journal"]: last}, count=PAGE, block=TAIL_BLOCK_MS
                    ),
                )
            except (RedisError, OSError) as exc:
                log.debug("journal tail lost Redis (%s); reading again", exc)
                await asyncio.sleep(0.5)
                continue
            for _stream, entries in reply or ():
                for entry_id, fields in entries:
                    last = entry_id
                    if fields.get(b"w") == mine:
                        continue
                    try:
                        event = codec.decode(fields[b"e"])
                    except (KeyError, ValueError, TypeError) as exc:  # not an entry of ours
                        log.debug("journal tail skipped entry %r (%s)", entry_id, exc)
                        continue
                    self._feed.recorded(event)

    async def _newest_id(self) -> bytes:
        newest = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await self._listener_client.xrevrange(self._k["journal"], "+", "-", count=1),
        )
        return newest[0][0] if newest else b"0-0"


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel the listener and wait for it, a little.

    redis-py can swallow a cancellation that lands while get_message is reading (seen with
    redis 8.1: about half the servers stopped right after start waited out the whole
    --shutdown-timeout). So the cancel is repeated, the loop also checks `_closing` every
    LISTEN_POLL_S, and after STOP_WAIT_S the task is left to the loop's end.
    """
    for _ in range(3):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=STOP_WAIT_S / 3)
        if done:
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                task.result()
            return
    log.debug("the fixture-change listener did not stop within %s s", STOP_WAIT_S)


def _taken(fixtures: FixtureSet) -> tuple[str, int] | None:
    """The step the answer took, if any (read after the answer ran)."""
    return fixtures.last_taken

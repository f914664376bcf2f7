"""Settings: everything the command line decides, frozen before the app is built."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from mockserver.upstream.config import Upstream
from mockserver.wire.faults import NO_FAULT, FaultPlan

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_SHUTDOWN_TIMEOUT_S = 30.0
DEFAULT_JOURNAL_LIMIT = 10_000
DEFAULT_CHAOS_STATUS = 503  # what an overloaded gateway answers
DEFAULT_JOURNAL_MAX_BYTES = 128 * 1024 * 1024
DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_BODY_TIMEOUT_S = 30.0
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """One server's configuration. Tests build it directly; the CLI builds it from flags."""

    host: str = "127.0.0.1"
    port: int = 8080
    # Files or folders, as str or Path (one, or a list or tuple): kept as a tuple of Paths.
    fixture_paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] = ()
    seed: int | None = None
    api_keys: frozenset[str] = frozenset()
    strict_spec: bool = False
    strict: bool = False  # fixture drift is an error reply, not a warning header
    strict_fixtures: bool = False  # a request no fixture matches is an error, not generated
    watch: bool = False  # reload fixtures (and the --spec document) when their files change
    spec: Path | None = None  # the contract document; None: the bundled schemas/
    spec_examples: bool = False  # the document's request examples become fixtures
    disabled_rules: frozenset[str] = frozenset()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S
    access_log: bool = True
    journal_limit: int = DEFAULT_JOURNAL_LIMIT
    journal_file: Path | None = None  # every entry appended as a JSON line
    journal_max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES  # oldest entries dropped past this
    # Required by /__admin/* (except health) when set; a server bound beyond loopback without
    # one generates one at start and prints it (see app/factory.py).
    admin_token: str | None = None
    admin_hosts: frozenset[str] = frozenset()  # Host names the admin API answers, beyond defaults
    header_timeout: float = (
        DEFAULT_HEADER_TIMEOUT_S  # seconds for a request's headers to arrive (real sockets)
    )
    body_timeout: float = DEFAULT_BODY_TIMEOUT_S  # seconds for a request's body
    fault: FaultPlan = NO_FAULT  # --fault: applies to every request
    chaos_rate: float = 0.0  # this share of requests fails with chaos_status (seeded by seed)
    chaos_status: int = DEFAULT_CHAOS_STATUS
    # --pace: instant (CI) or realistic (each model's time to first token and tokens/s)
    pace: Literal["instant", "realistic"] = "instant"
    # --models: the only models served (others get 404 model_not_found, /v1/models lists exactly
    # these); None serves any model, as before.
    models: tuple[str, ...] | None = None
    rpm: int | None = None  # requests per minute per API key
    tpm: int | None = None  # tokens per minute per API key
    upstream: Upstream | None = None  # --upstream: forward what no fixture answers (or all)
    record_dir: Path | None = None  # --record: each proxied exchange becomes a fixture file
    record_match: tuple[str, ...] = ()  # --record-match: the facts a recorded fixture matches on
    replay_pacing: float = 1.0  # --replay-pacing: recorded frame timings x this (0: no delays)
    state_url: str | None = None  # redis://...: state shared with other workers and replicas
    event_loop: str = "asyncio"  # or "uvloop" (serve --loop)
    reuse_port: bool = False  # a worker of `serve --workers N`: share the port (SO_REUSEPORT)

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the server."""
        return self.host in LOOPBACK_NAMES or self.host.startswith("127.")

    def __post_init__(self) -> None:
        paths = self.fixture_paths
        if isinstance(paths, str | os.PathLike):
            paths = (paths,)
        object.__setattr__(self, "fixture_paths", tuple(Path(p) for p in paths))

    @property
    def paths(self) -> tuple[Path, ...]:
        """fixture_paths, as the Paths __post_init__ made of them."""
        return cast(tuple[Path, ...], self.fixture_paths)

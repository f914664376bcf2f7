"""What the server loads from files: the contract document and the fixtures.

One place for start-up, `--watch` and `POST /__admin/reload`, so a reload never forgets the
spec's example fixtures or checks raw replies against another contract than the one in force.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path

import watchfiles
from aiohttp import web

from mockserver.app.state import CONTRACT, FIXTURES, STATE
from mockserver.contract.live import load_contract
from mockserver.contract.schemas import Contract
from mockserver.contract.spec import SpecError
from mockserver.contract.spec.fixtures import example_fixtures
from mockserver.replies.conformance import fixture_reply_problems, generated_reply_warnings
from mockserver.settings import Settings
from mockserver.state.base import StateUnavailable
from mockserver.stubs.loader import build_fixture, load_paths
from mockserver.stubs.model import Fixture, FixtureLoadError

log = logging.getLogger("mockserver")
EXAMPLES_SOURCE = "spec examples"  # where --spec-examples fixtures come from (admin API, banner)


def contract_in_force(settings: Settings) -> Contract:
    """The contract of --spec (or the bundled one), with a warning when the mock's own replies
    break that document's response schema: a field it requires that the mock cannot know.

    Raises SpecError when the document cannot serve as the contract.
    """
    contract = load_contract(settings.spec, strict_spec=settings.strict_spec)
    if settings.spec is None:  # the bundled contract: the tests hold every reply to it
        return contract
    broken = generated_reply_warnings(contract)
    return dataclasses.replace(contract, warnings=(*contract.warnings, *broken))


def load_fixtures(settings: Settings, contract: Contract) -> list[Fixture]:
    """The fixture files, then (with --spec-examples) one fixture per example of the document.

    Raises FixtureLoadError with every problem found.
    """
    fixtures = load_paths(settings.paths, contract.response)
    document = contract.document
    problems = []
    for item in (
        example_fixtures(document, contract.broken_examples) if settings.spec_examples else ()
    ):
        fixture, found = build_fixture(item, EXAMPLES_SOURCE, None, "", contract.response)
        problems.extend(found)
        if fixture is not None:
            fixtures.append(fixture)
    if settings.spec is not None:
        problems.extend(fixture_reply_problems(fixtures, contract))
    if problems:
        raise FixtureLoadError(problems)
    return fixtures


def _resolved(names: Iterable[str]) -> set[Path]:
    return {Path(name).resolve() for name in names}


def _under(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or root in path.parents for root in roots)


async def watch_sources(app: web.Application, settings: Settings) -> None:
    """--watch: reload what changed. A broken spec or fixture set is reported and the last good
    one stays in force; a new contract re-checks the fixtures against its response schema."""
    roots = tuple(p.resolve() for p in settings.paths)
    spec = settings.spec.resolve() if settings.spec is not None else None
    # The spec's folder, not the file: editors save by replacing the file, which ends a watch
    # on the file itself.
    watched = [*settings.paths, *([spec.parent] if spec is not None else [])]

    ignored = watchfiles.DefaultFilter()  # editors' swap files, .git, __pycache__

    def relevant(change: watchfiles.Change, name: str) -> bool:
        path = Path(name).resolve()
        return ignored(change, name) and (path == spec or _under(path, roots))

    async for changes in watchfiles.awatch(*watched, watch_filter=relevant):
        paths = _resolved(name for _, name in changes)
        changed = ", ".join(sorted(p.name for p in paths))
        swapped = spec is not None and spec in paths and await swap_contract(app, settings)
        if not swapped and not any(_under(p, roots) for p in paths):
            continue
        try:
            fixtures = load_fixtures(settings, app[CONTRACT].current)
        except FixtureLoadError as exc:
            problems = "\n".join(f"  {p}" for p in exc.problems)
            log.warning(
                "fixtures changed (%s) but are broken; keeping the last good set of %d:\n%s",
                changed,
                len(app[FIXTURES]),
                problems,
            )
            continue
        try:
            await app[STATE].reload_files(fixtures)  # every worker, with --state
        except StateUnavailable:
            log.warning("fixtures changed (%s) but the shared state is unavailable", changed)
            continue
        log.info("fixtures reloaded (%s): %d loaded", changed, len(fixtures))


async def swap_contract(app: web.Application, settings: Settings) -> bool:
    """Read the edited spec off the event loop (a large document takes a while to compile)
    and put it in force; False when it cannot be used or did not change. Also what a worker
    does when another worker's admin reload announced a new document (--workers)."""
    live = app[CONTRACT]
    try:
        contract = await asyncio.to_thread(contract_in_force, settings)
    except SpecError as exc:
        log.warning(
            "the spec changed but cannot be used (%s); keeping %s",
            exc,
            live.current.document.describe(),
        )
        return False
    if contract.document.digest == live.current.document.digest:
        return False
    live.swap(contract)
    log.info("contract swapped: %s", contract.describe())
    for warning in contract.warnings:
        log.warning("contract: %s", warning)
    return True

"""--watch with --spec, in process (the CLI test runs the real command): a new contract
re-checks the fixtures, and a fixture set that no longer fits it is kept until it is fixed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mockserver.app.factory import create_app
from mockserver.app.sources import watch_sources
from mockserver.app.state import CONTRACT, FIXTURES
from mockserver.settings import Settings
from tests.spec_documents import openapi_31, write_json
from tests.support import write_yaml

DEADLINE = 10.0
REPLY = "- {name: hi, match: {last_user: hi}, reply: {model: %s, content: hello}}"


async def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE}s: {what}")
        await asyncio.sleep(0.05)


async def test_a_new_contract_rechecks_the_fixtures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mockserver")
    (tmp_path / "spec").mkdir()
    spec = write_json(tmp_path / "spec" / "chat.json", openapi_31())
    fixtures = write_yaml(tmp_path / "fixtures", REPLY % "claude-3")
    settings = Settings(spec=spec, fixture_paths=(fixtures.parent,), watch=True)
    app = create_app(settings)
    first = app[CONTRACT].current.document.digest
    watcher = asyncio.create_task(watch_sources(app, settings))
    try:
        await asyncio.sleep(0.5)  # the watch is set up on the task's first step
        stricter = openapi_31()
        response = stricter["components"]["schemas"]["ChatCompletionResponse"]
        response["properties"]["model"] = {"type": "string", "pattern": "^gpt-"}
        write_json(spec, stricter)
        await eventually(lambda: app[CONTRACT].current.document.digest != first, "swapped")
        await eventually(lambda: "keeping the last good set of 1" in caplog.text, "kept")
        assert "/reply: the reply breaks the response schema at /model" in caplog.text
        assert app[FIXTURES].by_name["hi"].spec["reply"]["model"] == "claude-3"

        write_yaml(fixtures.parent, REPLY % "gpt-4o")
        await eventually(
            lambda: app[FIXTURES].by_name["hi"].spec["reply"]["model"] == "gpt-4o", "fixed"
        )
        swapped = app[CONTRACT].current.document.digest
        write_json(spec, {"openapi": "3.1.0", "paths": {}})
        await eventually(lambda: "the spec changed but cannot be used" in caplog.text, "refused")
        assert app[CONTRACT].current.document.digest == swapped, "the last good one stays"
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

"""`mockserver serve --watch`: edited fixtures are picked up; a broken edit keeps the last good set.

The real command runs as a subprocess on a free port (--port 0, read from MOCKSERVER_READY).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import AUTH
from tests.support import write_yaml

DEADLINE = 10.0  # seconds to wait for a reload (watchfiles reacts in well under one)


@dataclass
class Served:
    url: str
    folder: Path
    stderr: Path
    process: asyncio.subprocess.Process


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until it holds, for at most DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE}s: {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    folder = tmp_path / "fixtures"
    write_yaml(folder, "- {name: greet, match: {last_user: hi}, reply: {content: version one}}")
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mockserver",
            "serve",
            "--port",
            "0",
            "--quiet",
            "--watch",
            "--fixtures",
            str(folder),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    try:
        assert process.stdout is not None
        url, banner = None, b""
        while url is None:
            line = await asyncio.wait_for(process.stdout.readline(), DEADLINE)
            assert line, f"exited before it was ready: {stderr_path.read_text()}"
            if line.startswith(b"MOCKSERVER_READY "):
                url = json.loads(line.split(b" ", 1)[1])["url"]
            banner += line
        assert b"1 loaded from" in banner
        assert b"(watching for changes)" in banner
        yield Served(url, folder, stderr_path, process)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()


async def content(session: aiohttp.ClientSession, url: str) -> str | None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    async with session.post(f"{url}/v1/chat/completions", json=body, headers=AUTH) as response:
        payload = await response.json()
        assert response.status == 200, payload
        text: str | None = payload["choices"][0]["message"]["content"]
        return text


async def test_watch_reloads_and_keeps_the_last_good_set(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        assert await content(session, served.url) == "version one"

        write_yaml(
            served.folder,
            "- {name: greet, match: {last_user: hi}, reply: {content: version two}}",
        )

        async def reloaded() -> bool:
            return await content(session, served.url) == "version two"

        await eventually(reloaded, "the edited fixture answers")

        write_yaml(
            served.folder,
            "- name: broken\n  match:\n    last_user: {regex: '([a-z'}\n",
            "broken.yaml",
        )

        async def complained() -> bool:
            log = served.stderr.read_text(encoding="utf-8")
            return "broken.yaml:3: /0/match/last_user/regex: invalid regular expression" in log

        await eventually(complained, "the broken file is reported in the log")
        log = served.stderr.read_text(encoding="utf-8")
        assert "but are broken; keeping the last good set of 1" in log
        assert await content(session, served.url) == "version two", "the last good set answers"

        write_yaml(
            served.folder,
            "- {name: fixed, priority: 1, match: {last_user: hi}, reply: {content: fixed}}",
            "broken.yaml",
        )

        async def recovered() -> bool:
            return await content(session, served.url) == "fixed"

        await eventually(recovered, "the repaired file is loaded")
    assert served.process.returncode is None, "the server kept running throughout"

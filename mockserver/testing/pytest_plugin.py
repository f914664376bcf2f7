"""The pytest plugin (entry point `pytest11`): a mock server per session, reset for every test.

    def test_checkout(mockserver):
        mockserver.add_fixtures({"name": "price", "match": {"tools": ["get_price"]},
                                 "reply": {"tool_calls": [{"name": "get_price"}]}})
        app = MyApp(base_url=mockserver.base_url)
        ...
        mockserver.assert_called({"tools": ["get_price"], "stream": True}, times=1)

The server runs in-process on its own thread (no subprocess), so sync and async tests both
use it. `--mockserver-report PATH` writes the CI report (PATH.json and PATH.xml) at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mockserver.journal.report import build_report, merge, write_report
from mockserver.settings import Settings
from mockserver.testing.admin_client import AdminClient

if TYPE_CHECKING:
    # The server (and so the whole app) is imported when a test first asks for it: pytest
    # imports plugins before coverage starts, and a run that never uses the mock pays nothing.
    from mockserver.testing.runner import MockServer

_REPORT = pytest.StashKey[Path]()
_RUNS = pytest.StashKey[list[dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver")
    group.addoption(
        "--mockserver-report",
        type=Path,
        default=None,
        help="write the mockserver CI report to PATH.json and PATH.xml (JUnit)",
    )


def pytest_configure(config: pytest.Config) -> None:
    report = config.getoption("--mockserver-report", default=None)
    if report is not None:
        config.stash[_REPORT] = report
        config.stash[_RUNS] = []


class MockServerHandle(AdminClient):
    """The admin client of the session's server, plus its URLs."""

    def __init__(self, server: MockServer) -> None:
        super().__init__(server.url, server.settings.admin_token)
        self.server = server

    @property
    def base_url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="session")
def mockserver_settings() -> Settings:
    """Override in a conftest.py to configure the session's server (fixture_paths, seed, ...)."""
    return Settings(port=0, access_log=False)


@pytest.fixture(scope="session")
def mockserver_session(
    request: pytest.FixtureRequest, mockserver_settings: Settings
) -> Iterator[MockServer]:
    from mockserver.testing.runner import MockServer

    with MockServer(mockserver_settings) as server:
        yield server
        path = request.config.stash.get(_REPORT, None)
        if path is not None:
            report = merge(request.config.stash[_RUNS])
            # PATH.json and PATH.xml, even when PATH has a dot of its own (out/mock.v1)
            json_path, xml_path = (path.with_name(f"{path.name}{s}") for s in (".json", ".xml"))
            write_report(report, json_path, xml_path)


@pytest.fixture
def mockserver(
    request: pytest.FixtureRequest, mockserver_session: MockServer
) -> Iterator[MockServerHandle]:
    """The session's mock server, reset (journal, scenarios, run-time fixtures) for this test."""
    handle = MockServerHandle(mockserver_session)
    handle.reset()
    yield handle
    runs = request.config.stash.get(_RUNS, None)
    if runs is not None:  # --mockserver-report: keep this test's share before the next reset
        runs.append(build_report(handle))

"""The pytest plugin (entry point `pytest11`): a mock server per session, reset for every test.

    def test_checkout(mockserver):
        mockserver.add_fixtures({"name": "price", "match": {"tools": ["get_price"]},
                                 "reply": {"tool_calls": [{"name": "get_price"}]}})
        app = MyApp(base_url=mockserver.base_url)
        ...
        mockserver.assert_called({"tools": ["get_price"], "stream": True}, times=1)

Fixtures for one test: mockserver.add_fixture_file("tests/fixtures/refund.yaml"). The server
runs in-process on its own thread (no subprocess), so sync and async tests both use it.
`--mockserver-report PATH` writes the CI report (PATH.json and PATH.xml) at the end.
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """An override of mockserver_settings without scope="session" would fail every test with
    pytest's ScopeMismatch; say what to change instead."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.get("mockserver_settings") if info is not None else None
        if defs and defs[-1].scope != "session":
            raise pytest.UsageError(
                "mockserver_settings must be session-scoped (one server serves the whole run): "
                'decorate your override with @pytest.fixture(scope="session"). For fixtures of '
                "one test, call mockserver.add_fixture_file(path) or add_fixtures(...) in it."
            )


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
    """Override in a conftest.py, session-scoped, to configure the session's server:

    @pytest.fixture(scope="session")
    def mockserver_settings():
        return Settings(port=0, seed=7, fixture_paths=["tests/fixtures"])  # str or Path
    """
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

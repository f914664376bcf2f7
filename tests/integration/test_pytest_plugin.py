"""The pytest plugin, from the outside: inner pytest sessions (pytester) that use the `mockserver`
fixture the way a user's suite would, with the openai SDK. The plugin comes in through its
pytest11 entry point (the package is installed), never through -p."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import openai
import pytest

from mockserver.testing.runner import MockServer

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(60)

# Each inner run: no cache folder in the outer tmp dir, the asyncio settings of this repo, and
# without hypothesis's plugin (it imports all of hypothesis at the end of every in-process run).
INNER = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:hypothesispytest",
    "-o",
    "asyncio_mode=auto",
    "-o",
    "asyncio_default_fixture_loop_scope=function",
    "-W",
    "error",
)


@pytest.fixture(scope="module", autouse=True)
def _loaded() -> None:
    """Import here what every inner run needs: pytester drops the modules a run imported
    first, so each run would import (and pay for) the SDK and the lazily loaded parts again."""
    with (
        MockServer() as server,
        openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client,
    ):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        stream = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        assert [chunk.id for chunk in stream]


TESTS = """
import openai
import pytest

GREET = {"name": "greet", "match": {"last_user": "hello"}, "reply": {"content": "scripted hi"}}
ASK = [{"role": "user", "content": "hello"}]


def test_sync_sdk(mockserver):
    assert mockserver.requests() == []
    assert mockserver.add_fixtures(GREET) == ["greet"]
    with openai.OpenAI(base_url=mockserver.base_url, api_key="sk-test") as client:
        reply = client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert reply.choices[0].message.content == "scripted hi"
    ids = mockserver.assert_called({"last_user": "hello", "stream": False}, times=1)
    assert ids == [reply._request_id]
    assert mockserver.base_url.startswith("http://127.0.0.1:")
    assert mockserver.base_url.endswith("/v1")


async def test_async_sdk_after_a_reset(mockserver):
    assert mockserver.requests() == [], "the journal was reset for this test"
    assert mockserver.fixtures() == [], "the last test's run-time fixture is gone"
    mockserver.add_fixtures(GREET)
    async with openai.AsyncOpenAI(base_url=mockserver.base_url, api_key="sk-test") as client:
        stream = await client.chat.completions.create(model="gpt-4o", messages=ASK, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "scripted hi"
    mockserver.assert_called({"last_user": "hello", "stream": True}, times=1)
    mockserver.assert_called({"last_user": "hello"})
    mockserver.assert_called({"last_user": "hello", "stream": False}, times=0)


def test_assert_called_failure_shows_near_misses(mockserver):
    mockserver.add_fixtures(GREET)
    with openai.OpenAI(base_url=mockserver.base_url, api_key="sk-test") as client:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hello there"}]
        )
    mockserver.assert_called({"last_user": "goodbye", "model": "gpt-4o-mini"}, times=1)
"""


def test_sync_and_async_tests_use_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user_suite=TESTS)
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_assert_called_failure_shows_near_misses*",
            "*AssertionError: expected a request matching*goodbye*gpt-4o-mini* 1 time(s), found 0",
            "*the last 1 request(s):",
            "*req_* model=gpt-4o status=200: "
            "last user message equals 'goodbye', got 'hello there'; model equals 'gpt-4o-mini'*",
        ]
    )


def test_the_plugin_comes_from_its_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plugin="""
        def test_registered(request):
            manager = request.config.pluginmanager
            plugin = manager.get_plugin("mockserver")
            assert plugin is not None
            assert plugin.__name__ == "mockserver.testing.pytest_plugin"
            assert "mockserver" in [d.project_name for _, d in manager.list_plugin_distinfo()]
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1)
    help_text = pytester.runpytest(*INNER, "--help")
    help_text.stdout.fnmatch_lines(["*--mockserver-report*"])


CONFTEST = """
from pathlib import Path

import pytest

from mockserver import Settings
@pytest.fixture(scope="session")
def mockserver_settings():
    here = Path(__file__).parent
    return Settings(port=0, access_log=False, seed=7, fixture_paths=(here / "fixtures.yaml",))
"""
FIXTURES = """
- name: from-file
  match: {last_user: hello}
  reply: {content: from the file}
- name: unused
  match: {last_user: never asked}
  reply: {content: nobody}
"""
SETTINGS_TESTS = """
import openai


def ask(mockserver, text):
    with openai.OpenAI(base_url=mockserver.base_url, api_key="sk-test", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": text}]
        )
    return reply.choices[0].message.content


def test_file_fixture_answers(mockserver):
    assert mockserver.server.settings.seed == 7
    assert [f["name"] for f in mockserver.fixtures()] == ["from-file", "unused"]
    assert ask(mockserver, "hello") == "from the file"


def test_file_fixtures_survive_the_reset(mockserver):
    assert mockserver.requests() == []
    assert [f["calls"] for f in mockserver.fixtures()] == [0, 0], "counters reset"
    assert ask(mockserver, "something unscripted") != "from the file"
"""


def test_settings_overridden_in_a_conftest(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".yaml", fixtures=FIXTURES)
    pytester.makepyfile(test_settings=SETTINGS_TESTS)
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=2)


def test_mockserver_report_writes_json_and_junit(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".yaml", fixtures=FIXTURES)
    pytester.makepyfile(test_settings=SETTINGS_TESTS)
    report = pytester.path / "reports" / "mockserver"
    result = pytester.runpytest(*INNER, f"--mockserver-report={report}")
    result.assert_outcomes(passed=2)

    data = json.loads((pytester.path / "reports" / "mockserver.json").read_text("utf-8"))
    assert [f["name"] for f in data["never_fired"]] == ["unused"], "from-file fired in test 1"
    assert data["never_fired"][0]["source"].endswith("fixtures.yaml:4")
    (fell,) = data["fell_through"]
    assert fell["last_user"] == "something unscripted"
    assert fell["closest"]["fixture"] in {"from-file", "unused"}
    assert fell["closest"]["failed"]

    suite = ET.parse(pytester.path / "reports" / "mockserver.xml").getroot()
    cases = [(c.get("classname"), c.get("name")) for c in suite.iter("testcase")]
    assert cases == [
        ("mockserver.fixtures", "unused"),
        ("mockserver.unmatched", fell["request"]),
    ]


def test_no_report_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_one="""
        def test_uses_it(mockserver):
            assert mockserver.health()["status"] == "ok"
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1)
    written = sorted(p.name for p in pytester.path.rglob("*") if p.suffix in {".json", ".xml"})
    assert written == []


def test_one_server_per_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_two="""
        PORTS = []

        def test_first(mockserver):
            PORTS.append(mockserver.server.port)

        def test_second(mockserver):
            PORTS.append(mockserver.server.port)
            assert PORTS[0] == PORTS[1], "the session's one server"
        """
    )
    pytester.runpytest(*INNER).assert_outcomes(passed=2)


# The README's conftest.py, as a user copies it: session scope, paths as plain strings.
README_CONFTEST = """
import pytest

from mockserver import Settings


@pytest.fixture(scope="session")  # session scope: one server for the whole run
def mockserver_settings():
    return Settings(port=0, access_log=False, seed=7, fixture_paths=["fixtures.yaml"])
"""
PER_TEST = """
import openai


def ask(mockserver, text):
    with openai.OpenAI(base_url=mockserver.base_url, api_key="sk-test", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": text}]
        )
    return reply.choices[0].message.content


def test_the_session_fixtures_answer(mockserver):
    assert ask(mockserver, "hello") == "from the file"


def test_a_file_of_fixtures_for_this_test_only(mockserver):
    assert mockserver.add_fixture_file("refund.yaml") == ["refund"]
    assert ask(mockserver, "退款") == "已为您办理退款。"


def test_gone_at_the_next_test(mockserver):
    assert [f["name"] for f in mockserver.fixtures()] == ["from-file", "unused"]
    assert ask(mockserver, "退款") != "已为您办理退款。"
"""
REFUND = """
- name: refund
  match: {last_user: {contains: 退款}}
  reply: {content: 已为您办理退款。}
"""


def test_readme_conftest_with_string_paths_and_per_test_files(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(README_CONFTEST)
    pytester.makefile(".yaml", fixtures=FIXTURES, refund=REFUND)
    pytester.makepyfile(test_per_test=PER_TEST)
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=3)


def test_a_function_scoped_override_is_explained(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(README_CONFTEST.replace('(scope="session")', ""))
    pytester.makefile(".yaml", fixtures=FIXTURES)
    pytester.makepyfile(test_one="def test_it(mockserver):\n    pass\n")
    result = pytester.runpytest(*INNER)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*mockserver_settings must be session-scoped*"])

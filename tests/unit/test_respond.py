"""replies/respond.py on its own: which answer a request gets, as data, without HTTP."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from multidict import CIMultiDict

from mockserver.contract.errors import InvalidRequest, MockError, NotFound
from mockserver.contract.request import ChatRequest
from mockserver.replies.completion import REPLAY_EPOCH
from mockserver.replies.generated import TextGenerator
from mockserver.replies.reply import Completed, ErrorBody, HtmlPage, Reply
from mockserver.replies.respond import MATCHED_HEADER, WARNING_HEADER, respond
from mockserver.settings import Settings
from mockserver.stubs.fixture_set import FixtureSet
from mockserver.stubs.loader import load_text
from mockserver.wire.faults import NO_FAULT, FaultLayers, FaultPlan, parse_fault

SECRET = "sk-live-SECRET-0123456789abcdef"

FIXTURES = """
- name: weather
  match: {last_user: {contains: weather}}
  reply: {content: "Sunny in {{ request.model }}."}

- name: once
  times: 1
  match: {last_user: hello}
  reply: {content: "Hello once."}

- name: keyed
  match: {headers: {Authorization: "Bearer sk-expected-key-000000"}, last_user: secret}
  reply: {content: "For the key holder."}

- name: faulty
  match: {last_user: faulty}
  fault: {status: 503, retry_after: 2}
  reply: {content: never sent}

- name: proxy-page
  match: {last_user: proxy}
  fault: {status: 502, html: true}
  reply: {content: never sent}

- name: slow
  match: {last_user: slow}
  fault: {delay_ms: 250, chunk_ms: 10}
  reply: {content: "Slow."}

- name: scenario
  match: {last_user: scenario}
  reply:
    sequence: [{content: first}, {content: second}]
    after_last: error

- name: generated-with-headers
  match: {last_user: generate}
  reply:
    status: 201
    headers: {X-Team: "{{ request.model }}"}

- name: drifting
  match: {last_user: drift}
  reply:
    tool_calls: [{name: get_weather, arguments: {city: 1}}]

- name: call-with-id
  match: {last_user: call}
  reply:
    tool_calls: [{name: lookup, arguments: {}}]

- name: divides
  match: {last_user: divide}
  reply: {content: "{{ 1 // (request.messages | length - 2) }}"}
"""


@pytest.fixture(scope="module")
def text() -> TextGenerator:
    return TextGenerator()


@pytest.fixture
def fixtures() -> FixtureSet:
    loaded, problems = load_text(textwrap.dedent(FIXTURES).lstrip("\n"), "respond.yaml")
    assert problems == []
    return FixtureSet(loaded)


def chat(user: str = "hello", headers: dict[str, str] | None = None, **fields: Any) -> ChatRequest:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": user}], **fields}
    return ChatRequest(body, CIMultiDict(headers or {}))


def layers(header: str | None = None, server: FaultPlan = NO_FAULT) -> FaultLayers:
    return FaultLayers(server, parse_fault(header) if header else NO_FAULT)


class Responder:
    def __init__(self, fixtures: FixtureSet, text: TextGenerator) -> None:
        self.fixtures = fixtures
        self.text = text

    def __call__(
        self,
        request: ChatRequest,
        fault: str | None = None,
        server: FaultPlan = NO_FAULT,
        **settings: Any,
    ) -> Reply:
        return respond(
            request, self.fixtures, Settings(**settings), self.text, layers(fault, server)
        )


@pytest.fixture
def answer(fixtures: FixtureSet, text: TextGenerator) -> Responder:
    return Responder(fixtures, text)


def content(reply: Reply) -> str | None:
    assert isinstance(reply.payload, Completed), reply.payload
    return reply.payload.completion.choices[0].content


def test_a_matching_fixture_answers_with_its_name(answer: Responder) -> None:
    reply = answer(chat("what is the weather?"))
    assert content(reply) == "Sunny in gpt-4o."
    assert reply.fixture == "weather"
    assert reply.headers[MATCHED_HEADER] == "weather"
    assert reply.status == 200
    assert not reply.generated


def test_no_match_is_generated(answer: Responder) -> None:
    reply = answer(chat("tell me a story"))
    assert reply.generated
    assert reply.fixture is None
    assert MATCHED_HEADER not in reply.headers
    assert content(reply)


def test_header_error_consults_no_fixture(answer: Responder, fixtures: FixtureSet) -> None:
    reply = answer(chat("hello"), "status=429, retry_after=3")
    assert reply.status == 429
    assert isinstance(reply.payload, ErrorBody)
    assert reply.payload.code == "rate_limit_exceeded"
    assert reply.headers["retry-after"] == "3"
    assert reply.fixture is None
    assert MATCHED_HEADER not in reply.headers
    # `once` was not used up by the errored request: it still answers.
    assert fixtures.calls == {}
    assert content(answer(chat("hello"))) == "Hello once."


def test_header_error_keeps_the_server_plan_under_it(answer: Responder) -> None:
    reply = answer(chat("hello"), "status=500", server=FaultPlan(delay_ms=(5, 5)))
    assert reply.status == 500
    assert reply.plan.delay_ms == (5, 5)
    assert reply.plan.status == 500


def test_forced_fixture_answers_a_request_it_does_not_match(answer: Responder) -> None:
    reply = answer(chat("tell me a story", {"X-Mock-Fixture": "weather"}))
    assert content(reply) == "Sunny in gpt-4o."
    assert reply.fixture == "weather"


def test_forcing_an_unknown_name_is_a_400_naming_close_ones(answer: Responder) -> None:
    with pytest.raises(InvalidRequest) as caught:
        answer(chat("hello", {"X-Mock-Fixture": "wether"}))
    error = caught.value
    assert error.status == 400
    assert (error.code, error.param) == ("unknown_fixture", "X-Mock-Fixture")
    assert error.message.startswith("X-Mock-Fixture: no fixture named 'wether'. Closest names: ")
    assert "weather" in error.message.split("Closest names: ")[1]


def test_forcing_with_no_fixtures_loaded_says_so(text: TextGenerator) -> None:
    with pytest.raises(InvalidRequest) as caught:
        respond(chat("hi", {"X-Mock-Fixture": "any"}), FixtureSet(), Settings(), text, layers())
    assert caught.value.message.endswith("No fixtures are loaded.")


def test_strict_fixtures_404_names_near_misses_without_credentials(answer: Responder) -> None:
    request = chat("secret", {"Authorization": f"Bearer {SECRET}"})
    with pytest.raises(NotFound) as caught:
        answer(request, strict_fixtures=True)
    error = caught.value
    assert error.status == 404
    assert error.code == "fixture_not_matched"
    assert error.headers == {"x-should-retry": "false"}
    assert "(--strict-fixtures)" in error.message
    assert "[keyed (respond.yaml:" in error.message
    assert "header Authorization equals" in error.message
    assert SECRET not in error.message
    assert "SECRET-0123" not in error.message


def test_strict_fixtures_with_nothing_loaded(text: TextGenerator) -> None:
    with pytest.raises(NotFound) as caught:
        respond(chat(), FixtureSet(), Settings(strict_fixtures=True), text, layers())
    assert caught.value.message.endswith("Closest: no fixtures loaded")


def test_strict_fixtures_still_answers_a_match(answer: Responder) -> None:
    assert answer(chat("weather"), strict_fixtures=True).fixture == "weather"


def test_fixture_fault_status_replaces_the_reply(answer: Responder) -> None:
    reply = answer(chat("faulty"))
    assert reply.status == 503
    assert isinstance(reply.payload, ErrorBody)
    assert reply.payload.type == "server_error"
    assert reply.fixture == "faulty"
    assert reply.headers[MATCHED_HEADER] == "faulty"
    assert reply.headers["retry-after"] == "2"
    assert reply.headers["retry-after-ms"] == "2000"
    assert reply.plan.status == 503


def test_fixture_fault_html_page_keeps_its_fixture(answer: Responder) -> None:
    reply = answer(chat("proxy"))
    assert reply.status == 502
    assert isinstance(reply.payload, HtmlPage)
    assert "<title>502 Bad Gateway</title>" in reply.payload.html
    assert reply.fixture == "proxy-page"
    assert reply.headers[MATCHED_HEADER] == "proxy-page"


def test_header_overrides_the_fixture_fault_key_by_key(answer: Responder) -> None:
    reply = answer(chat("slow"), "chunk_ms=3, seed=4", server=FaultPlan(ttft_ms=7, chunk_ms=99))
    assert content(reply) == "Slow."
    assert reply.plan.delay_ms == (250, 250)  # the fixture's
    assert reply.plan.chunk_ms == 3  # the header beats the fixture and the server
    assert reply.plan.ttft_ms == 7  # the server's, untouched
    assert reply.plan.seed == 4


def test_a_header_status_over_a_fixture_is_still_no_fixture(answer: Responder) -> None:
    reply = answer(chat("weather"), "status=404")
    assert reply.status == 404
    assert reply.fixture is None


def test_seed_makes_ids_replayable(answer: Responder) -> None:
    first = answer(chat("call"), "seed=7")
    again = answer(chat("call"), "seed=7")
    other = answer(chat("call"), "seed=8")
    unseeded = answer(chat("call"))
    ids = []
    for reply in (first, again, other, unseeded):
        assert isinstance(reply.payload, Completed)
        completion = reply.payload.completion
        ids.append((completion.id, completion.choices[0].tool_calls[0].id, completion.created))
    assert ids[0] == ids[1]
    assert ids[0][2] == REPLAY_EPOCH
    assert ids[2][0] != ids[0][0]
    assert ids[2][1] != ids[0][1]
    assert ids[3][2] != REPLAY_EPOCH
    assert ids[0][0].startswith("chatcmpl-")
    assert len(ids[0][0]) == len("chatcmpl-") + 29


def test_seeded_generated_reply_is_replayable(answer: Responder) -> None:
    first = answer(chat("no fixture for this"), "seed=1")
    again = answer(chat("no fixture for this"), "seed=1")
    assert isinstance(first.payload, Completed)
    assert isinstance(again.payload, Completed)
    assert first.payload.completion.to_json() == again.payload.completion.to_json()


def test_exhausted_sequence_is_a_500_error_of(answer: Responder) -> None:
    assert content(answer(chat("scenario"))) == "first"
    assert content(answer(chat("scenario"))) == "second"
    reply = answer(chat("scenario"))
    assert reply.status == 500
    assert isinstance(reply.payload, ErrorBody)
    assert reply.payload.type == "mock_scenario_exhausted"
    assert "'scenario' (respond.yaml:" in reply.payload.message
    assert "exhausted (after_last: error)" in reply.payload.message
    assert reply.headers["x-should-retry"] == "false"
    assert reply.headers[MATCHED_HEADER] == "scenario"
    assert reply.fixture == "scenario"


def test_generated_step_generates_with_the_fixture_headers(
    answer: Responder, text: TextGenerator
) -> None:
    reply = answer(chat("generate", model="o3-mini"))
    assert reply.status == 201
    assert reply.headers["X-Team"] == "o3-mini"
    assert reply.headers[MATCHED_HEADER] == "generated-with-headers"
    assert reply.fixture == "generated-with-headers"
    assert not reply.generated  # a fixture answered, though the generator wrote it
    assert isinstance(reply.payload, Completed)
    assert reply.payload.completion.model == "o3-mini"
    # What the generator answers with no fixture loaded: the same body, so the same text.
    bare = respond(chat("generate", model="o3-mini"), FixtureSet(), Settings(), text, layers())
    assert bare.generated
    assert content(bare) == content(reply)


def test_drift_is_a_warning_header(answer: Responder) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    reply = answer(chat("drift", tools=tools))
    assert reply.status == 200
    assert reply.warnings == (
        "tool call 'get_weather' arguments break its parameters: city: 1 is not of type 'string'",
    )
    assert reply.headers[WARNING_HEADER] == reply.warnings[0]
    assert reply.headers[MATCHED_HEADER] == "drifting"


def test_drift_under_strict_is_a_400(answer: Responder) -> None:
    with pytest.raises(InvalidRequest) as caught:
        answer(chat("drift"), strict=True)
    error = caught.value
    assert error.status == 400
    assert error.code == "fixture_drift"
    assert error.message == (
        "Fixture 'drifting' drifted from the request (--strict): tool call 'get_weather' is not "
        "offered by the request (offered: none)"
    )
    assert error.headers == {"x-should-retry": "false", MATCHED_HEADER: "drifting"}


def test_a_broken_tool_schema_in_the_request_is_a_drift_warning(answer: Responder) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "x"}}}]
    reply = answer(chat("drift", tools=tools))
    assert reply.status == 200
    (warning,) = reply.warnings
    assert warning.startswith(
        "tool call 'get_weather' arguments break its parameters: the request's schema is itself "
        "invalid: "
    )


def test_no_drift_no_warning(answer: Responder) -> None:
    tools = [{"type": "function", "function": {"name": "lookup"}}]
    reply = answer(chat("call", tools=tools), strict=True)
    assert reply.warnings == ()
    assert WARNING_HEADER not in reply.headers


def test_a_template_failing_at_request_time_is_a_fixture_error(answer: Responder) -> None:
    assert content(answer(chat("divide"))) == "-1"  # one message: 1 // -1
    two = chat(
        "divide",
        messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "divide"}],
    )
    with pytest.raises(MockError) as caught:
        answer(two)
    error = caught.value
    assert error.status == 500
    assert error.type == "mock_fixture_error"
    assert error.message.startswith("Fixture 'divides' (respond.yaml:")
    assert "/reply/content: template failed" in error.message
    assert error.headers == {"x-should-retry": "false", MATCHED_HEADER: "divides"}

"""replies/scripted.py on its own: each compiled step kind -> the Reply it scripts."""

from __future__ import annotations

import textwrap
from random import Random
from typing import Any

import pytest
from faker import Faker

from mockserver.contract.request import ChatRequest
from mockserver.replies.completion import Completion
from mockserver.replies.reply import Completed, ErrorBody, RawBody, RawEvents, Reply
from mockserver.replies.scripted import ScriptedStep, scripted_reply
from mockserver.stubs.context import MatchContext
from mockserver.stubs.loader import load_text
from mockserver.stubs.steps import GeneratedStep
from mockserver.stubs.templates import Rendering, TemplateError, template_context

FAKE = Faker("en_US")
FAKE_ZH = Faker("zh_CN")


def step_of(reply: str) -> ScriptedStep:
    """The compiled step of a one-fixture YAML file whose reply is `reply` (YAML flow or block)."""
    text = "- name: f\n  reply:\n" + textwrap.indent(textwrap.dedent(reply).strip(), "    ")
    fixtures, problems = load_text(text, "scripted.yaml")
    assert problems == [], problems
    (step,) = fixtures[0].replies
    assert not isinstance(step, GeneratedStep)
    return step


def request(user: str = "北京天气", **fields: Any) -> ChatRequest:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": user}], **fields}
    return ChatRequest(body, {})


def scripted(reply: str, chat: ChatRequest | None = None) -> Reply:
    chat = chat or request()
    step = step_of(reply)
    ctx = MatchContext(chat.body, chat.headers)
    render = Rendering(template_context(ctx, FAKE, FAKE_ZH), step.at)
    return scripted_reply(step, chat, Random(1), render)


def completion(reply: str, chat: ChatRequest | None = None) -> Completion:
    payload = scripted(reply, chat).payload
    assert isinstance(payload, Completed), payload
    return payload.completion


def test_content_as_written_with_the_request_model() -> None:
    result = completion("content: 'one two six'")
    (choice,) = result.choices
    assert choice.content == "one two six"
    assert choice.finish_reason == "stop"
    assert choice.tool_calls == ()
    assert result.model == "gpt-4o"
    assert result.usage.completion_tokens == 3
    assert result.usage.prompt_tokens == 3 + 1 + 4 + 3  # per message, role, 北京天气, priming


def test_scripted_content_is_not_cut_by_stop_or_max_tokens() -> None:
    result = completion("content: 'alpha beta gamma delta'", request(max_tokens=1, stop=["beta"]))
    assert result.choices[0].content == "alpha beta gamma delta"
    assert result.choices[0].finish_reason == "stop"


def test_templates_are_rendered_for_the_request() -> None:
    reply = """
    content: "{{ request.last_user }} / {{ request.model }} / {{ pointer('/temperature') }}"
    model: "{{ request.model }}-scripted"
    headers: {X-Echo: "{{ request.messages | length }}"}
    """
    result = scripted(reply, request("你好", model="o3", temperature=0.5))
    assert isinstance(result.payload, Completed)
    assert result.payload.completion.choices[0].content == "你好 / o3 / 0.5"
    assert result.payload.completion.model == "o3-scripted"
    assert result.headers == {"X-Echo": "1"}


@pytest.mark.parametrize(
    ("reply", "path"),
    [
        ('content: "{{ 1 // (request.messages | length - 2) }}"', "/reply/content"),
        (
            'tool_calls: [{name: f, arguments: {x: "{{ 1 // (request.messages | length - 2) }}"}}]',
            "/reply/tool_calls/0/arguments/x",
        ),
        (
            'choices: [{content: ok}, {content: "{{ 1 // (request.messages | length - 2) }}"}]',
            "/reply/choices/1/content",
        ),
        (
            'headers: {X-A: "{{ 1 // (request.messages | length - 2) }}"}\ncontent: x',
            "/reply/headers/X-A",
        ),
        ('raw: {a: ["{{ 1 // (request.messages | length - 2) }}"]}', "/reply/raw/a/0"),
        ('raw_sse: ["data: {{ 1 // (request.messages | length - 2) }}"]', "/reply/raw_sse/0"),
        (
            'error: {status: 400, message: "{{ 1 // (request.messages | length - 2) }}"}',
            "/reply/error/message",
        ),
    ],
)
def test_a_failing_template_names_its_path(reply: str, path: str) -> None:
    # Loads (the trial render has one message: 1 // -1), fails for two messages: 1 // 0.
    two = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    chat = request(messages=two, n=2)  # n=2: the second of `choices` is rendered too
    with pytest.raises(TemplateError) as caught:
        scripted(reply, chat)
    assert caught.value.path == path
    assert "template failed: integer division or modulo by zero" in caught.value.message
    scripted(reply)  # and one message renders


def test_one_scripted_choice_answers_each_of_n() -> None:
    result = completion("content: same", request(n=3))
    assert [(c.index, c.content) for c in result.choices] == [(0, "same"), (1, "same"), (2, "same")]
    assert result.usage.completion_tokens == 3  # one token each


def test_scripted_choices_cycle_over_n() -> None:
    reply = "choices: [{content: a}, {content: b, finish_reason: length}]"
    result = completion(reply, request(n=5))
    assert [(c.index, c.content, c.finish_reason) for c in result.choices] == [
        (0, "a", "stop"),
        (1, "b", "length"),
        (2, "a", "stop"),
        (3, "b", "length"),
        (4, "a", "stop"),
    ]
    assert len(completion(reply).choices) == 1  # n=1: the first only


def test_usage_overrides_pin_what_they_name_and_the_rest_is_counted() -> None:
    reply = """
    content: 'one two six'
    reasoning_content: 'because'
    usage: {prompt_tokens: 100, cached_tokens: 40}
    """
    usage = completion(reply).usage
    assert usage.prompt_tokens == 100
    assert usage.cached_tokens == 40
    assert usage.reasoning_tokens == 2  # "beca", "use"
    assert usage.completion_tokens == 3 + 2  # content and reasoning
    assert usage.to_json()["total_tokens"] == 105
    pinned = completion("content: x\nusage: {completion_tokens: 9, reasoning_tokens: 4}").usage
    assert (pinned.completion_tokens, pinned.reasoning_tokens) == (9, 4)
    assert pinned.latency_checkpoint["engine_ttlt_ms"] == (
        pinned.latency_checkpoint["engine_ttft_ms"] + pinned.latency_checkpoint["engine_tbt_ms"] * 8
    )


def test_content_is_null_beside_tool_calls() -> None:
    result = completion("tool_calls: [{name: get_weather, arguments: {city: 北京}}]")
    (choice,) = result.choices
    assert choice.content is None
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == '{"city":"北京"}'
    assert choice.message_json()["content"] is None
    # tool-call arguments are completion tokens: {"city":"北京"} is 10 of them
    assert result.usage.completion_tokens == 10


def test_content_written_beside_tool_calls_is_kept() -> None:
    (choice,) = completion("content: Checking.\ntool_calls: [{name: f}]").choices
    assert choice.content == "Checking."
    assert choice.tool_calls[0].arguments == "{}"


@pytest.mark.parametrize(
    ("arguments", "sent"),
    [
        (
            "{city: 北京, days: 3, tags: [a, b], deep: {x: null}}",
            '{"city":"北京","days":3,"tags":["a","b"],"deep":{"x":null}}',
        ),
        ('\'{"city": "Paris",  "days": 3}\'', '{"city": "Paris",  "days": 3}'),
        ("'  {\"a\":1}\n'", '{"a":1}'),
        ("{}", "{}"),
    ],
)
def test_arguments_object_is_compact_json_and_a_string_is_kept(arguments: str, sent: str) -> None:
    (choice,) = completion(f"tool_calls: [{{name: f, arguments: {arguments}}}]").choices
    assert choice.tool_calls[0].arguments == sent


def test_tool_call_ids_scripted_or_drawn() -> None:
    reply = "tool_calls: [{name: a, id: call_fixed}, {name: b}]"
    first, second = completion(reply).choices[0].tool_calls
    assert (first.id, first.scripted_id) == ("call_fixed", True)
    assert second.id.startswith("call_")
    assert len(second.id) == len("call_") + 24
    assert second.scripted_id is False
    assert completion(reply).choices[0].tool_calls[1].id != second.id


def test_legacy_function_call() -> None:
    (choice,) = completion("function_call: {name: lookup, arguments: {q: x}}").choices
    assert choice.content is None
    assert choice.finish_reason == "function_call"
    assert choice.function_call is not None
    assert (choice.function_call.name, choice.function_call.arguments) == ("lookup", '{"q":"x"}')
    assert choice.message_json()["function_call"] == {"name": "lookup", "arguments": '{"q":"x"}'}


def test_status_and_headers_of_a_completion() -> None:
    result = scripted("content: hi\nstatus: 203\nheaders: {X-Trace: abc}")
    assert result.status == 203
    assert result.headers == {"X-Trace": "abc"}
    assert result.fixture is None  # respond() names the fixture, not this stage


def test_error_step_fills_the_rest_from_the_catalog() -> None:
    result = scripted("error: {status: 429}")
    assert result.status == 429
    assert result.payload == ErrorBody(
        message="Rate limit reached for requests. Please try again in 1s.",
        type="requests",
        param=None,
        code="rate_limit_exceeded",
    )
    assert result.headers["retry-after"] == "1"
    assert result.headers["x-ratelimit-remaining-requests"] == "0"


def test_error_step_as_written_with_its_own_headers() -> None:
    reply = """
    headers: {X-Outer: outer}
    error:
      status: 400
      message: "No {{ request.model }} today."
      type: invalid_request_error
      param: model
      headers: {X-Inner: "{{ request.model }}"}
    """
    result = scripted(reply)
    assert result.status == 400
    assert result.payload == ErrorBody(
        message="No gpt-4o today.", type="invalid_request_error", param="model", code=None
    )
    assert result.headers == {"X-Outer": "outer", "X-Inner": "gpt-4o"}


def test_error_step_headers_override_the_catalog_ones() -> None:
    result = scripted("error: {status: 429, headers: {retry-after: '30'}}")
    assert result.headers["retry-after"] == "30"
    assert result.headers["retry-after-ms"] == "1000"  # the catalog's, not overridden


def test_raw_body_is_sent_as_written_with_templates_rendered() -> None:
    reply = """
    raw: {id: x, object: chat.completion, echo: "{{ request.last_user }}", list: [1, null, true]}
    unchecked: true
    status: 202
    """
    result = scripted(reply)
    assert result.payload == RawBody(
        {"id": "x", "object": "chat.completion", "echo": "北京天气", "list": [1, None, True]}
    )
    assert result.status == 202


def test_raw_sse_events_each_end_with_a_blank_line() -> None:
    reply = r"""
    raw_sse:
      - 'data: {"a": 1}'
      - "data: {\"b\": \"{{ request.model }}\"}\n"
      - "data: c\n\n"
      - "data: d\r\n\r\n"
      - ": comment\r\n"
      - "data: [DONE]"
    """
    result = scripted(reply)
    assert result.payload == RawEvents(
        (
            'data: {"a": 1}\n\n',
            'data: {"b": "gpt-4o"}\n\n',
            "data: c\n\n",
            "data: d\r\n\r\n",
            ": comment\n\n",
            "data: [DONE]\n\n",
        )
    )

"""YAML fixtures through real HTTP: matching, order, replies, templates, scenarios, drift, forcing.

Each server here loads a fixture file written into tmp_path. A fixture answers with content that
names it, so which fixture answered is read from the reply; a request no fixture matches gets a
generated reply (never the scripted words).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mockserver.app.state import FIXTURES
from mockserver.stubs.model import FixtureLoadError
from tests.support import (
    FORCE,
    MATCHED,
    WARNING,
    WEATHER_TOOL,
    Body,
    MakeClient,
    ask,
    chat,
    content_of,
    conversation,
    error_of,
    reply_json,
    reply_stream,
    serve_yaml,
    streamed_content,
    streamed_tool_calls,
    tool,
    write_yaml,
)

WEATHER_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_w1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        }
    ],
}
TIME_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_t1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    ],
}


def tool_answer(call_id: str, content: str) -> Body:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


# --- 1. matchers ----------------------------------------------------------------------------


@dataclass
class Case:
    match: str  # a YAML flow mapping
    hit: Body
    miss: Body
    hit_headers: dict[str, str] = field(default_factory=dict)
    miss_headers: dict[str, str] = field(default_factory=dict)


SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "answer", "schema": {"type": "object"}},
}
JSON_OBJECT = {"type": "json_object"}

CASES: dict[str, Case] = {
    "model-exact": Case(
        "{model: gpt-4o-mini}", chat(model="gpt-4o-mini"), chat(model="gpt-4o-mini-2024")
    ),
    "model-glob": Case("{model: 'gpt-4*'}", chat(model="gpt-4.1"), chat(model="o3-mini")),
    "model-regex": Case(
        r"{model: {regex: '^o\d(-mini)?$'}}", chat(model="o3-mini"), chat(model="o3-pro")
    ),
    "last-user-equals-plain": Case("{last_user: ping}", chat("ping"), chat("ping!")),
    "last-user-equals": Case("{last_user: {equals: ping}}", chat("ping"), chat("Ping")),
    "last-user-contains": Case(
        "{last_user: {contains: weather}}", chat("what's the weather?"), chat("what's the time?")
    ),
    "last-user-regex": Case(
        r"{last_user: {regex: '^order #\d+$'}}", chat("order #42"), chat("order #4x")
    ),
    "last-user-glob": Case(
        "{last_user: {glob: 'translate *'}}", chat("translate this"), chat("please translate")
    ),
    "last-user-ignore-case": Case(
        "{last_user: {equals: HELLO THERE, ignore_case: true}}",
        chat("hello there"),
        chat("hello there!"),
    ),
    "last-user-contains-ignore-case": Case(
        "{last_user: {contains: WEATHER, ignore_case: true}}",
        chat("Weather in Paris?"),
        chat("Wetter in Paris?"),
    ),
    "last-user-is-the-last-one": Case(
        "{last_user: again}",
        conversation(
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "again"},
        ),
        conversation(
            {"role": "user", "content": "again"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "first"},
        ),
    ),
    "last-user-text-parts": Case(
        "{last_user: ping}",
        conversation({"role": "user", "content": [{"type": "text", "text": "ping"}]}),
        conversation({"role": "user", "content": [{"type": "text", "text": "pong"}]}),
    ),
    "any-message-turn": Case(
        "{any_message: {contains: secret}}",
        conversation(
            {"role": "user", "content": "look it up"},
            WEATHER_CALL,
            tool_answer("call_w1", "the secret is 42"),
        ),
        # true of the whole conversation, but not of the turn since the last user message
        conversation(
            {"role": "user", "content": "the secret is 42"},
            {"role": "assistant", "content": "noted"},
            {"role": "user", "content": "what was it?"},
        ),
    ),
    "any-message-conversation": Case(
        "{any_message: {contains: secret}, scope: conversation}",
        conversation(
            {"role": "user", "content": "the secret is 42"},
            {"role": "assistant", "content": "noted"},
            {"role": "user", "content": "what was it?"},
        ),
        chat("what was it?"),
    ),
    "system-prompt": Case(
        "{system: {contains: pirate}}",
        conversation(
            {"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "hi"}
        ),
        conversation({"role": "user", "content": "talk like a pirate"}),
    ),
    "developer-prompt": Case(
        "{system: {contains: pirate}}",
        conversation(
            {"role": "developer", "content": "Speak like a pirate."},
            {"role": "user", "content": "hi"},
        ),
        conversation(
            {"role": "developer", "content": "Speak like a poet."},
            {"role": "user", "content": "pirate?"},
        ),
    ),
    "last-message-tool-result": Case(
        "{last_message: {role: tool, tool: get_weather}}",
        conversation(
            {"role": "user", "content": "weather?"},
            WEATHER_CALL,
            tool_answer("call_w1", "sunny"),
            tools=[WEATHER_TOOL],
        ),
        conversation(
            {"role": "user", "content": "time?"},
            TIME_CALL,
            tool_answer("call_t1", "noon"),
            tools=[WEATHER_TOOL, tool("get_time")],
        ),
    ),
    "last-message-content": Case(
        "{last_message: {role: user, content: {regex: '\\?$'}}}",
        chat("really?"),
        conversation(
            {"role": "user", "content": "really?"}, {"role": "assistant", "content": "Yes"}
        ),
    ),
    "tool-result": Case(
        "{tool_result: {tool: get_weather, content: {contains: sunny}}}",
        conversation(
            {"role": "user", "content": "weather?"},
            WEATHER_CALL,
            tool_answer("call_w1", "sunny, 21C"),
        ),
        conversation(
            {"role": "user", "content": "weather?"},
            WEATHER_CALL,
            tool_answer("call_w1", "rain, 12C"),
        ),
    ),
    "tools-offered": Case(
        "{tools: [get_weather, get_time]}",
        chat(tools=[WEATHER_TOOL, tool("get_time")]),
        chat(tools=[WEATHER_TOOL]),
    ),
    "tools-legacy-functions": Case(
        "{tools: [lookup]}",
        chat(functions=[{"name": "lookup", "parameters": {"type": "object"}}]),
        chat(functions=[{"name": "search", "parameters": {"type": "object"}}]),
    ),
    "tool-choice-string": Case(
        "{tool_choice: required}",
        chat(tools=[WEATHER_TOOL], tool_choice="required"),
        chat(tools=[WEATHER_TOOL], tool_choice="auto"),
    ),
    "tool-choice-function": Case(
        "{tool_choice: {function: get_weather}}",
        chat(
            tools=[WEATHER_TOOL, tool("get_time")],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        ),
        chat(
            tools=[WEATHER_TOOL, tool("get_time")],
            tool_choice={"type": "function", "function": {"name": "get_time"}},
        ),
    ),
    "response-format-json-schema": Case(
        "{response_format: json_schema}",
        chat(response_format=SCHEMA_FORMAT),
        chat("answer in json", response_format=JSON_OBJECT),
    ),
    "response-format-text-is-the-default": Case(
        "{response_format: text}", chat(), chat("answer in json", response_format=JSON_OBJECT)
    ),
    "header-plain": Case(
        "{headers: {X-Tenant: acme}}",
        chat(),
        chat(),
        hit_headers={"x-tenant": "acme"},
        miss_headers={"X-Tenant": "acme-2"},
    ),
    "header-regex": Case(
        r"{headers: {x-trace-id: {regex: '^t-\d+$'}}}",
        chat(),
        chat(),
        hit_headers={"X-TRACE-ID": "t-17"},
        miss_headers={"x-trace-id": "t-x"},
    ),
    "body-equals": Case("{body: {/temperature: 0}}", chat(temperature=0), chat(temperature=0.5)),
    "body-equals-nested": Case(
        "{body: {/messages/0/role: system}}",
        conversation({"role": "system", "content": "s"}, {"role": "user", "content": "u"}),
        chat(),
    ),
    "body-contains-string": Case(
        "{body: {/user: {contains: acme}}}", chat(user="team-acme-1"), chat(user="team-other")
    ),
    "body-contains-array": Case(
        "{body: {/stop: {contains: END}}}", chat(stop=["STOP", "END"]), chat(stop=["STOP"])
    ),
    "body-regex": Case(r"{body: {/user: {regex: '^ci-\d+$'}}}", chat(user="ci-7"), chat(user="ci")),
    "body-exists": Case("{body: {/seed: {exists: true}}}", chat(seed=1), chat()),
    "body-not-exists": Case(
        "{body: {/tools: {exists: false}}}", chat(), chat(tools=[WEATHER_TOOL])
    ),
    "body-gte-lt": Case(
        "{body: {/max_tokens: {gte: 100, lt: 200}}}", chat(max_tokens=100), chat(max_tokens=200)
    ),
    "body-gt-lte": Case(
        "{body: {/temperature: {gt: 0.5, lte: 1}}}", chat(temperature=1), chat(temperature=0.5)
    ),
    "any-of": Case(
        "{any: [{last_user: a}, {model: o3-mini}]}", chat("b", model="o3-mini"), chat("b")
    ),
    "not": Case("{not: {model: 'gpt-*'}}", chat(model="o3-mini"), chat(model="gpt-4o")),
    "all-conditions-must-hold": Case(
        "{model: gpt-4o, last_user: {contains: weather}, tools: [get_weather]}",
        chat("weather?", tools=[WEATHER_TOOL]),
        chat("weather?"),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_matcher(make_client: MakeClient, tmp_path: Path, case: Case) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        f"""
        - name: hit
          match: {case.match}
          reply: {{content: scripted hit}}
        """,
    )
    assert await content_of(client, case.hit, case.hit_headers) == "scripted hit"
    payload, response = await reply_json(client, case.miss, case.miss_headers)
    assert payload["choices"][0]["message"]["content"] != "scripted hit"
    assert MATCHED not in response.headers, "a generated reply answers what nothing matches"


async def test_stream_matcher(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - {name: only-streams, match: {stream: true, last_user: a}, reply: {content: streamed}}
        - {name: never-streams, match: {stream: false, last_user: a}, reply: {content: plain}}
        - {name: either-way, match: {stream: any, last_user: b}, reply: {content: both}}
        """,
    )
    assert await content_of(client, chat("a")) == "plain"
    assert await content_of(client, chat("a", stream=False)) == "plain"
    chunks, _ = await reply_stream(client, chat("a"))
    assert streamed_content(chunks) == "streamed"
    assert await content_of(client, chat("b")) == "both"
    chunks, _ = await reply_stream(client, chat("b"))
    assert streamed_content(chunks) == "both"


async def test_empty_or_absent_match_matches_everything(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - {name: empty, match: {}, times: 1, reply: {content: empty block}}
        - {name: absent, reply: {content: no block}}
        """,
    )
    weird = conversation(
        {"role": "system", "content": "x"},
        {"role": "user", "content": "anything"},
        model="some-model",
        tools=[WEATHER_TOOL],
    )
    assert await content_of(client, weird) == "empty block"
    assert await content_of(client, chat("else", model="o1")) == "no block"
    assert await content_of(client, weird) == "no block"


# --- 2. order ---------------------------------------------------------------------------------


async def test_higher_priority_wins_over_file_order(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - {name: general, reply: {content: general}}
        - {name: special, priority: 5, match: {last_user: {contains: x}}, reply: {content: special}}
        - {name: negative, priority: -1, match: {last_user: y}, reply: {content: negative}}
        """,
    )
    assert await content_of(client, chat("x marks")) == "special"
    assert await content_of(client, chat("y")) == "general"


async def test_equal_priority_keeps_file_order(make_client: MakeClient, tmp_path: Path) -> None:
    """An unkeyed fixture written first beats an exactly-keyed one written later."""
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - {name: by-regex, match: {last_user: {regex: '^p'}}, reply: {content: by-regex}}
        - {name: by-exact, match: {last_user: ping, model: gpt-4o}, reply: {content: by-exact}}
        - {name: by-model, match: {model: gpt-4o}, reply: {content: by-model}}
        """,
    )
    assert await content_of(client, chat("ping")) == "by-regex"
    assert await content_of(client, chat("pong")) == "by-regex"
    assert await content_of(client, chat("zing")) == "by-model"


async def test_folder_files_load_in_sorted_path_order(
    make_client: MakeClient, tmp_path: Path
) -> None:
    folder = tmp_path / "fx"
    for name in ("b.yaml", "a.yml", "sub/c.yaml", "a/z.json"):
        stem = name.replace("/", "-")
        text = (
            json.dumps([{"name": stem, "times": 1, "reply": {"content": stem}}])
            if name.endswith(".json")
            else f"- {{name: {stem}, times: 1, reply: {{content: {stem}}}}}\n"
        )
        write_yaml(folder, text, name)
    write_yaml(folder, "not a fixture", "notes.txt")
    client = await make_client(fixture_paths=(folder,))
    answers = [await content_of(client, chat()) for _ in range(5)]
    assert answers[:4] == ["a-z.json", "a.yml", "b.yaml", "sub-c.yaml"]
    assert answers[4] not in answers[:4], "all used up: a generated reply"


async def test_paths_given_keep_their_order(make_client: MakeClient, tmp_path: Path) -> None:
    second = write_yaml(tmp_path, "- {name: from-b, reply: {content: b}}", "b.yaml")
    first = write_yaml(tmp_path, "- {name: from-a, reply: {content: a}}", "a.yaml")
    client = await make_client(fixture_paths=(second, first))
    assert await content_of(client, chat()) == "b"


async def test_times_then_falls_through(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - {name: once, times: 1, priority: 2, match: {last_user: hi}, reply: {content: once}}
        - {name: twice, times: 2, match: {last_user: hi}, reply: {content: twice}}
        """,
    )
    answers = [await content_of(client, chat("hi")) for _ in range(4)]
    assert answers[:3] == ["once", "twice", "twice"]
    assert answers[3] not in ("once", "twice")


# --- 3. replies -------------------------------------------------------------------------------


async def test_content_and_reasoning(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: thinker
          reply:
            reasoning_content: "Think first: 2 + 2."
            content: "四 (four) 🎉"
        """,
    )
    payload, response = await reply_json(client, chat())
    message = payload["choices"][0]["message"]
    assert message["content"] == "四 (four) 🎉"
    assert message["reasoning_content"] == "Think first: 2 + 2."
    assert payload["choices"][0]["finish_reason"] == "stop"
    assert payload["model"] == "gpt-4o"
    assert payload["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    assert WARNING not in response.headers
    chunks, _ = await reply_stream(client, chat(stream_options={"include_usage": True}))
    assert streamed_content(chunks) == "四 (four) 🎉"
    reasoning = "".join(
        c["choices"][0]["delta"].get("reasoning_content") or "" for c in chunks if c["choices"]
    )
    assert reasoning == "Think first: 2 + 2."
    assert chunks[-1]["usage"]["completion_tokens"] == payload["usage"]["completion_tokens"]


async def test_reply_model_override(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client, tmp_path, "- {name: m, reply: {content: x, model: gpt-4o-2024-08-06}}"
    )
    payload, _ = await reply_json(client, chat())
    assert payload["model"] == "gpt-4o-2024-08-06"


async def test_tool_calls_object_and_string_arguments(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: calls
          reply:
            tool_calls:
              - {name: get_weather, arguments: {city: 北京, days: 2}}
              - {id: call_fixed_1, name: get_time, arguments: '{"zone":"UTC+8",  "dst":false}'}
              - {name: get_time}
        """,
    )
    body = chat(tools=[tool("get_weather"), tool("get_time")])
    payload, response = await reply_json(client, body)
    choice = payload["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [c["type"] for c in calls] == ["function"] * 3
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time", "get_time"]
    assert calls[0]["function"]["arguments"] == '{"city":"北京","days":2}'
    assert calls[1]["function"]["arguments"] == '{"zone":"UTC+8",  "dst":false}', "as written"
    assert calls[2]["function"]["arguments"] == "{}"
    assert calls[1]["id"] == "call_fixed_1"
    generated_id = calls[0]["id"]
    assert generated_id.startswith("call_")
    assert len(generated_id) == len("call_") + 24
    assert len({c["id"] for c in calls}) == 3
    assert WARNING not in response.headers

    chunks, _ = await reply_stream(client, body)
    rebuilt = streamed_tool_calls(chunks)
    assert [(c["name"], json.loads(c["arguments"])) for c in rebuilt] == [
        ("get_weather", {"city": "北京", "days": 2}),
        ("get_time", {"zone": "UTC+8", "dst": False}),
        ("get_time", {}),
    ]
    assert rebuilt[1]["id"] == "call_fixed_1"
    assert all(c["id"].startswith("call_") for c in rebuilt)
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "tool_calls"


async def test_legacy_function_call(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        "- {name: legacy, reply: {function_call: {name: lookup, arguments: {q: mock}}}}",
    )
    body = chat(functions=[{"name": "lookup", "parameters": {"type": "object"}}])
    payload, response = await reply_json(client, body)
    assert WARNING not in response.headers, "lookup is offered: no drift"
    choice = payload["choices"][0]
    assert choice["message"]["function_call"] == {"name": "lookup", "arguments": '{"q":"mock"}'}
    assert choice["message"]["content"] is None
    assert "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "function_call"


async def test_finish_reason_override(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: cut
          reply: {content: "The answer is", finish_reason: length}
        """,
    )
    payload, _ = await reply_json(client, chat())
    assert payload["choices"][0]["finish_reason"] == "length"
    chunks, _ = await reply_stream(client, chat())
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "length"


async def test_usage_overrides_keep_the_total_consistent(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: metered
          reply:
            content: hi
            usage: {prompt_tokens: 1200, completion_tokens: 34, reasoning_tokens: 5,
                    cached_tokens: 1024}
        - name: half
          match: {last_user: half}
          priority: 1
          reply: {content: "hi there", usage: {completion_tokens: 9}}
        """,
    )
    payload, _ = await reply_json(client, chat())
    usage = payload["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        1200,
        34,
        1234,
    )
    assert usage["prompt_tokens_details"]["cached_tokens"] == 1024
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 5
    half, _ = await reply_json(client, chat("half"))
    assert half["usage"]["completion_tokens"] == 9
    assert half["usage"]["prompt_tokens"] > 0
    assert half["usage"]["total_tokens"] == half["usage"]["prompt_tokens"] + 9
    chunks, _ = await reply_stream(client, chat(stream_options={"include_usage": True}))
    assert chunks[-1]["usage"]["total_tokens"] == 1234


async def test_several_choices(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: two
          reply:
            choices:
              - {content: first}
              - {tool_calls: [{name: get_weather, arguments: {city: Oslo}}]}
              - {content: third, finish_reason: content_filter}
        """,
    )
    body = chat(tools=[WEATHER_TOOL], n=3)
    payload, _ = await reply_json(client, body)
    choices = payload["choices"]
    assert [c["index"] for c in choices] == [0, 1, 2]
    assert choices[0]["message"]["content"] == "first"
    assert choices[1]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city":"Oslo"}'
    assert [c["finish_reason"] for c in choices] == ["stop", "tool_calls", "content_filter"]
    chunks, _ = await reply_stream(client, body)
    assert streamed_content(chunks, 0) == "first"
    assert streamed_content(chunks, 2) == "third"
    finishes = {
        c["choices"][0]["index"]: c["choices"][0]["finish_reason"]
        for c in chunks
        if c["choices"] and c["choices"][0]["finish_reason"]
    }
    assert finishes == {0: "stop", 1: "tool_calls", 2: "content_filter"}
    single, _ = await reply_json(client, chat(tools=[WEATHER_TOOL]))
    assert [c["message"]["content"] for c in single["choices"]] == ["first"], "n=1: the first"
    cycled, _ = await reply_json(client, chat(tools=[WEATHER_TOOL], n=4))
    assert [c["finish_reason"] for c in cycled["choices"]] == [
        "stop",
        "tool_calls",
        "content_filter",
        "stop",
    ]
    assert cycled["choices"][3]["message"]["content"] == "first"


async def test_n_copies_one_scripted_reply(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(make_client, tmp_path, "- {name: one, reply: {content: same}}")
    payload, _ = await reply_json(client, chat(n=3))
    assert [(c["index"], c["message"]["content"]) for c in payload["choices"]] == [
        (0, "same"),
        (1, "same"),
        (2, "same"),
    ]
    chunks, _ = await reply_stream(client, chat(n=2))
    assert [streamed_content(chunks, i) for i in (0, 1)] == ["same", "same"]


async def test_status_and_extra_headers(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: accepted
          reply:
            content: ok
            status: 203
            headers: {x-ratelimit-remaining-requests: "42", x-model-seen: "{{ request.model }}"}
        """,
    )
    payload, response = await reply_json(client, chat(model="o3-mini"), status=203)
    assert payload["choices"][0]["message"]["content"] == "ok"
    assert response.headers["x-ratelimit-remaining-requests"] == "42"
    assert response.headers["X-Model-Seen"] == "o3-mini"
    assert response.headers["x-request-id"].startswith("req_")
    chunks, streamed = await reply_stream(client, chat(), status=203)
    assert streamed_content(chunks) == "ok"
    assert streamed.headers["x-ratelimit-remaining-requests"] == "42"


@pytest.mark.parametrize("stream", [False, True])
async def test_scripted_error(make_client: MakeClient, tmp_path: Path, stream: bool) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: limited
          match: {last_user: busy}
          reply:
            headers: {x-extra: from-reply}
            error:
              status: 429
              type: rate_limit_exceeded
              code: rate_limit_exceeded
              message: "Rate limit reached for {{ request.model }}."
              headers: {retry-after: "7"}
        - name: down
          match: {last_user: down}
          reply: {error: {status: 503}}
        - name: bad
          match: {last_user: bad}
          reply: {error: {status: 400, param: messages, code: null}}
        """,
    )
    response = await ask(client, chat("busy", stream=stream))
    error = await error_of(response, 429)
    assert error == {
        "message": "Rate limit reached for gpt-4o.",
        "type": "rate_limit_exceeded",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-extra"] == "from-reply"
    down = await error_of(await ask(client, chat("down", stream=stream)), 503)
    assert down == {  # what the real API says with a 503, from the error catalog
        "message": "The engine is currently overloaded, please try again later.",
        "type": "server_error",
        "param": None,
        "code": "service_unavailable",
    }
    bad = await error_of(await ask(client, chat("bad", stream=stream)), 400)
    assert (bad["type"], bad["param"], bad["code"]) == ("invalid_request_error", "messages", None)


async def test_raw_body_sent_as_written(make_client: MakeClient, tmp_path: Path) -> None:
    raw = {
        "id": "chatcmpl-raw1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-raw",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "raw!",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 1,
            "completion_tokens": 2,
            "total_tokens": 3,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            "latency_checkpoint": dict.fromkeys(
                [
                    "engine_tbt_ms",
                    "engine_ttft_ms",
                    "engine_ttlt_ms",
                    "pre_inference_ms",
                    "service_tbt_ms",
                    "service_ttft_ms",
                    "service_ttlt_ms",
                    "total_duration_ms",
                    "user_visible_ttft_ms",
                ],
                5,
            ),
        },
        "system_fingerprint": "fp_raw",
        "service_tier": "default",
    }
    client = await serve_yaml(
        make_client, tmp_path, json.dumps([{"name": "raw", "reply": {"raw": raw}}])
    )
    payload, _ = await reply_json(client, chat())
    assert payload == raw


async def test_raw_body_breaking_the_schema_is_refused_at_load(
    make_client: MakeClient, tmp_path: Path
) -> None:
    with pytest.raises(FixtureLoadError) as caught:
        await serve_yaml(
            make_client,
            tmp_path,
            """
            - name: broken-raw
              reply:
                raw: {id: chatcmpl-1, object: chat.completion}
            """,
        )
    problems = caught.value.problems
    assert {p.path for p in problems} == {"/0/reply/raw"}
    assert {p.line for p in problems} == {3}
    assert any("'choices' is a required property" in p.message for p in problems)
    assert all("unchecked: true" in p.message for p in problems)


async def test_unchecked_raw_body_is_sent_anyway(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: junk
          reply:
            raw: {choices: "not a list", surprise: [1, 2]}
            unchecked: true
            status: 202
        """,
    )
    response = await ask(client, chat())
    assert response.status == 202
    assert await response.json() == {"choices": "not a list", "surprise": [1, 2]}


async def test_raw_sse_byte_for_byte(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        r"""
        - name: wire
          reply:
            raw_sse:
              - 'data: {"id":"x","choices":[{"index":0,"delta":{"content":"ça"}}]}'
              - ": keep-alive comment"
              - "event: custom\ndata: two lines\n\n"
              - "data: [DONE]"
        """,
    )
    response = await ask(client, chat(stream=True))
    raw = await response.read()
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    assert (
        raw
        == (
            'data: {"id":"x","choices":[{"index":0,"delta":{"content":"ça"}}]}\n\n'
            ": keep-alive comment\n\n"
            "event: custom\ndata: two lines\n\n"
            "data: [DONE]\n\n"
        ).encode()
    )


async def test_generated_reply_with_fixture_headers(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: tagged
          match: {last_user: {contains: tag}}
          reply: {generated: true, headers: {x-tagged: "yes"}}
        - name: headers-only
          match: {last_user: plain}
          reply: {headers: {x-plain: "1"}}
        """,
    )
    payload, response = await reply_json(client, chat("tag me"))
    assert response.headers["x-tagged"] == "yes"
    assert response.headers[MATCHED] == "tagged"
    content = payload["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    assert len(content) > 20, "the generator wrote it"
    untagged, _ = await reply_json(client, chat("tag me"), {"x-unrelated": "1"})
    assert untagged["choices"][0]["message"]["content"] == content, "seeded by the body"
    plain, response = await reply_json(client, chat("plain"))
    assert response.headers["x-plain"] == "1"
    assert plain["choices"][0]["message"]["content"]


# --- 4. templates -----------------------------------------------------------------------------


async def test_templates_see_the_request(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: echo
          reply:
            content: >-
              {{ request.model }} heard '{{ request.last_user }}' from {{ pointer('/user') }}:
              tools={{ request.tools | join(',') }}, first={{ pointer('/messages/0/role') }},
              missing={{ pointer('/nope') }}, stream={{ request.stream }}
        """,
    )
    body = conversation(
        {"role": "system", "content": "s"},
        {"role": "user", "content": "ping"},
        model="o3-mini",
        user="ci-bot",
        tools=[tool("get_weather"), tool("get_time")],
    )
    assert await content_of(client, body) == (
        "o3-mini heard 'ping' from ci-bot: tools=get_time,get_weather, first=system, "
        "missing=None, stream=False"
    )


async def test_templates_in_tool_call_arguments(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: call
          reply:
            tool_calls:
              - {name: get_weather, arguments: {city: "{{ request.last_user }}"}}
              - {name: get_weather, arguments: '{"city": "{{ request.last_user | upper }}"}'}
        """,
    )
    payload, _ = await reply_json(client, chat("Lyon", tools=[WEATHER_TOOL]))
    calls = payload["choices"][0]["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [
        {"city": "Lyon"},
        {"city": "LYON"},
    ]


async def test_fake_values_are_seeded_by_the_body(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client, tmp_path, "- {name: city, reply: {content: 'In {{ fake.city() }}.'}}"
    )
    first = await content_of(client, chat("where?"))
    again = await content_of(client, chat("where?"))
    others = {await content_of(client, chat(f"where? {i}")) for i in range(6)}
    assert isinstance(first, str)
    assert first.startswith("In ")
    assert first.endswith(".")
    assert "{{" not in first
    assert len(first) > len("In .")
    assert again == first
    assert len(others | {first}) > 1, "a different body picks other values"


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{{ request.nothing_here }}", "has no attribute 'nothing_here'"),
        ("{{ pointer('no-leading-slash') }}", "bad JSON pointer"),
        ("{{ 1 / (request.messages | length - 1) }}", "division by zero"),
    ],
    ids=["undefined", "bad-pointer", "division-by-zero"],
)
async def test_render_error_is_a_fixture_error(
    make_client: MakeClient, tmp_path: Path, template: str, why: str
) -> None:
    path = write_yaml(
        tmp_path, json.dumps([{"name": "fragile", "reply": {"content": template}}]), "f.json"
    )
    client = await make_client(fixture_paths=(path,))
    for stream in (False, True):
        response = await ask(client, chat(stream=stream))
        error = await error_of(response, 500)
        assert error["type"] == "mock_fixture_error"
        assert response.headers["x-should-retry"] == "false"
        assert "'fragile'" in error["message"]
        assert "/content" in error["message"]
        assert why in error["message"]


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ request.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ fake._FakeProviders__fake }}",
        "{{ fake.seed_instance(1) }}",
        "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}",
        "{{ request.body.update({'model': 'pwned'}) }}",
        "{{ request.messages.append({}) }}",
        "{{ self._TemplateReference__context }}",
        "{{ namespace.__init__.__globals__ }}",
    ],
)
async def test_sandbox_escape_at_render_is_refused(
    make_client: MakeClient, tmp_path: Path, escape: str
) -> None:
    """An escape that only runs for some requests passes the load-time trial, then is refused."""
    template = "{% if request.last_user == 'go' %}" + escape + "{% else %}safe{% endif %}"
    path = write_yaml(
        tmp_path, json.dumps([{"name": "sly", "reply": {"content": template}}]), "sly.json"
    )
    client = await make_client(fixture_paths=(path,))
    assert await content_of(client, chat("stay")) == "safe"
    body = chat("go")
    response = await ask(client, body)
    error = await error_of(response, 500)
    assert error["type"] == "mock_fixture_error"
    assert "sandbox" in error["message"]
    assert "'sly'" in error["message"]
    assert response.headers["x-should-retry"] == "false"
    assert await content_of(client, chat("stay")) == "safe", "the server is still fine"


@pytest.mark.parametrize(
    ("escape", "why"),
    [
        ("{{ ''.__class__.__mro__ }}", "sandbox"),
        ("{{ fake.seed_instance(1) }}", "sandbox"),
        ("{{ request.body.update({}) }}", "sandbox"),
        ("{{ config.items() }}", "unknown name(s) config"),
        ("{{ environ['HOME'] }}", "unknown name(s) environ"),
        ("{{ os.environ }}", "unknown name(s) os"),
    ],
)
async def test_sandbox_escape_is_refused_at_load(
    make_client: MakeClient, tmp_path: Path, escape: str, why: str
) -> None:
    path = write_yaml(
        tmp_path, json.dumps([{"name": "sly", "reply": {"content": escape}}]), "sly.json"
    )
    with pytest.raises(FixtureLoadError) as caught:
        await make_client(fixture_paths=(path,))
    [problem] = caught.value.problems
    assert problem.path == "/0/reply/content"
    assert why in problem.message


# --- 5. scenarios -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after_last", "expected"),
    [
        ("repeat", ["one", "two", "three", "three", "three"]),
        ("cycle", ["one", "two", "three", "one", "two"]),
    ],
)
async def test_sequence_after_last(
    make_client: MakeClient, tmp_path: Path, after_last: str, expected: list[str]
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        f"""
        - name: steps
          reply:
            after_last: {after_last}
            sequence: [{{content: one}}, {{content: two}}, {{content: three}}]
        """,
    )
    assert [await content_of(client, chat()) for _ in expected] == expected


async def test_sequence_after_last_error(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: twice-only
          reply: {after_last: error, sequence: [{content: one}, {content: two}]}
        """,
    )
    assert [await content_of(client, chat()) for _ in range(2)] == ["one", "two"]
    for _ in range(2):
        response = await ask(client, chat())
        error = await error_of(response, 500)
        assert error["type"] == "mock_scenario_exhausted"
        assert "'twice-only'" in error["message"]
        assert "exhausted" in error["message"]
        assert response.headers["x-should-retry"] == "false"


async def test_sequence_step_can_be_generated_or_an_error(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: flaky
          reply:
            sequence:
              - {error: {status: 500, message: try again}}
              - {content: recovered}
              - {generated: true}
        """,
    )
    error = await error_of(await ask(client, chat()), 500)
    assert error["message"] == "try again"
    assert await content_of(client, chat()) == "recovered"
    generated = await content_of(client, chat())
    assert generated not in (None, "recovered")


WEATHER_FIXTURES = """
- name: weather-answer
  priority: 1
  match:
    last_message: {role: tool, tool: get_weather}
  reply:
    content: "Weather in {{ request.last_user }}: {{ request.messages[-1].content }}."
- name: weather-call
  match:
    last_user: {contains: weather}
    tools: [get_weather]
  reply:
    tool_calls: [{name: get_weather, arguments: {city: Paris}}]
"""


async def test_weather_round_trip(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(make_client, tmp_path, WEATHER_FIXTURES)
    question = {"role": "user", "content": "weather in Paris?"}
    first, _ = await reply_json(client, conversation(question, tools=[WEATHER_TOOL]))
    message = first["choices"][0]["message"]
    [call] = message["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    follow_up = conversation(
        question,
        {"role": "assistant", "content": None, "tool_calls": message["tool_calls"]},
        tool_answer(call["id"], "sunny, 21C"),
        tools=[WEATHER_TOOL],
    )
    final, _ = await reply_json(client, follow_up)
    assert final["choices"][0]["message"]["content"] == "Weather in weather in Paris?: sunny, 21C."
    assert final["choices"][0]["finish_reason"] == "stop"
    # Again from the start: state-free, the same two steps.
    again, _ = await reply_json(client, conversation(question, tools=[WEATHER_TOOL]))
    assert again["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


async def test_weather_as_a_sequence(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: weather
          match: {tools: [get_weather]}
          reply:
            sequence:
              - tool_calls: [{name: get_weather, arguments: {city: 北京}}]
              - content: "北京今天晴。"
        """,
    )
    question = {"role": "user", "content": "北京天气怎么样？"}
    chunks, _ = await reply_stream(client, conversation(question, tools=[WEATHER_TOOL]))
    [call] = streamed_tool_calls(chunks)
    assert json.loads(call["arguments"]) == {"city": "北京"}
    follow_up = conversation(
        question,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
            ],
        },
        tool_answer(call["id"], "晴"),
        tools=[WEATHER_TOOL],
    )
    chunks, _ = await reply_stream(client, follow_up)
    assert streamed_content(chunks) == "北京今天晴。"


async def test_scenarios_advance_independently_and_reset(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: left
          match: {headers: {x-lane: left}}
          reply: {sequence: [{content: L1}, {content: L2}, {content: L3}]}
        - name: right
          match: {headers: {x-lane: right}}
          reply: {sequence: [{content: R1}, {content: R2}, {content: R3}]}
        """,
    )

    async def lane(name: str) -> str | None:
        return await content_of(client, chat(), {"x-lane": name})

    assert [await lane("left"), await lane("right"), await lane("left")] == ["L1", "R1", "L2"]
    fixtures = client.app[FIXTURES]
    fixtures.reset("left")
    assert [await lane("left"), await lane("right")] == ["L1", "R2"]
    fixtures.reset()
    assert [await lane("right"), await lane("left")] == ["R1", "L1"]


# --- 6. drift ---------------------------------------------------------------------------------

DRIFT_FIXTURES = """
- name: unoffered
  match: {last_user: unoffered}
  reply: {tool_calls: [{name: get_weather, arguments: {city: Paris}}]}
- name: bad-arguments
  match: {last_user: bad-arguments}
  reply: {tool_calls: [{name: get_weather, arguments: {town: Paris}}]}
- name: bad-content
  match: {last_user: bad-content}
  reply: {content: '{"answer": "forty-two"}'}
- name: not-json
  match: {last_user: not-json}
  reply: {content: 'forty-two'}
- name: legacy-unoffered
  match: {last_user: legacy-unoffered}
  reply: {function_call: {name: lookup, arguments: {q: x}}}
- name: faithful
  match: {last_user: faithful}
  reply: {tool_calls: [{name: get_weather, arguments: {city: Paris}}]}
"""
ANSWER_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "integer"}},
            "required": ["answer"],
        },
    },
}
DRIFTS: dict[str, tuple[Body, list[str]]] = {
    "unoffered": (
        chat("unoffered", tools=[tool("get_time")]),
        ["tool call 'get_weather' is not offered by the request (offered: get_time)"],
    ),
    "bad-arguments": (
        chat("bad-arguments", tools=[WEATHER_TOOL]),
        ["'get_weather' arguments break its parameters", "'city' is a required property", "town"],
    ),
    "bad-content": (
        chat("bad-content", response_format=ANSWER_FORMAT),
        ["content breaks the response_format json_schema", "answer: 'forty-two' is not of type"],
    ),
    "legacy-unoffered": (
        chat("legacy-unoffered", functions=[{"name": "search", "parameters": {"type": "object"}}]),
        ["function call 'lookup' is not offered by the request (offered: search)"],
    ),
    "not-json": (
        chat("not-json", response_format=ANSWER_FORMAT),
        ["content is not JSON but the request asks for response_format json_schema"],
    ),
}


@pytest.mark.parametrize("name", DRIFTS)
async def test_drift_is_a_warning_by_default(
    make_client: MakeClient, tmp_path: Path, name: str
) -> None:
    client = await serve_yaml(make_client, tmp_path, DRIFT_FIXTURES)
    body, expected = DRIFTS[name]
    _, response = await reply_json(client, body)
    warning = response.headers[WARNING]
    for words in expected:
        assert words in warning
    _, streamed = await reply_stream(client, body)
    assert streamed.headers[WARNING] == warning


@pytest.mark.parametrize("name", DRIFTS)
async def test_drift_is_an_error_under_strict(
    make_client: MakeClient, tmp_path: Path, name: str
) -> None:
    client = await serve_yaml(make_client, tmp_path, DRIFT_FIXTURES, strict=True)
    body, expected = DRIFTS[name]
    for stream in (False, True):
        response = await ask(client, {**body, "stream": stream})
        error = await error_of(response, 400)
        assert error["code"] == "fixture_drift"
        assert error["type"] == "invalid_request_error"
        assert f"'{name}'" in error["message"]
        for words in expected:
            assert words in error["message"]
        assert response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize("strict", [False, True])
async def test_no_drift_no_warning(make_client: MakeClient, tmp_path: Path, strict: bool) -> None:
    client = await serve_yaml(make_client, tmp_path, DRIFT_FIXTURES, strict=strict)
    payload, response = await reply_json(client, chat("faithful", tools=[WEATHER_TOOL]))
    assert WARNING not in response.headers
    assert payload["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    _, response = await reply_json(client, chat("generated, not scripted", tools=[tool("x")]))
    assert WARNING not in response.headers


# --- 7. forcing and strict fixtures -----------------------------------------------------------

NAMED_FIXTURES = """
- name: weather-call
  match: {last_user: {contains: weather}}
  reply: {content: weather-call}
- name: weather-answer
  match: {last_message: {role: tool}}
  reply: {content: weather-answer}
- name: greeting
  match: {last_user: hi, model: gpt-4o}
  reply: {content: greeting}
"""


async def test_force_a_fixture_by_name(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(make_client, tmp_path, NAMED_FIXTURES)
    unrelated = chat("nothing matches this", model="o3-mini")
    assert await content_of(client, unrelated, {FORCE: "weather-answer"}) == "weather-answer"
    assert await content_of(client, chat("hi"), {FORCE: "weather-call"}) == "weather-call"
    assert await content_of(client, chat("hi")) == "greeting"


async def test_forcing_an_unknown_fixture(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(make_client, tmp_path, NAMED_FIXTURES)
    response = await ask(client, chat("hi"), {FORCE: "weather-cal"})
    error = await error_of(response, 400)
    assert error["code"] == "unknown_fixture"
    assert error["param"] == FORCE
    assert "'weather-cal'" in error["message"]
    closest = error["message"].split("Closest names:")[1]
    assert closest.index("weather-call") < closest.index("weather-answer")
    assert "greeting" not in closest


async def test_strict_fixtures_unmatched_is_404(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(make_client, tmp_path, NAMED_FIXTURES, strict_fixtures=True)
    assert await content_of(client, chat("hi")) == "greeting"
    response = await ask(client, chat("hi", model="o3-mini"))
    error = await error_of(response, 404)
    assert error["code"] == "fixture_not_matched"
    assert response.headers["x-should-retry"] == "false"
    message = error["message"]
    assert "--strict-fixtures" in message
    assert "greeting" in message
    assert "model equals 'gpt-4o', got 'o3-mini'" in message
    assert message.index("greeting") < message.index("weather-call"), "closest first"
    assert "last user message contains 'weather', got 'hi'" in message
    assert "fixtures.yaml:" in message, "where the fixture is written"


async def test_strict_fixtures_with_no_fixtures(make_client: MakeClient) -> None:
    client = await make_client(strict_fixtures=True)
    error = await error_of(await ask(client, chat()), 404)
    assert error["code"] == "fixture_not_matched"
    assert "no fixtures loaded" in error["message"]


# --- X-Mock-Matched ---------------------------------------------------------------------------


async def test_matched_header_names_the_answering_fixture(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - {name: scripted, match: {last_user: a}, reply: {content: a}}
        - {name: generator, match: {last_user: b}, reply: {generated: true}}
        - {name: failing, match: {last_user: c}, reply: {error: {status: 429}}}
        """,
    )
    _, response = await reply_json(client, chat("a"))
    assert response.headers[MATCHED] == "scripted"
    _, response = await reply_stream(client, chat("a"))
    assert response.headers[MATCHED] == "scripted"
    _, response = await reply_json(client, chat("b"))
    assert response.headers[MATCHED] == "generator"
    response = await ask(client, chat("c"))
    await error_of(response, 429)
    assert response.headers[MATCHED] == "failing"
    _, response = await reply_json(client, chat("a"), {FORCE: "generator"})
    assert response.headers[MATCHED] == "generator"
    _, response = await reply_json(client, chat("unmatched"))
    assert MATCHED not in response.headers

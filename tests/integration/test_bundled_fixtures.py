"""The bundled fixtures (fixtures/): each spec example is answered by the fixture written for it.

Every one of the spec's 20 request examples is posted to a server loaded with fixtures/ only;
the X-Mock-Matched header must name the intended fixture, the reply must satisfy the response
(or chunk) schema, and its content is spot-checked. The QA showcase fixtures and the files
themselves (`mockserver check`, the yaml-language-server modeline) are checked too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient
from openai import AsyncOpenAI

from mockserver.contract.schemas import load_schema
from mockserver.stubs.loader import fixture_files
from tests.conftest import AUTH, sse_chunks
from tests.support import VALID_BODY, assert_valid_completion, check_stream, post_chat

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
FIXTURE_SCHEMA = ROOT / "schemas" / "fixture.schema.json"
MATCHED = "X-Mock-Matched"

EXAMPLES: dict[str, dict[str, Any]] = {
    e["name"]: e["body"] for e in load_schema("spec_examples.json")["requests"]
}

# example name -> the fixture written to answer it.
INTENDED: dict[str, str] = {
    "schema example 1": "spec-schema-hello",
    "schema example 2": "spec-short-joke",
    "新手推荐:基础对话(非流)": "spec-basic-chat",
    "新手推荐:流式对话 · stream + stream_options.include_usage": "spec-stream-token",
    "进阶推荐:采样控制:temperature + top_p + stop": "spec-sampling-product-copy",
    "进阶推荐:工具调用(tools + tool_choice)": "spec-tools-weather-call",
    "进阶推荐:强制结构化输出(response_format)": "spec-structured-json-object",
    "进阶推荐:用思考模式(enable_thinking / extra_body.enable_thinking)": (
        "spec-thinking-qwen-throughput"
    ),
    "进阶推荐:多模态示例:messages.content 里带图片(image_url": "spec-multimodal-image-describe",
    "进阶推荐:联网/搜索选项(web_search_options)": "spec-search-ai-agent-articles",
    "进阶推荐:图文对话(流式)· stream + image_url.url": "spec-multimodal-describe-stream",
    "进阶推荐:图文对话(流式)· stream + image_url(base64)": "spec-multimodal-base64-pixel",
    # The spec gives these two examples the very same body: one fixture answers both.
    "新手推荐:图文对话(非流式)· messages[].content + image_url.url": (
        "spec-multimodal-image-summary"
    ),
    "进阶推荐:对话生图(非流式)· extra_body.google.response_modalities + image_config": (
        "spec-multimodal-image-summary"
    ),
    "进阶推荐:多候选回复 · n": "spec-n-two-choices",
    "进阶推荐:Function Calling(旧版)· functions + tool_choice": "spec-legacy-function-call",
    "进阶推荐:控制推理模型努力程度(reasoning_effort)": "spec-reasoning-effort-odd-square",
    "进阶推荐:机器翻译 · model(qwen-mt) + messages": "spec-translation-qwen-mt",
    "进阶推荐:DeepSeek 推理对话(流式)· stream + extra_body.enable_thinking": (
        "spec-thinking-deepseek-monty-hall"
    ),
    "进阶推荐:DeepSeek-OCR 识文 · image_url + 识图提示词": "spec-ocr-document-scan",
}


@dataclass
class Answer:
    """What one reply said, JSON or streamed, after its schema checks."""

    matched: str | None
    choices: list[dict[str, Any]]  # message-shaped: content, reasoning_content, tool_calls, ...
    finish_reasons: list[str]
    usage: dict[str, Any] | None
    chunks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def content(self) -> str:
        text = self.choices[0].get("content")
        assert isinstance(text, str), self.choices[0]
        return text


@pytest.fixture
async def bundled(make_client: MakeClient) -> TestClient[Any, Any]:
    """A server with the bundled fixtures and nothing else."""
    return await make_client(fixture_paths=(FIXTURES,))


def _from_chunks(chunks: list[dict[str, Any]], include_usage: bool) -> Answer:
    summary_choices: dict[int, dict[str, Any]] = {}
    finish: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            message = summary_choices.setdefault(choice["index"], {"content": None})
            delta = choice["delta"]
            for key in ("content", "reasoning_content"):
                if delta.get(key) is not None:
                    message[key] = (message.get(key) or "") + delta[key]
            if choice["finish_reason"] is not None:
                finish[choice["index"]] = choice["finish_reason"]
    usage = chunks[-1]["usage"] if include_usage else None
    return Answer(
        matched=None,
        choices=[summary_choices[i] for i in sorted(summary_choices)],
        finish_reasons=[finish[i] for i in sorted(finish)],
        usage=usage,
        chunks=chunks,
    )


async def ask(
    client: TestClient[Any, Any],
    body: dict[str, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST `body`, check 200 and the response or chunk schema, and return what it said."""
    response = await post_chat(client, body, {**AUTH, **(headers or {})})
    raw = await response.read()
    assert response.status == 200, raw
    if body.get("stream") is True:
        assert response.content_type == "text/event-stream"
        include_usage = (body.get("stream_options") or {}).get("include_usage") is True
        chunks = sse_chunks(raw)
        check_stream(chunks, chunk_schema, include_usage=include_usage)  # every chunk's schema
        answer = _from_chunks(chunks, include_usage)
    else:
        assert response.content_type == "application/json"
        reply = json.loads(raw)
        assert_valid_completion(reply, completion_schema)
        answer = Answer(
            matched=None,
            choices=[c["message"] for c in reply["choices"]],
            finish_reasons=[c["finish_reason"] for c in reply["choices"]],
            usage=reply["usage"],
        )
    answer.matched = response.headers.get(MATCHED)
    return answer


# --- the 20 spec examples ------------------------------------------------------------------------


def test_every_spec_example_has_an_intended_fixture() -> None:
    assert len(EXAMPLES) == 20
    assert set(INTENDED) == set(EXAMPLES)


@pytest.mark.parametrize("name", list(INTENDED))
async def test_spec_example_is_answered_by_its_fixture(
    bundled: TestClient[Any, Any],
    name: str,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    body = EXAMPLES[name]
    answer = await ask(bundled, body, completion_schema, chunk_schema)
    assert answer.matched == INTENDED[name]
    assert len(answer.choices) == body.get("n", 1)
    for choice in answer.choices:
        said = choice.get("content") or choice.get("tool_calls") or choice.get("function_call")
        assert said, choice


async def _example(
    client: TestClient[Any, Any],
    name: str,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> Answer:
    answer = await ask(client, EXAMPLES[name], completion_schema, chunk_schema)
    assert answer.matched == INTENDED[name]
    return answer


async def test_basic_chat_is_the_specs_cat_girl_answer(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    answer = await _example(bundled, "新手推荐:基础对话(非流)", completion_schema, chunk_schema)
    spec_content = load_schema("spec_examples.json")["responses"][0]["choices"][0]["message"][
        "content"
    ]
    trimmed = "\n".join(line.rstrip() for line in spec_content.split("\n"))
    assert answer.content == trimmed
    assert answer.finish_reasons == ["stop"]


async def test_streamed_examples_stream_text_and_usage(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    joke = await _example(bundled, "schema example 2", completion_schema, chunk_schema)
    assert "Oct 31 == Dec 25" in joke.content
    assert joke.usage is not None
    assert joke.usage["completion_tokens"] > 0
    assert len(joke.chunks) > 3, "the content comes in several pieces"

    name = "新手推荐:流式对话 · stream + stream_options.include_usage"
    token = await _example(bundled, name, completion_schema, chunk_schema)
    assert token.content.count("。") == 3, "exactly three sentences"
    assert "token" in token.content.lower()
    assert "例如" in token.content
    assert token.usage is not None


async def test_sampling_example_copy_holds_no_stop_sequence(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    name = "进阶推荐:采样控制:temperature + top_p + stop"
    assert EXAMPLES[name]["stop"] == ["\n\n", "STOP"]
    answer = await _example(bundled, name, completion_schema, chunk_schema)
    for stop in EXAMPLES[name]["stop"]:
        assert stop not in answer.content
    assert 0 < len(answer.content) <= 200
    assert answer.finish_reasons == ["stop"]


async def test_weather_tool_scenario(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    """First the get_weather call; with the tool's result sent back, an answer that uses it."""
    name = "进阶推荐:工具调用(tools + tool_choice)"
    first = await _example(bundled, name, completion_schema, chunk_schema)
    message = first.choices[0]
    assert first.finish_reasons == ["tool_calls"]
    assert message["content"] is None
    [call] = message["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "北京"}

    result = json.dumps(
        {"city": "北京", "weather": "晴", "temperature": "26°C", "wind": "北风 2 级"},
        ensure_ascii=False,
    )
    body = EXAMPLES[name]
    follow_up = {
        **body,
        "messages": [
            *body["messages"],
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": result},
        ],
    }
    second = await ask(bundled, follow_up, completion_schema, chunk_schema)
    assert second.matched == "spec-tools-weather-answer"
    assert second.finish_reasons == ["stop"]
    assert "tool_calls" not in second.choices[0]
    assert result in second.content
    assert "北京" in second.content


async def test_legacy_functions_get_a_function_call(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    name = "进阶推荐:Function Calling(旧版)· functions + tool_choice"
    answer = await _example(bundled, name, completion_schema, chunk_schema)
    message = answer.choices[0]
    assert answer.finish_reasons == ["function_call"]
    assert "tool_calls" not in message
    assert message["function_call"]["name"] == "get_weather"
    assert json.loads(message["function_call"]["arguments"]) == {"city": "北京"}


async def test_json_object_example_content_is_the_asked_json(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    name = "进阶推荐:强制结构化输出(response_format)"
    answer = await _example(bundled, name, completion_schema, chunk_schema)
    document = json.loads(answer.content)
    assert set(document) == {"title", "bullets"}
    assert isinstance(document["title"], str)
    assert "接口文档" in document["title"]
    assert len(document["bullets"]) >= 2
    assert all(isinstance(b, str) and b for b in document["bullets"])


async def test_thinking_examples_carry_reasoning_content(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    name = "进阶推荐:用思考模式(enable_thinking / extra_body.enable_thinking)"
    qwen = await _example(bundled, name, completion_schema, chunk_schema)
    assert qwen.choices[0]["reasoning_content"]
    assert "36000" in qwen.content
    assert qwen.usage is not None
    assert qwen.usage["completion_tokens_details"]["reasoning_tokens"] > 0

    name = "进阶推荐:控制推理模型努力程度(reasoning_effort)"
    o3 = await _example(bundled, name, completion_schema, chunk_schema)
    assert o3.choices[0]["reasoning_content"]
    assert "n = 2k + 1" in o3.content
    assert "2(2k² + 2k) + 1" in o3.content

    name = "进阶推荐:DeepSeek 推理对话(流式)· stream + extra_body.enable_thinking"
    deepseek = await _example(bundled, name, completion_schema, chunk_schema)
    assert deepseek.choices[0]["reasoning_content"]
    assert "改选 1 号" in deepseek.content
    assert "2/3" in deepseek.content
    deltas = [c["choices"][0]["delta"] for c in deepseek.chunks if c["choices"]]
    kinds = [k for d in deltas for k in ("reasoning_content", "content") if d.get(k)]
    assert kinds == sorted(kinds, key=lambda k: k == "content"), "thinking streams first"


async def test_thinking_fixture_needs_thinking_enabled(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    """Where the OpenAI SDKs put extra_body (the top level) counts; no flag at all does not."""
    body = EXAMPLES["进阶推荐:用思考模式(enable_thinking / extra_body.enable_thinking)"]
    plain = {k: v for k, v in body.items() if k != "extra_body"}
    top_level = await ask(
        bundled, {**plain, "enable_thinking": True}, completion_schema, chunk_schema
    )
    assert top_level.matched == "spec-thinking-qwen-throughput"
    without = await ask(bundled, plain, completion_schema, chunk_schema)
    assert without.matched is None


async def test_image_examples(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    name = "进阶推荐:图文对话(流式)· stream + image_url(base64)"
    pixel = await _example(bundled, name, completion_schema, chunk_schema)
    assert "1\u00d71" in pixel.content
    assert "没有文字" in pixel.content

    name = "新手推荐:图文对话(非流式)· messages[].content + image_url.url"
    summary = await _example(bundled, name, completion_schema, chunk_schema)
    points = [line for line in summary.content.split("\n") if line[:2] in {"1.", "2.", "3."}]
    assert len(points) == 3, "answered in points"

    name = "进阶推荐:DeepSeek-OCR 识文 · image_url + 识图提示词"
    ocr = await _example(bundled, name, completion_schema, chunk_schema)
    assert ocr.content.startswith("关于2025年春节放假安排的通知")


async def test_base64_answer_is_kept_for_one_pixel_images(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    """The same question about another PNG is not answered with "a single pixel"."""
    body = json.loads(json.dumps(EXAMPLES["进阶推荐:图文对话(流式)· stream + image_url(base64)"]))
    # A white 8x8 PNG: same signature, but IHDR width and height 8.
    body["messages"][0]["content"][1]["image_url"]["url"] = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAYAAADED76LAAAAD0lEQVR4nGP4TwAw"
        "jAwFAIS1/wF0QtmAAAAAAElFTkSuQmCC"
    )
    answer = await ask(bundled, body, completion_schema, chunk_schema)
    assert answer.matched is None


async def test_search_annotations_point_at_the_cited_titles(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    name = "进阶推荐:联网/搜索选项(web_search_options)"
    answer = await _example(bundled, name, completion_schema, chunk_schema)
    annotations = answer.choices[0]["annotations"]
    assert len(annotations) == 3
    for annotation in annotations:
        assert annotation["type"] == "url_citation"
        citation = annotation["url_citation"]
        cited = answer.content[citation["start_index"] : citation["end_index"]]
        assert cited == citation["title"]
        assert citation["url"].startswith("https://")


async def test_n_example_gets_two_different_choices(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    name = "进阶推荐:多候选回复 · n"
    answer = await _example(bundled, name, completion_schema, chunk_schema)
    first, second = (c["content"] for c in answer.choices)
    assert first != second
    assert all("API 网关" in c["content"] for c in answer.choices)
    single = {k: v for k, v in EXAMPLES[name].items() if k != "n"}
    one = await ask(bundled, single, completion_schema, chunk_schema)
    assert one.matched == "spec-api-gateway-one-sentence"
    assert len(one.choices) == 1


async def test_translation_is_only_the_translation(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    name = "进阶推荐:机器翻译 · model(qwen-mt) + messages"
    answer = await _example(bundled, name, completion_schema, chunk_schema)
    assert answer.content == "你好，欢迎使用我们的 API 平台。"


async def test_spec_fixtures_do_not_hijack_other_requests(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    plain = await ask(bundled, VALID_BODY, completion_schema, chunk_schema)
    assert plain.matched is None
    hello = {"model": "gpt-4o", "messages": [{"role": "user", "content": "你好"}]}
    no_system = await ask(bundled, hello, completion_schema, chunk_schema)
    assert no_system.matched == "welcome-greeting-zh", "spec-schema-hello needs its system prompt"
    other_model = {**EXAMPLES["schema example 2"], "model": "gpt-4o-mini"}
    answer = await ask(bundled, other_model, completion_schema, chunk_schema)
    assert answer.matched == "welcome-short-joke", "spec-short-joke is for gpt-4o"
    longer = {"model": "gpt-4o", "messages": [{"role": "user", "content": "你好，帮我写首诗"}]}
    assert (await ask(bundled, longer, completion_schema, chunk_schema)).matched is None


# What the READMEs send first (issue #12.7): a realistic answer, whatever the model and with no
# system prompt, through the openai SDK.
README_PROMPTS = {
    "你好": "你好！我是你的 AI 助手",
    "hi": "Hello! I'm your AI assistant.",
    "讲一个短笑话": "Oct 31 == Dec 25",
    "帮我总结一下HTTP是什么。": "超文本传输协议",
}


def test_the_readme_prompts_are_the_ones_checked() -> None:
    root = FIXTURES.parent
    readme = (root / "README.md").read_text("utf-8")
    first_steps = readme[readme.index("## Point your client at it") : readme.index("## Options")]
    first_steps += (root / "README.zh-CN.md").read_text("utf-8")
    sent = set(re.findall(r'"role": ?"user", ?"content": ?"([^"]+)"', first_steps))
    sent |= set(re.findall(r'prompt: "([^"]+)"', first_steps))
    assert sent == set(README_PROMPTS), "a README example changed: update README_PROMPTS"


@pytest.mark.parametrize("model", ["gpt-4o", "deepseek-chat"])
@pytest.mark.parametrize("prompt", list(README_PROMPTS))
async def test_readme_prompts_get_realistic_answers(
    bundled: TestClient[Any, Any], prompt: str, model: str
) -> None:
    base_url = str(bundled.make_url("/v1"))
    async with AsyncOpenAI(base_url=base_url, api_key="sk-mock", max_retries=0) as client:
        reply = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}]
        )
        stream = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}], stream=True
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    text = reply.choices[0].message.content
    assert text is not None
    assert README_PROMPTS[prompt] in text
    assert streamed == text


# --- the QA showcase fixtures --------------------------------------------------------------------


async def test_qa_rate_limit_once_then_recovered(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    headers = {**AUTH, "X-Test-Case": "rate-limit"}
    response = await post_chat(bundled, VALID_BODY, headers)
    payload = await response.json()
    assert response.status == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert payload["error"]["code"] == "rate_limit_exceeded"
    assert "gpt-4o" in payload["error"]["message"]
    retry = await ask(bundled, VALID_BODY, completion_schema, chunk_schema, headers)
    assert retry.matched == "qa-rate-limit-recovered"
    assert retry.content


async def test_qa_server_error_and_flaky_sequence(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    response = await post_chat(bundled, VALID_BODY, {**AUTH, "X-Test-Case": "server-error"})
    assert response.status == 500
    assert (await response.json())["error"]["type"] == "server_error"

    flaky = {**AUTH, "X-Test-Case": "flaky"}
    statuses = [(await post_chat(bundled, VALID_BODY, flaky)).status for _ in range(2)]
    assert statuses == [503, 500]
    for _ in range(2):  # after_last: repeat
        answer = await ask(bundled, VALID_BODY, completion_schema, chunk_schema, flaky)
        assert answer.matched == "qa-flaky-then-ok"
        assert "成功" in answer.content


async def test_qa_echo_and_body_predicate(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    echo = {"model": "qwen-plus", "messages": [{"role": "user", "content": "echo: 你好，世界"}]}
    answer = await ask(bundled, echo, completion_schema, chunk_schema)
    assert answer.matched == "qa-echo"
    assert "「你好，世界」" in answer.content
    assert "qwen-plus" in answer.content

    sampling = {**AUTH, "X-Test-Case": "sampling"}
    cold = await ask(
        bundled, {**VALID_BODY, "temperature": 0.2}, completion_schema, chunk_schema, sampling
    )
    assert cold.matched == "qa-low-temperature"
    assert "0.2" in cold.content
    warm = await ask(
        bundled, {**VALID_BODY, "temperature": 0.9}, completion_schema, chunk_schema, sampling
    )
    assert warm.matched == "qa-high-temperature"


async def test_qa_content_filter(
    bundled: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    headers = {"X-Test-Case": "content-filter"}
    answer = await ask(bundled, VALID_BODY, completion_schema, chunk_schema, headers)
    assert answer.matched == "qa-content-filter"
    assert answer.finish_reasons == ["content_filter"]


# --- the files -----------------------------------------------------------------------------------


def test_mockserver_check_accepts_the_bundled_fixtures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "check", "fixtures"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no problems" in result.stdout


def test_every_bundled_file_has_the_schema_modeline() -> None:
    files = fixture_files([FIXTURES])
    assert len(files) >= 9
    for file in files:
        lines = file.read_text(encoding="utf-8").splitlines()
        relative = Path(os.path.relpath(FIXTURE_SCHEMA, file.parent)).as_posix()
        assert lines[0] == f"# yaml-language-server: $schema={relative}", file
        assert (file.parent / relative).resolve() == FIXTURE_SCHEMA
        assert lines[1].startswith("#"), f"{file}: say what the file covers"

"""The agent and structured-output libraries themselves against generated replies (issue #11):
no fixtures, a real server on a socket, each library's own client. They need the `agents` extra,
which pins openai 3.x (openai-agents wants it); `.ci/run` installs it in a separate virtualenv
and runs this folder there. Elsewhere the module skips."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from mockserver.testing.runner import MockServer

pytest.importorskip("pydantic_ai")
pytest.importorskip("instructor")
pytest.importorskip("agents")
pytest.importorskip("dspy")
pytest.importorskip("litellm")

import dspy
import instructor
import litellm
from agents import (
    Agent as OpenAIAgent,
)
from agents import (
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI
from pydantic_ai import Agent, PromptedOutput
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.usage import UsageLimits

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.timeout(120),
]
MODEL = "gpt-4o"
KEY = "sk-test"


class CityInfo(BaseModel):
    city: str
    country: str
    population: int
    sights: list[str]


class User(BaseModel):
    name: str
    age: int


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


@pytest.fixture
async def sdk(server: MockServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as client:
        yield client


def _requests(server: MockServer) -> list[dict[str, Any]]:
    entries = server.admin.requests()
    return [json.loads(json.dumps(e["request"]["body"])) for e in entries]


# pydantic-ai


def _pydantic_model(sdk: AsyncOpenAI) -> OpenAIChatModel:
    return OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=sdk))


def _agent_tools(agent: Agent[None, Any]) -> list[str]:
    called: list[str] = []

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        called.append("get_weather")
        return f"Sunny, 21 degrees in {city}"

    @agent.tool_plain
    def get_population(city: str) -> int:
        """Population of a city."""
        called.append("get_population")
        return 2_100_000

    @agent.tool_plain
    def list_sights(city: str, limit: int = 3) -> list[str]:
        """Famous sights of a city."""
        called.append("list_sights")
        return ["Louvre", "Eiffel Tower"][:limit]

    return called


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_pydantic_ai_tool_agent_with_structured_output_finishes(
    sdk: AsyncOpenAI, stream: bool
) -> None:
    """Three tools plus the output tool (final_result): the run ends with a CityInfo."""
    agent: Agent[None, CityInfo] = Agent(_pydantic_model(sdk), output_type=CityInfo)
    called = _agent_tools(agent)
    limits = UsageLimits(request_limit=6)
    prompt = "Tell me about Paris: the weather, its population and its sights."
    if stream:
        async with agent.run_stream(prompt, usage_limits=limits) as run:
            output = await run.get_output()
    else:
        output = (await agent.run(prompt, usage_limits=limits)).output
    assert isinstance(output, CityInfo)
    assert output.sights, "a full object: the list has items"
    assert len(called) == len(set(called)), f"no tool twice: {called}"


async def test_pydantic_ai_prompted_output_parses(sdk: AsyncOpenAI) -> None:
    agent: Agent[None, CityInfo] = Agent(_pydantic_model(sdk), output_type=PromptedOutput(CityInfo))
    result = await agent.run("Tell me about Lyon.", usage_limits=UsageLimits(request_limit=2))
    assert isinstance(result.output, CityInfo)


async def test_pydantic_ai_prompted_output_with_tools_finishes(sdk: AsyncOpenAI) -> None:
    agent: Agent[None, CityInfo] = Agent(_pydantic_model(sdk), output_type=PromptedOutput(CityInfo))
    called = _agent_tools(agent)
    result = await agent.run(
        "What is the weather in Nice?", usage_limits=UsageLimits(request_limit=4)
    )
    assert isinstance(result.output, CityInfo)
    assert called


# instructor


@pytest.mark.parametrize(
    "mode", [instructor.Mode.TOOLS, instructor.Mode.JSON, instructor.Mode.MD_JSON]
)
async def test_instructor_iterable_returns_items(sdk: AsyncOpenAI, mode: instructor.Mode) -> None:
    client = instructor.from_openai(sdk, mode=mode)
    users = await client.chat.completions.create(
        model=MODEL,
        response_model=Iterable[User],
        messages=[{"role": "user", "content": "Extract: Ann is 31, Bo is 42."}],
        max_retries=0,
    )
    # async instructor yields the items of an Iterable as they are parsed
    items = [u async for u in users] if hasattr(users, "__aiter__") else list(users)
    assert items
    assert all(isinstance(u, User) for u in items)


@pytest.mark.parametrize("mode", [instructor.Mode.TOOLS, instructor.Mode.JSON])
async def test_instructor_iterable_streamed(sdk: AsyncOpenAI, mode: instructor.Mode) -> None:
    client = instructor.from_openai(sdk, mode=mode)
    stream = client.chat.completions.create_iterable(
        model=MODEL,
        response_model=User,
        messages=[{"role": "user", "content": "Extract: Ann is 31, Bo is 42."}],
        stream=True,
        max_retries=0,
    )
    items = [user async for user in stream]
    assert items
    assert all(isinstance(u, User) for u in items)


@pytest.mark.parametrize(
    "mode", [instructor.Mode.JSON, instructor.Mode.MD_JSON, instructor.Mode.JSON_SCHEMA]
)
async def test_instructor_prompted_modes_parse(sdk: AsyncOpenAI, mode: instructor.Mode) -> None:
    client = instructor.from_openai(sdk, mode=mode)
    info = await client.chat.completions.create(
        model=MODEL,
        response_model=CityInfo,
        messages=[{"role": "user", "content": "Tell me about Lyon."}],
        max_retries=0,
    )
    assert isinstance(info, CityInfo)


# openai-agents


async def test_openai_agents_tool_agent_with_output_type_finishes(sdk: AsyncOpenAI) -> None:
    set_tracing_disabled(True)
    called: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        called.append("get_weather")
        return f"Sunny in {city}"

    @function_tool
    def get_population(city: str) -> int:
        """Population of a city."""
        called.append("get_population")
        return 500_000

    agent = OpenAIAgent(
        name="guide",
        instructions="Answer with facts about the city.",
        tools=[get_weather, get_population],
        output_type=CityInfo,
        model=OpenAIChatCompletionsModel(model=MODEL, openai_client=sdk),
    )
    result = await Runner.run(agent, "Weather and population of Lyon?", max_turns=5)
    assert isinstance(result.final_output, CityInfo)
    assert called
    assert len(called) == len(set(called))


# litellm


async def test_litellm_tool_round_trip(server: MockServer) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather in a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    common = {"model": f"openai/{MODEL}", "api_base": server.base_url, "api_key": KEY}
    first = await litellm.acompletion(messages=messages, tools=tools, **common)
    calls = first.choices[0].message.tool_calls
    assert calls
    messages.append(first.choices[0].message.model_dump())
    messages += [
        {"role": "tool", "tool_call_id": c.id, "content": "Sunny, 21 degrees"} for c in calls
    ]
    second = await litellm.acompletion(messages=messages, tools=tools, **common)
    assert second.choices[0].message.content
    assert not second.choices[0].message.tool_calls


# DSPy


@pytest.fixture
def lm(server: MockServer) -> dspy.LM:
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    return dspy.LM(f"openai/{MODEL}", api_base=server.base_url, api_key=KEY, cache=False)


def test_dspy_predict_with_typed_fields(lm: dspy.LM) -> None:
    class Classify(dspy.Signature):
        """Classify the sentiment of a sentence."""

        sentence: str = dspy.InputField()
        sentiment: Literal["positive", "negative", "neutral"] = dspy.OutputField()
        confidence: float = dspy.OutputField()
        keywords: list[str] = dspy.OutputField()

    with dspy.context(lm=lm):
        prediction = dspy.ChainOfThought(Classify)(sentence="What a lovely day.")
    assert prediction.sentiment in ("positive", "negative", "neutral")
    assert isinstance(prediction.confidence, float)
    assert prediction.keywords
    assert prediction.reasoning


def test_dspy_react_agent_finishes(lm: dspy.LM) -> None:
    searched: list[str] = []

    def search(query: str) -> str:
        """Search the web for a query."""
        searched.append(query)
        return "Paris is the capital of France."

    react = dspy.ReAct("question -> answer", tools=[search], max_iters=5)
    with dspy.context(lm=lm):
        prediction = react(question="What is the capital of France?")
    assert prediction.answer
    assert searched, "the agent used its tool before finishing"
    steps = [k for k in prediction.trajectory if k.startswith("tool_name_")]
    assert prediction.trajectory[steps[-1]] == "finish"
    assert len(steps) < 5, "finished before max_iters"

"""llama-index against generated replies (issue #11). It wants openai 2.x where the other agent
libraries want 3.x, so it has its own extra (`llama-index`) and virtualenv, run by `.ci/run`
when MOCKSERVER_LLAMA_INDEX=1. Elsewhere the module skips."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from mockserver.testing.runner import MockServer

pytest.importorskip("llama_index.llms.openai")
pytest.importorskip("llama_index.core.agent.workflow")

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.prompts import PromptTemplate
from llama_index.llms.openai import OpenAI

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.timeout(120),
]


class CityInfo(BaseModel):
    city: str
    population: int
    sights: list[str]


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


@pytest.fixture
def llm(server: MockServer) -> OpenAI:
    return OpenAI(model="gpt-4o", api_base=server.base_url, api_key="sk-test", max_retries=0)


async def test_structured_predict(llm: OpenAI) -> None:
    info = await llm.astructured_predict(
        CityInfo, PromptTemplate("Tell me about {city}."), city="Lyon"
    )
    assert isinstance(info, CityInfo)
    assert info.sights


async def test_function_agent_with_tools_finishes(llm: OpenAI) -> None:
    called: list[str] = []

    def get_weather(city: str) -> str:
        """Current weather in a city."""
        called.append("get_weather")
        return f"Sunny in {city}"

    def get_population(city: str) -> int:
        """Population of a city."""
        called.append("get_population")
        return 500_000

    agent = FunctionAgent(tools=[get_weather, get_population], llm=llm)
    response = await agent.run("What is the weather and population of Lyon?", max_iterations=6)
    assert str(response)
    assert called
    assert len(called) == len(set(called)), f"no tool twice: {called}"

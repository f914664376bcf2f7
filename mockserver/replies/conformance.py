"""Whether what the mock sends fits a contract document's response schema (serve/check --spec).

The bundled contract needs no such check at run time: the test suite holds every reply to it.
A document given with --spec may differ: a field it requires that the mock cannot know is said
once (about a generated reply); a scripted reply that breaks the document in its own way (a
finish_reason it no longer lists, content longer than it allows) is the fixture's problem, with
its place. Steps with templates are skipped: what they send depends on the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from random import Random

from jsonschema import ValidationError

from mockserver.contract.request import ChatRequest
from mockserver.contract.schemas import Contract
from mockserver.replies.generated import TextGenerator, generate
from mockserver.replies.scripted import completion_from
from mockserver.stubs.model import Fixture, Problem
from mockserver.stubs.steps import CompletionStep
from mockserver.stubs.templates import Rendering, has_compiled_template

SAMPLE = ChatRequest({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}, {})
Key = tuple[tuple[str | int, ...], str]


def _where(error: ValidationError) -> str:
    return "".join(f"/{p}" for p in error.absolute_path) or "/"


def generated_reply_errors(contract: Contract) -> list[ValidationError]:
    reply = generate(SAMPLE, TextGenerator(cache_size=1), 0).to_json()
    return list(contract.response.iter_errors(reply))


def generated_reply_warnings(contract: Contract) -> list[str]:
    return [
        f"the mock's replies break the document's response schema at {_where(e)}: {e.message}"
        for e in generated_reply_errors(contract)
    ]


def fixture_reply_problems(fixtures: Iterable[Fixture], contract: Contract) -> list[Problem]:
    """Each template-free scripted completion, as the mock would send it, that breaks the
    document's response schema in a way a generated reply does not."""
    known: set[Key] = {
        (tuple(e.absolute_path), e.message) for e in generated_reply_errors(contract)
    }
    problems = []
    for fixture in fixtures:
        file, _, line = fixture.source.rpartition(":")
        for step in fixture.replies:
            if not isinstance(step, CompletionStep) or has_compiled_template(step):
                continue
            body = completion_from(step, SAMPLE, Random(0), Rendering({}, step.at)).to_json()
            for error in contract.response.iter_errors(body):
                if (tuple(error.absolute_path), error.message) in known:
                    continue
                message = (
                    f"the reply breaks the response schema at {_where(error)}: {error.message}"
                )
                problems.append(
                    Problem(
                        file or fixture.source,
                        int(line) if line.isdigit() else None,
                        step.at,
                        message,
                    )
                )
    return problems

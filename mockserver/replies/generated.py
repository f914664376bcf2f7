"""Generated replies: what the real API would plausibly answer when no fixture does.

Text in Chinese when the last user message is Chinese, English otherwise; tool calls, legacy
function calls, JSON content, reasoning and cited search answers when the request asks for them
(tool_calls.py, structured.py, reasoning.py, search.py). The same body and seed give the same
reply: the random source is keyed by the request's `seed` (else the server's --seed) and a digest
of the body without its streaming fields, so a streamed and a plain request agree.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from random import Random
from typing import Any

from faker import Faker

from mockserver.contract.request import ChatRequest
from mockserver.contract.rules import MAX_CHOICES
from mockserver.replies import tokens
from mockserver.replies.completion import (
    Choice,
    Completion,
    ToolCall,
    Usage,
    completion_tokens,
    latency_checkpoint,
    new_id,
)
from mockserver.replies.logprobs import token_logprobs
from mockserver.replies.reasoning import PARAGRAPHS, thinking_effort
from mockserver.replies.schema_values import Budget
from mockserver.replies.search import cited_answer, wants_search
from mockserver.replies.structured import PromptedReader, prompted_reader, structured_content
from mockserver.replies.tool_calls import (
    Offered,
    Plan,
    arguments_for,
    last_tool_result,
    make_calls,
    planned_function,
    tool_plan,
)
from mockserver.wire import json_bytes

DISTINCT_CHOICES = 8  # n beyond this repeats earlier choices: bounded work per request
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_EN_OPENERS = ("Sure!", "Good question.", "Here is a short answer.", "Of course.")
_ZH_OPENERS = ("好的！", "当然可以。", "这是个好问题。", "简单来说，")


CACHE_CHARS = 16_000_000  # characters of cached replies, all entries together


def _chars(choice: Choice) -> int:
    text = len(choice.content or "") + len(choice.reasoning_content or "")
    return text + sum(len(call.arguments) + len(call.name) for call in choice.calls)


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


class _Lorem:
    """One language's lorem words, drawn exactly as Faker's lorem provider draws them (the same
    calls on the same Random over its word list: tests/unit/test_lorem.py checks the two agree)
    without what Faker spends per call: lookups through its proxy, and a copy of the whole word
    list (get_words_list) for every sentence. About half of a generated reply's CPU was that."""

    def __init__(self, fake: Faker) -> None:
        words: Any = fake.words  # a method of the locale's lorem provider
        provider = words.__self__
        self._words: tuple[str, ...] = tuple(provider.word_list)
        self._connector: str = provider.word_connector
        self._end: str = provider.sentence_punctuation

    def words(self, rng: Random, count: int) -> list[str]:
        """Faker's words(count): with replacement, one draw per word."""
        if count == 1:
            return [rng.choice(self._words)]
        return rng.choices(self._words, k=count)

    def sentence(self, rng: Random, words: int) -> str:
        """Faker's sentence(nb_words=words): 60-140% of that many words, at least one, the
        first capitalised, then the locale's full stop."""
        count = max(int(words * rng.randint(60, 140) / 100), 1)
        chosen = self.words(rng, count)
        chosen[0] = chosen[0].title()
        return self._connector.join(chosen) + self._end


class TextGenerator:
    """Faker instances per language, built once: creating one costs tens of milliseconds."""

    def __init__(self, cache_size: int = 2048, cache_chars: int = CACHE_CHARS) -> None:
        self.en = Faker("en_US")
        self.zh = Faker("zh_CN")
        self._en_lorem, self._zh_lorem = _Lorem(self.en), _Lorem(self.zh)
        # Replies are a pure function of their seed key: identical requests (CI retries, the
        # same prompt in many tests) reuse the work. Least recently used first out, bounded in
        # entries and in the characters they hold (a reply may carry up to MAX_CHARS).
        self.cache: OrderedDict[str, tuple[tuple[Choice, ...], Usage]] = OrderedDict()
        self.cache_size = cache_size
        self.cache_chars = cache_chars
        self._sizes: dict[str, int] = {}
        self._held = 0

    def remember(self, key: str, value: tuple[tuple[Choice, ...], Usage]) -> None:
        size = sum(_chars(choice) for choice in value[0])
        if key in self.cache or size > self.cache_chars // 16:
            return  # a huge reply would push out many small ones: not worth keeping
        self.cache[key] = value
        self._sizes[key] = size
        self._held += size
        while len(self.cache) > self.cache_size or self._held > self.cache_chars:
            old, _ = self.cache.popitem(last=False)
            self._held -= self._sizes.pop(old)

    def faker(self, chinese: bool, rng: Random) -> Faker:
        fake = self.zh if chinese else self.en
        fake.random = rng  # type: ignore[attr-defined]  # Faker's proxy forwards the setter
        return fake

    def sentence(self, chinese: bool, rng: Random) -> str:
        if not chinese:
            return self._en_lorem.sentence(rng, rng.randint(7, 14))
        words = self._zh_lorem.words(rng, rng.randint(4, 9))
        cut = rng.randint(1, len(words) - 1)
        return "".join(words[:cut]) + "，" + "".join(words[cut:]) + "。"

    def _title(self, chinese: bool, rng: Random) -> str:
        words = (self._zh_lorem if chinese else self._en_lorem).words(rng, 2)
        return "".join(words) if chinese else " ".join(words).capitalize()

    def answer(self, chinese: bool, rng: Random, lead: str = "") -> str:
        """A short Markdown answer: an opening line, a few numbered points, a closing line."""
        opener = lead or rng.choice(_ZH_OPENERS if chinese else _EN_OPENERS)
        colon, space = ("：", "") if chinese else (": ", " ")
        points = [
            f"{i}. **{self._title(chinese, rng)}**{colon}{self.sentence(chinese, rng)}"
            for i in range(1, rng.randint(2, 4) + 1)
        ]
        return (
            f"{opener}{space}{self.sentence(chinese, rng)}\n\n"
            + "\n".join(points)
            + f"\n\n{self.sentence(chinese, rng)}"
        )

    def reasoning(self, chinese: bool, rng: Random, paragraphs: int) -> str:
        starts = (
            ("首先，", "接着，", "另外，", "最后，")
            if chinese
            else ("First, ", "Next, ", "Also, ", "Finally, ")
        )
        return "\n\n".join(
            starts[i % len(starts)]
            + " ".join(self.sentence(chinese, rng) for _ in range(rng.randint(2, 3)))
            for i in range(paragraphs)
        )


def seed_key(request: ChatRequest, server_seed: int | None) -> str:
    """What the reply's randomness is keyed by: the seed in force, and the body."""
    # `seed` is in the key already, as a float: 3 and 3.0 are one seed (a float64 in the gateway).
    ignored = ("stream", "stream_options", "seed")
    body = {k: v for k, v in request.body.items() if k not in ignored}
    digest = hashlib.sha256(json_bytes.canonical(body)).hexdigest()
    if request.seed is not None:
        return f"request-seed:{request.seed}:{digest}"
    if server_seed is not None:
        return f"server-seed:{server_seed}:{digest}"
    return f"body:{digest}"


def limit(content: str, stop: tuple[str, ...], max_tokens: int | None) -> tuple[str, str]:
    """Apply stop sequences, then the token limit; return the content and its finish_reason."""
    cuts = [i for i in (content.find(s) for s in stop) if i >= 0]
    if cuts:
        content = content[: min(cuts)]
    if max_tokens is None:  # nothing to count against
        return content, "stop"
    pieces = tokens.split(content)
    if len(pieces) > max_tokens:
        return "".join(pieces[:max_tokens]), "length"
    return content, "stop"


def _text_choice(
    index: int,
    request: ChatRequest,
    text: TextGenerator,
    rng: Random,
    chinese: bool,
    reasoning: str | None,
    budget: int | None,
    work: Budget,
    prompted: PromptedReader,
) -> Choice:
    """A text choice within `budget` tokens (max_tokens less the reasoning), cut at stop."""
    fake = text.faker(chinese, rng)
    annotations: list[dict[str, object]] = []
    structured = structured_content(request, rng, fake, work, prompted)
    result = last_tool_result(request)
    if structured is not None:
        content = structured
    elif wants_search(request):
        lines = [text.sentence(chinese, rng) for _ in range(3)]
        content, annotations = cited_answer(lines, rng, text.faker(chinese, rng))
    elif result is not None:
        name, value = result
        lead = (
            f"根据 {name} 的返回结果（{value[:80]}），"
            if chinese
            else f"Based on the {name} result ({value[:80]}),"
        )
        content = text.answer(chinese, rng, lead)
    else:
        content = text.answer(chinese, rng)
    content, finish_reason = limit(content, request.stop, budget)
    kept = tuple(a for a in annotations if a["url_citation"]["end_index"] <= len(content))  # type: ignore[index]
    return Choice(
        index=index,
        content=content,
        finish_reason=finish_reason,
        reasoning_content=reasoning,
        annotations=kept,
    )


def _thinking_key(request: ChatRequest, server_seed: int | None) -> str:
    """The reasoning's randomness: the seed key of the body without its reasoning_effort, so a
    higher effort goes on with the same reasoning for more paragraphs (strictly more tokens)."""
    effortless = {k: v for k, v in request.body.items() if k != "reasoning_effort"}
    return seed_key(ChatRequest(body=effortless, headers=request.headers), server_seed)


def _reasoning(
    request: ChatRequest, text: TextGenerator, chinese: bool, thinking: Random
) -> str | None:
    """The reply's reasoning, within max_tokens: OpenAI counts reasoning tokens against it."""
    effort = thinking_effort(request)
    if not effort:
        return None
    reasoning = text.reasoning(chinese, thinking, PARAGRAPHS[effort])
    if request.max_tokens is not None:
        reasoning = "".join(tokens.split(reasoning)[: request.max_tokens])
    return reasoning


def _budget(request: ChatRequest, reasoning: str | None) -> int | None:
    """Completion tokens left for the answer once the reasoning is counted."""
    if request.max_tokens is None:
        return None
    return max(request.max_tokens - tokens.count(reasoning or ""), 0)


def _within(calls: tuple[ToolCall, ...], budget: int | None) -> tuple[tuple[ToolCall, ...], bool]:
    """The calls that fit in `budget` tokens of arguments, the last one cut short as OpenAI
    does at max_tokens (finish_reason length); True when something was cut."""
    if budget is None:
        return calls, False
    kept: list[ToolCall] = []
    for call in calls:
        pieces = tokens.split(call.arguments)
        if len(pieces) > budget:
            kept.append(dataclasses.replace(call, arguments="".join(pieces[:budget])))
            return tuple(kept), True
        budget -= len(pieces)
        kept.append(call)
    return tuple(kept), False


@dataclass(frozen=True, slots=True)
class _Reading:
    """What every choice of a reply reads from the request: read once, not once per choice
    (planning reads every offered description and the turn, the format up to five messages)."""

    tools: Plan
    function: Offered | None
    prompted: PromptedReader


def _choice(
    index: int,
    request: ChatRequest,
    text: TextGenerator,
    rng: Random,
    thinking: Random,
    work: Budget,
    reading: _Reading,
) -> Choice:
    """One choice; its schema-driven values spend from `work`, the whole reply's budget."""
    chinese = is_chinese(request.last_user_text)
    reasoning = _reasoning(request, text, chinese, thinking)
    budget = _budget(request, reasoning)
    tools = reading.tools.calls(rng)
    if tools:
        calls, cut = _within(make_calls(tools, rng, text.faker(chinese, rng), work), budget)
        return Choice(
            index=index,
            content=None,
            tool_calls=calls,
            finish_reason="length" if cut else "tool_calls",
            reasoning_content=reasoning,
        )
    function = reading.function
    if function is not None:
        arguments = arguments_for(function, rng, text.faker(chinese, rng), work)
        (call,), cut = _within((ToolCall(id="", name=function.name, arguments=arguments),), budget)
        return Choice(
            index=index,
            content=None,
            function_call=call,
            finish_reason="length" if cut else "function_call",
            reasoning_content=reasoning,
        )
    return _text_choice(
        index, request, text, rng, chinese, reasoning, budget, work, reading.prompted
    )


def _fresh_ids(choice: Choice) -> Choice:
    """Tool-call ids are per reply, even when the rest of the reply comes from the cache."""
    if not choice.tool_calls:
        return choice
    calls = tuple(dataclasses.replace(c, id=new_id("call_", 24)) for c in choice.tool_calls)
    return dataclasses.replace(choice, tool_calls=calls)


def with_logprobs(choice: Choice, request: ChatRequest, key: str) -> Choice:
    """The choice with an entry per content token when the request sets `logprobs: true`."""
    if request.body.get("logprobs") is not True:
        return choice
    temperature = request.body.get("temperature")
    entries = token_logprobs(
        choice.content or "",
        Random(f"{key}:logprobs:{choice.index}"),  # its own source: the content is unchanged
        _top_n(request.body.get("top_logprobs")),
        1.0 if temperature is None else float(temperature),
    )
    return dataclasses.replace(choice, logprobs=entries)


def _top_n(value: Any) -> int:
    """top_logprobs as a count: the logprobs-fields rule refuses anything else unless it is
    switched off, and then what is no number counts as 0."""
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def generate(
    request: ChatRequest,
    text: TextGenerator,
    server_seed: int | None,
    key: str | None = None,
    *,
    follow_prompt: bool = True,
) -> Completion:
    """n choices answering the whole request, with usage that adds up. `key`: seed_key's
    value when the caller has it already; `follow_prompt`: use an output format the messages
    prescribe (prompted.py; off with --disable-rule prompted-format)."""
    key = key or seed_key(request, server_seed)
    cached = text.cache.get(key)
    if cached is not None:
        text.cache.move_to_end(key)
        choices, usage = cached
        return Completion(model=request.model, choices=tuple(map(_fresh_ids, choices)), usage=usage)
    thinking = _thinking_key(request, server_seed) if thinking_effort(request) else key
    work = Budget()  # one for the whole reply: n choices share it
    reading = _Reading(  # and what the request asks of each of them, read once
        tool_plan(request),
        planned_function(request),
        prompted_reader(request, follow_prompt=follow_prompt),
    )
    distinct = [
        with_logprobs(
            _choice(
                index,
                request,
                text,
                Random(f"{key}:{index}"),
                Random(f"{thinking}:{index}"),
                work,
                reading,
            ),
            request,
            key,
        )
        for index in range(min(request.n, DISTINCT_CHOICES))
    ]
    choices = tuple(  # past DISTINCT_CHOICES the replies repeat: n=128 costs what n=8 does
        distinct[i]
        if i < len(distinct)
        else _fresh_ids(dataclasses.replace(distinct[i % len(distinct)], index=i))
        for i in range(min(request.n, MAX_CHOICES))
    )
    counts = [completion_tokens(c) for c in choices]
    total = sum(count for count, _ in counts)
    usage = Usage(
        prompt_tokens=tokens.prompt_tokens(request.messages, request.body.get("tools")),
        completion_tokens=total,
        reasoning_tokens=sum(reasoning for _, reasoning in counts),
        latency_checkpoint=latency_checkpoint(Random(key), total, request.model),
    )
    text.remember(key, (choices, usage))
    return Completion(model=request.model, choices=choices, usage=usage)

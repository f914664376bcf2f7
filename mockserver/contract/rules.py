"""Semantic rules: what the real API enforces and a JSON schema cannot say, each one named.

A rule is a function over a schema-valid body that yields Violations; `--disable-rule NAME`
switches one off (the AI SDK's openai-compatible `generateObject` sends json_object without the
word "json", for example).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mockserver.contract.images import InvalidImage, inspect_image_url
from mockserver.contract.request import text_of

MAX_CHOICES = 128  # OpenAI's documented maximum for n


@dataclass(frozen=True, slots=True)
class Violation:
    """One problem with a request: where (`param`, OpenAI path style), what, and a code."""

    param: str | None
    message: str
    code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"param": self.param, "message": self.message, "code": self.code}


def param_path(path: Iterable[str | int]) -> str:
    """["messages", 0, "content"] -> "messages[0].content" (OpenAI's `param` style)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


Rule = Callable[[dict[str, Any]], Iterator[Violation]]


def _range(field: str, low: float, high: float) -> Rule:
    def rule(body: dict[str, Any]) -> Iterator[Violation]:
        value = body.get(field)
        if value is None:
            return
        if value < low:
            yield Violation(
                field,
                f"Invalid '{field}': value below minimum. Expected a value >= "
                f"{low}, but got {value} instead.",
                "value_below_min_value",
            )
        elif value > high:
            yield Violation(
                field,
                f"Invalid '{field}': value above maximum. Expected a value <= "
                f"{high}, but got {value} instead.",
                "value_above_max_value",
            )

    return rule


def _penalties(body: dict[str, Any]) -> Iterator[Violation]:
    for field in ("presence_penalty", "frequency_penalty"):
        yield from _range(field, -2, 2)(body)


def _logit_bias(body: dict[str, Any]) -> Iterator[Violation]:
    for token, bias in (body.get("logit_bias") or {}).items():
        param = f"logit_bias.{token}"
        if not (
            token.isascii() and token.isdigit()
        ):  # isdigit() alone accepts full-width and superscript digits
            yield Violation(
                param,
                f"Invalid key in 'logit_bias': '{token}'. Keys must be token "
                "ids (integers written as strings).",
                "invalid_value",
            )
        elif not -100 <= bias <= 100:
            yield Violation(
                param,
                f"Invalid value for '{param}': {bias}. Bias values must be between -100 and 100.",
                "invalid_value",
            )


def _json_word(body: dict[str, Any]) -> Iterator[Violation]:
    if (body.get("response_format") or {}).get("type") != "json_object":
        return
    if not any("json" in text_of(m.get("content")).lower() for m in body["messages"]):
        # OpenAI's own message, word for word.
        yield Violation(
            "messages",
            "'messages' must contain the word 'json' in some form, to use "
            "'response_format' of type 'json_object'.",
            None,
        )


def _tool_call_ids(body: dict[str, Any]) -> Iterator[Violation]:
    offered: set[str] = set()
    for i, message in enumerate(body["messages"]):
        if message["role"] == "assistant":
            offered.update(c.get("id", "") for c in message.get("tool_calls") or [])
        elif message["role"] == "tool":
            call_id = message.get("tool_call_id")
            if not call_id:
                yield Violation(
                    f"messages[{i}].tool_call_id",
                    f"Missing required parameter: 'messages[{i}].tool_call_id'.",
                    "missing_required_parameter",
                )
            elif call_id not in offered:
                yield Violation(
                    f"messages[{i}].tool_call_id",
                    f"Invalid parameter: 'tool_call_id' "
                    f"'{call_id}' of messages[{i}] does not answer any tool call of an "
                    "earlier assistant message.",
                    "invalid_tool_call_id",
                )


def _images(body: dict[str, Any]) -> Iterator[Violation]:
    """An image part's data: URI must hold a real PNG, JPEG, GIF or WebP image."""
    for i, message in enumerate(body["messages"]):
        content = message.get("content")
        for j, part in enumerate(content if isinstance(content, list) else ()):
            if part.get("type") != "image_url":
                continue
            param = f"messages[{i}].content[{j}].image_url.url"
            try:
                inspect_image_url(str((part.get("image_url") or {}).get("url", "")))
            except InvalidImage as exc:
                yield Violation(param, f"Invalid image in '{param}': {exc}", "invalid_image_url")


def _offered_names(body: dict[str, Any]) -> set[Any]:
    tools = [(t.get("function") or {}) for t in body.get("tools") or () if isinstance(t, dict)]
    functions = [f for f in body.get("functions") or () if isinstance(f, dict)]
    return {entry.get("name") for entry in (*tools, *functions)}


def _named_tool(body: dict[str, Any]) -> Iterator[Violation]:
    """A tool_choice (or legacy function_call) naming a function must name an offered one."""
    for field in ("tool_choice", "function_call"):
        choice = body.get(field)
        if not isinstance(choice, dict):
            continue
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        if name is None:  # the schema leaves the name optional; the API does not
            where = f"{field}.function.name" if field == "tool_choice" else f"{field}.name"
            yield Violation(
                where, f"Missing required parameter: '{where}'.", "missing_required_parameter"
            )
        elif name not in _offered_names(body):
            yield Violation(
                field,
                f"Invalid value for '{field}': it names '{name}' but no "
                "such function is offered in 'tools' or 'functions'.",
                "invalid_value",
            )


MAX_TOP_LOGPROBS = 20  # OpenAI's documented maximum


def _logprobs(body: dict[str, Any]) -> Iterator[Violation]:
    """logprobs is a boolean; top_logprobs an integer 0..20, and only with logprobs true."""
    logprobs, top = body.get("logprobs"), body.get("top_logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        yield Violation(
            "logprobs",
            f"Invalid type for 'logprobs': expected a boolean, but got {json_type(logprobs)} "
            "instead.",
            "invalid_type",
        )
    if top is None:
        return
    if (
        isinstance(top, bool)
        or not isinstance(top, int | float)
        or (isinstance(top, float) and not top.is_integer())  # inf and nan too
    ):
        yield Violation(
            "top_logprobs",
            f"Invalid type for 'top_logprobs': expected an integer, but got {json_type(top)} "
            "instead.",
            "invalid_type",
        )
    elif not 0 <= top <= MAX_TOP_LOGPROBS:
        yield Violation(
            "top_logprobs",
            f"Invalid 'top_logprobs': integer out of range. Expected a value between 0 and "
            f"{MAX_TOP_LOGPROBS}, but got {top} instead.",
            "integer_out_of_range",
        )
    elif logprobs is not True:
        yield Violation(
            "top_logprobs",
            "Invalid value for 'top_logprobs': 'logprobs' must be true when 'top_logprobs' "
            "is given.",
            "invalid_value",
        )


def _choices(body: dict[str, Any]) -> Iterator[Violation]:
    yield from _range("n", 1, MAX_CHOICES)(body)


# Named behaviours of generated replies, switched off like the rules, with --disable-rule NAME.
GENERATION_RULES = {
    "prompted-format": "generated replies follow an output format the messages prescribe",
}

RULES: dict[str, Rule] = {
    "tool-call-id": _tool_call_ids,
    "json-object-needs-json-word": _json_word,
    "temperature-range": _range("temperature", 0, 2),
    "top-p-range": _range("top_p", 0, 1),
    "penalty-range": _penalties,
    "logit-bias-range": _logit_bias,
    "n-range": _choices,
    "image-data-uri": _images,
    "tool-choice-offered": _named_tool,
    "logprobs-fields": _logprobs,
}

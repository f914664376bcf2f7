"""Match blocks compiled into conditions: each one a test plus the words to explain a miss.

Compiling happens once, at load time, so a bad regex or JSON pointer is a load error with its
path, and matching is only calls to prepared functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonpointer import JsonPointer, JsonPointerException

from mockserver.contract.auth import is_secret_header, redact
from mockserver.contract.request import text_of
from mockserver.linear_regex import RegexError, compile_linear, finder, glob_to_regex
from mockserver.stubs.context import MatchContext

_MISSING = object()
Test = Callable[[MatchContext], bool]


class ConditionError(ValueError):
    """A match block that cannot be compiled; `path` points inside the fixture."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Condition:
    label: str
    test: Test
    actual: Callable[[MatchContext], str]


@dataclass(frozen=True, slots=True)
class MatchBlock:
    """All conditions must hold. `keys` are exact facts usable to index the fixture."""

    conditions: tuple[Condition, ...]
    keys: tuple[tuple[str, str], ...] = field(default=())

    def holds(self, ctx: MatchContext) -> bool:
        return all(c.test(ctx) for c in self.conditions)

    def failures(self, ctx: MatchContext) -> list[str]:
        return [f"{c.label}, got {c.actual(ctx)}" for c in self.conditions if not c.test(ctx)]


@dataclass(frozen=True, slots=True)
class TextMatcher:
    test: Callable[[str], bool]
    label: str
    exact: str | None  # the one value that matches, when there is one (for the index)


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def text_matcher(spec: Any, path: str, *, plain: str = "equals") -> TextMatcher:
    """A plain string means `plain` (equals, or glob for models); else {equals|contains|...}."""
    if isinstance(spec, str):
        spec = {plain: spec}
    fold = bool(spec.get("ignore_case"))
    kind = next(k for k in ("equals", "contains", "regex", "glob") if k in spec)
    value: str = spec[kind]
    if kind == "glob" and not any(c in value for c in "*?["):
        kind = "equals"  # a glob without wildcards is an exact name: say so in near misses
    label = f"{kind} {_shown(value)}" + (" (ignoring case)" if fold else "")
    if kind in ("regex", "glob"):
        pattern = value if kind == "regex" else glob_to_regex(value)
        try:
            compiled = compile_linear(pattern, fold)
        except RegexError as exc:
            raise ConditionError(f"{path}/{kind}", f"invalid regular expression: {exc}") from exc
        return TextMatcher(finder(compiled, anchored=kind == "glob"), label, None)
    if kind == "contains":
        needle = value.casefold() if fold else value
        if fold:
            return TextMatcher(lambda text: needle in text.casefold(), label, None)
        return TextMatcher(lambda text: needle in text, label, None)
    if fold:
        return TextMatcher(lambda text: text.casefold() == value.casefold(), label, None)
    return TextMatcher(lambda text: text == value, label, value)


def _text_condition(
    name: str, getter: Callable[[MatchContext], str], spec: Any, path: str, plain: str = "equals"
) -> Condition:
    matcher = text_matcher(spec, path, plain=plain)
    return Condition(
        f"{name} {matcher.label}",
        lambda ctx: matcher.test(getter(ctx)),
        lambda ctx: _shown(getter(ctx)),
    )


def _scoped(ctx: MatchContext, scope: str) -> Any:
    return ctx.turn if scope == "turn" else ctx.messages


def _any_message(spec: Any, path: str, scope: str) -> Condition:
    matcher = text_matcher(spec, path)
    return Condition(
        f"a message of the {scope} {matcher.label}",
        lambda ctx: any(matcher.test(text_of(m.get("content"))) for m in _scoped(ctx, scope)),
        lambda ctx: f"{len(_scoped(ctx, scope))} message(s) without it",
    )


def _message_test(spec: Mapping[str, Any], path: str) -> tuple[Callable[..., bool], str]:
    """A test over (ctx, message) for last_message / tool_result blocks."""
    role, tool = spec.get("role"), spec.get("tool")
    content = text_matcher(spec["content"], f"{path}/content") if "content" in spec else None

    def test(ctx: MatchContext, message: Mapping[str, Any]) -> bool:
        return (
            (role is None or message.get("role") == role)
            and (tool is None or ctx.tool_name(message) == tool)
            and (content is None or content.test(text_of(message.get("content"))))
        )

    parts = [
        f"role {role}" if role else "",
        f"answering {tool}" if tool else "",
        f"content {content.label}" if content else "",
    ]
    return test, ", ".join(p for p in parts if p)


def _last_message(spec: Mapping[str, Any], path: str) -> Condition:
    test, label = _message_test(spec, path)

    def actual(ctx: MatchContext) -> str:
        if not ctx.messages:
            return "no messages"
        last = ctx.messages[-1]
        answering = ctx.tool_name(last)
        return f"role {last.get('role')}" + (f" answering {answering}" if answering else "")

    return Condition(
        f"last message has {label}",
        lambda ctx: bool(ctx.messages) and test(ctx, ctx.messages[-1]),
        actual,
    )


def _tool_result(spec: Mapping[str, Any], path: str, scope: str) -> Condition:
    test, label = _message_test({**spec, "role": "tool"}, path)
    return Condition(
        f"a tool result in the {scope} with {label}",
        lambda ctx: any(test(ctx, m) for m in _scoped(ctx, scope)),
        lambda ctx: f"tool results for {_answered(ctx, scope) or 'nothing'}",
    )


def _answered(ctx: MatchContext, scope: str) -> list[str]:
    return sorted({ctx.tool_name(m) for m in _scoped(ctx, scope) if m.get("role") == "tool"})


def _predicate(pointer_text: str, spec: Any, path: str) -> Condition:
    try:
        pointer = JsonPointer(pointer_text)
    except JsonPointerException as exc:
        raise ConditionError(path, f"invalid JSON pointer: {exc}") from exc
    tests = spec if isinstance(spec, dict) else {"equals": spec}
    if "regex" in tests:
        try:
            regex = compile_linear(tests["regex"])
        except RegexError as exc:
            raise ConditionError(f"{path}/regex", f"invalid regular expression: {exc}") from exc

    def check(value: Any) -> bool:
        for op, expected in tests.items():
            if op == "exists" and (value is not _MISSING) != expected:
                return False
            if op == "equals" and value != expected:
                return False
            if op == "contains" and not _contains(value, expected):
                return False
            if op == "regex" and not (isinstance(value, str) and regex.search(value)):
                return False
            if op in ("lt", "lte", "gt", "gte") and not _compare(op, value, expected):
                return False
        return True

    def resolve(ctx: MatchContext) -> Any:
        return pointer.resolve(ctx.body, _MISSING)

    return Condition(
        f"body {pointer_text or '/'} {' and '.join(f'{k} {v!r}' for k, v in tests.items())}",
        lambda ctx: check(resolve(ctx)),
        lambda ctx: _shown_value(resolve(ctx)),
    )


def _shown_value(value: Any, limit: int = 60) -> str:
    """A body value as written in Python: 1 stays 1 (not '1'), a string gets its quotes."""
    if value is _MISSING:
        return "nothing"
    if isinstance(value, str):
        return _shown(value, limit)
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _contains(value: Any, expected: Any) -> bool:
    if isinstance(value, str):
        return isinstance(expected, str) and expected in value
    return isinstance(value, list) and expected in value


def _compare(op: str, value: Any, bound: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return {"lt": value < bound, "lte": value <= bound, "gt": value > bound, "gte": value >= bound}[
        op
    ]


def _tools(names: list[str]) -> Condition:
    wanted = frozenset(names)
    return Condition(
        f"tools offered include {sorted(wanted)}",
        lambda ctx: wanted <= ctx.tools,
        lambda ctx: str(sorted(ctx.tools)),
    )


def _equal_fact(label: str, getter: Callable[[MatchContext], Any], expected: Any) -> Condition:
    return Condition(
        f"{label} is {expected!r}",
        lambda ctx: getter(ctx) == expected,
        lambda ctx: repr(getter(ctx)),
    )


Keys = list[tuple[str, str]]
Builder = Callable[[Any, str, str, Keys], list[Condition]]


def _model(value: Any, at: str, scope: str, keys: Keys) -> list[Condition]:
    matcher = text_matcher(value, at, plain="glob")
    if matcher.exact is not None:
        keys.append(("model", matcher.exact))
    return [
        Condition(
            f"model {matcher.label}",
            lambda ctx: matcher.test(ctx.model),
            lambda ctx: _shown(ctx.model),
        )
    ]


def _last_user(value: Any, at: str, scope: str, keys: Keys) -> list[Condition]:
    if isinstance(value, str):
        keys.append(("last_user", value))
    return [_text_condition("last user message", _get_last_user, value, at)]


def _get_last_user(ctx: MatchContext) -> str:
    return ctx.last_user


def _get_system(ctx: MatchContext) -> str:
    return ctx.system


def _tool_choice(value: Any) -> Condition:
    wanted = value if isinstance(value, str) else f"function:{value['function']}"
    return _equal_fact("tool_choice", lambda ctx: ctx.tool_choice, wanted)


_BUILDERS: dict[str, Builder] = {
    "model": _model,
    "last_user": _last_user,
    "stream": lambda v, at, scope, keys: (
        [] if v == "any" else [_equal_fact("stream", lambda ctx: ctx.stream, v)]
    ),
    "system": lambda v, at, scope, keys: [_text_condition("system prompt", _get_system, v, at)],
    "any_message": lambda v, at, scope, keys: [_any_message(v, at, scope)],
    "last_message": lambda v, at, scope, keys: [_last_message(v, at)],
    "tool_result": lambda v, at, scope, keys: [_tool_result(v, at, scope)],
    "tools": lambda v, at, scope, keys: [_tools(v)],
    "tool_choice": lambda v, at, scope, keys: [_tool_choice(v)],
    "response_format": lambda v, at, scope, keys: [
        _equal_fact("response_format", lambda ctx: ctx.response_format, v)
    ],
    "headers": lambda v, at, scope, keys: _headers(v, at, keys),
    "body": lambda v, at, scope, keys: [_predicate(p, t, f"{at}{p}") for p, t in v.items()],
    "any": lambda v, at, scope, keys: [
        _any_of([compile_match(b, f"{at}/{i}") for i, b in enumerate(v)])
    ],
    "not": lambda v, at, scope, keys: [_not(compile_match(v, at))],
    "scope": lambda v, at, scope, keys: [],
}


def compile_match(spec: Mapping[str, Any] | None, path: str = "/match") -> MatchBlock:
    """Compile a match block (already checked against fixture.schema.json)."""
    spec = spec or {}
    scope = spec.get("scope", "turn")
    conditions: list[Condition] = []
    keys: Keys = []
    for name, value in spec.items():
        conditions.extend(_BUILDERS[name](value, f"{path}/{name}", scope, keys))
    return MatchBlock(tuple(conditions), tuple(keys))


def _header_getter(name: str) -> Callable[[MatchContext], str]:
    return lambda ctx: ctx.headers.get(name, "")


def _secret_condition(
    header: str, getter: Callable[[MatchContext], str], spec: Any, path: str
) -> Condition:
    """A condition on a credential header: neither the expected nor the actual value is ever
    quoted (near misses end up in 404 bodies, logs and the journal)."""
    matcher = text_matcher(spec, path)
    kind = matcher.label.split(" ", 1)[0]
    return Condition(
        f"header {header} {kind} (a value not shown: it is a credential)",
        lambda ctx: matcher.test(getter(ctx)),
        lambda ctx: repr(redact(getter(ctx))) if getter(ctx) else "none",
    )


def _headers(spec: Mapping[str, Any], path: str, keys: Keys) -> list[Condition]:
    conditions = []
    for header, value in spec.items():
        lower = header.lower()
        getter = _header_getter(lower)
        where = f"{path}/{header}"
        if is_secret_header(header):
            conditions.append(_secret_condition(header, getter, value, where))
        else:
            conditions.append(_text_condition(f"header {header}", getter, value, where))
        if isinstance(value, str):
            keys.append((f"header:{lower}", value))
    return conditions


def _any_of(blocks: list[MatchBlock]) -> Condition:
    return Condition(
        f"any of {len(blocks)} blocks holds",
        lambda ctx: any(b.holds(ctx) for b in blocks),
        lambda ctx: "; ".join(" & ".join(b.failures(ctx)) for b in blocks),
    )


def _not(block: MatchBlock) -> Condition:
    labels = " and ".join(c.label for c in block.conditions) or "everything"
    return Condition(f"not ({labels})", lambda ctx: not block.holds(ctx), lambda ctx: "it held")

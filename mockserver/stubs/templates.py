"""Reply templates: Jinja2 in its immutable sandbox, compiled at load, rendered per request.

A template sees the request (model, messages, last_user, tools, body, pointer()) and an
allow-list of faker providers; no Python internals, files or environment. Any string of a reply
holding `{{` or `{%` is a template; everything else is sent as written.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping
from typing import Any

import jinja2
from faker import Faker
from jinja2 import meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jsonpointer import JsonPointerException, resolve_pointer

from mockserver.stubs.context import MatchContext
from mockserver.stubs.render_guard import LIMIT_S, RenderTimeout, within_limit

FAKER_PROVIDERS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "city",
        "country",
        "address",
        "street_address",
        "postcode",
        "email",
        "phone_number",
        "company",
        "job",
        "url",
        "domain_name",
        "uuid4",
        "date",
        "time",
        "date_time",
        "iso8601",
        "word",
        "words",
        "sentence",
        "sentences",
        "paragraph",
        "text",
        "random_int",
        "pyfloat",
        "pybool",
        "color_name",
        "currency_code",
    }
)


class TemplateError(ValueError):
    """A template that failed to compile or render; `path` points inside the fixture."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class FakeProviders:
    """The faker providers a template may call, and nothing else of Faker."""

    def __init__(self, fake: Faker) -> None:
        self.__fake = fake

    def __getattr__(self, name: str) -> Any:
        if name not in FAKER_PROVIDERS:
            raise AttributeError(f"fake.{name} is not available in templates")
        provider = getattr(self.__fake, name)

        def bounded(*args: Any, **kwargs: Any) -> Any:
            _check_sizes(f"fake.{name}", [*args, *kwargs.values()])
            return provider(*args, **kwargs)

        return bounded


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, which also refuses any fake.<name> that is not a listed provider.

    Without this, `fake.seed_instance` only fails as an unknown attribute (FakeProviders hides
    it), so the load-time trial render would not report it as a sandbox escape.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute.startswith("_"):  # even where it does not exist: say "sandbox", clearly
            raise SecurityError(
                f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe."
            )
        if isinstance(obj, FakeProviders) and attribute not in FAKER_PROVIDERS:
            return self.unsafe_undefined(obj, attribute)
        return _sized(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, FakeProviders) and argument not in FAKER_PROVIDERS:
            return self.unsafe_undefined(obj, str(argument))
        return _sized(obj, argument, super().getitem(obj, argument))

    # Arithmetic that would hang the server or eat its memory ({{ 9**9**9 }}, 'x' * 10**10)
    # is refused: Jinja's sandbox limits range() but leaves the operators to us.
    intercepted_binops = frozenset({"**", "*", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str) and _WIDE_FORMAT.search(left):
            raise SecurityError("a format width that large is refused")
        if operator == "**" and _too_big_power(left, right):
            raise SecurityError(f"{left!r} ** {right!r} is too large for a template")
        if operator == "*" and _too_long_repeat(left, right):
            raise SecurityError("repeating a string or list that many times is refused")
        return super().call_binop(context, operator, left, right)


MAX_RESULT_DIGITS = 4300  # Python's own int-to-str limit
_GROWING = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join", "format", "format_map"}
)
MAX_SIZE_ARGUMENT = 10_000  # widths and counts given to filters and faker providers
MAX_OUTPUT = 1_000_000  # characters one template may produce
_WIDE_FORMAT = re.compile(r"%[-+ #0]*\d{5,}")


def _check_sizes(what: str, values: list[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_SIZE_ARGUMENT:
            raise SecurityError(f"{what}({value}) is larger than templates may ask for")


def _sized(obj: Any, name: Any, value: Any) -> Any:
    """A string method that grows its string ('x'.center(4000000000), .zfill, .expandtabs,
    .replace, .join, .format), sized before it runs: one allocation in C cannot be stopped by
    the watchdog. Anything else is returned as it is."""
    if not isinstance(obj, str) or name not in _GROWING or not callable(value):
        return value

    def sized(*args: Any, **kwargs: Any) -> Any:
        if name == "join" and args:  # sized below: materialize the iterable once
            args = (list(args[0]), *args[1:])
        _check_growth(obj, name, args, kwargs)
        return value(*args, **kwargs)

    return sized


def _check_growth(text: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a string method call whose result would be over MAX_OUTPUT characters."""
    values = [*args, *kwargs.values()]
    if method in ("center", "ljust", "rjust", "zfill"):
        size = max([len(text), *(v for v in values[:1] if isinstance(v, int))])
    elif method == "expandtabs":
        tab = next((v for v in values if isinstance(v, int)), 8)
        size = len(text) + text.count("\t") * max(tab, 0)
    elif method == "replace" and len(values) >= 2 and isinstance(values[1], str):
        old = values[0] if isinstance(values[0], str) else ""
        hits = text.count(old) if old else len(text) + 1
        size = len(text) + hits * len(values[1])
    elif method == "join" and values and isinstance(values[0], list):
        items = values[0]
        size = len(text) * len(items) + sum(len(i) for i in items if isinstance(i, str))
    else:  # format, format_map: widths in the text or given as arguments
        if _WIDE_BRACE.search(text):
            raise SecurityError("a format width that large is refused")
        _check_sizes(f"str.{method}", values)
        size = 0
    if size > MAX_OUTPUT:
        raise SecurityError(f"str.{method} would make {size} characters: refused")


_WIDE_BRACE = re.compile(r"\{[^{}]*:[^{}]*\d{5,}[^{}]*\}")


def _bounded_filter(name: str, original: Any) -> Any:
    """The filter, with its size arguments capped; Jinja's pass_environment marker is kept
    (wordwrap and truncate get the environment first: dropping it broke them)."""
    passes = getattr(original, "jinja_pass_arg", None)

    @functools.wraps(original)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        given = args[1:] if passes is not None else args
        _check_sizes(name, [*given[1:], *kwargs.values()])
        value = given[0] if given else None
        if name == "format" and isinstance(value, str) and _WIDE_FORMAT.search(value):
            raise SecurityError("a format width that large is refused")
        if isinstance(value, str) and name == "replace":
            _check_growth(value, "replace", tuple(given[1:3]), {})
        if isinstance(value, str) and name == "indent":
            width = given[1] if len(given) > 1 else kwargs.get("width", 4)
            width = width if isinstance(width, int) else len(str(width))
            if len(value) + (value.count("\n") + 1) * width > MAX_OUTPUT:
                raise SecurityError("indent would make too long a text: refused")
        return original(*args, **kwargs)

    if passes is not None:
        bounded.jinja_pass_arg = passes  # type: ignore[attr-defined]
    return bounded


MAX_REPEAT = 1_000_000


def _too_big_power(base: Any, exponent: Any) -> bool:
    if not isinstance(base, int | float) or not isinstance(exponent, int | float):
        return False
    size = abs(exponent) * math.log10(max(abs(base), 2))
    return size > MAX_RESULT_DIGITS


def _too_long_repeat(left: Any, right: Any) -> bool:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            return len(seq) * times > MAX_REPEAT
    return False


_ENV = _Sandbox(undefined=jinja2.StrictUndefined, autoescape=False)
for _name in ("center", "indent", "wordwrap", "truncate", "format", "batch", "slice", "replace"):
    _ENV.filters[_name] = _bounded_filter(_name, _ENV.filters[_name])


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


CONTEXT_NAMES = frozenset({"request", "pointer", "fake", "fake_zh"})


def _compile(text: str, path: str) -> jinja2.Template:
    try:
        parsed = _ENV.parse(text)
        used = meta.find_undeclared_variables(parsed)
        template = _ENV.from_string(parsed)  # the parsed tree: the text is parsed once
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(path, f"template syntax error: {exc.message}") from exc
    unknown = sorted(used - CONTEXT_NAMES)
    if unknown:
        raise TemplateError(
            path,
            f"unknown name(s) {', '.join(unknown)}; templates can use "
            f"{', '.join(sorted(CONTEXT_NAMES))}",
        )
    return template


def compile_tree(value: Any, path: str = "") -> Any:
    """The same structure with every template string replaced by a compiled Template."""
    if isinstance(value, str) and is_template(value):
        return _compile(value, path)
    if isinstance(value, dict):
        return {k: compile_tree(v, f"{path}/{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [compile_tree(v, f"{path}/{i}") for i, v in enumerate(value)]
    return value


def _render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """The template's text, stopped as soon as it passes MAX_OUTPUT characters (a loop over a
    large string would otherwise be joined into gigabytes in one C call)."""
    parts: list[str] = []
    size = 0
    for part in template.generate(context):
        size += len(part)
        if size > MAX_OUTPUT:
            raise SecurityError(f"output over {MAX_OUTPUT} characters")
        parts.append(part)
    return "".join(parts)


def template_problems(value: Any, path: str = "") -> list[TemplateError]:
    """Every template string of `value` that does not compile, not only the first one (which
    is all compile_tree can report): `mockserver check` reports them all."""
    if isinstance(value, str) and is_template(value):
        try:
            _compile(value, path)
        except TemplateError as exc:
            return [exc]
        return []
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in template_problems(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in template_problems(v, f"{path}/{i}")]
    return []


def render_tree(value: Any, context: Mapping[str, Any], path: str = "") -> Any:
    if isinstance(value, jinja2.Template):
        try:
            text = within_limit(lambda: _render(value, context))
        except RenderTimeout as exc:
            raise TemplateError(
                path, f"refused by the template sandbox: rendering took longer than {LIMIT_S:g} s"
            ) from exc
        except SecurityError as exc:
            raise TemplateError(path, f"refused by the template sandbox: {exc}") from exc
        except Exception as exc:  # 1/0, a range too big...: the fixture's fault, never a crash
            raise TemplateError(path, f"template failed: {exc}") from exc
        if len(text) > MAX_OUTPUT:
            raise TemplateError(
                path, f"refused by the template sandbox: output over {MAX_OUTPUT} characters"
            )
        return text
    if isinstance(value, dict):
        return {k: render_tree(v, context, f"{path}/{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, context, f"{path}/{i}") for i, v in enumerate(value)]
    return value


def template_context(ctx: MatchContext, fake: Faker, fake_zh: Faker) -> dict[str, Any]:
    """What templates see. Headers are left out: they carry the caller's API key."""

    def pointer(path: str) -> Any:
        try:
            return resolve_pointer(ctx.body, path, None)
        except JsonPointerException as exc:
            raise ValueError(f"bad JSON pointer {path!r}: {exc}") from exc

    request = {
        "model": ctx.model,
        "stream": ctx.stream,
        "messages": ctx.messages,
        "last_user": ctx.last_user,
        "system": ctx.system,
        "tools": sorted(ctx.tools),
        "body": ctx.body,
    }
    return {
        "request": request,
        "pointer": pointer,
        "fake": FakeProviders(fake),
        "fake_zh": FakeProviders(fake_zh),
    }


class Rendering:
    """One request's view of a step's templates: render a leaf or a tree, with its path."""

    def __init__(self, context: Mapping[str, Any], at: str) -> None:
        self.context = context
        self.at = at

    def text(self, value: Any, path: str) -> str:
        """A Text leaf (a plain string or a compiled template) as a string."""
        rendered = render_tree(value, self.context, self.at + path)
        return rendered if isinstance(rendered, str) else str(rendered)

    def tree(self, value: Any, path: str) -> Any:
        return render_tree(value, self.context, self.at + path)


def has_compiled_template(value: Any) -> bool:
    """Whether a compiled tree (dicts, lists, tuples, dataclasses) holds a template anywhere:
    what needs rendering, or a trial render at load."""
    if isinstance(value, jinja2.Template):
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(has_compiled_template(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, tuple | list):
        return any(has_compiled_template(v) for v in value)
    if isinstance(value, dict):
        return any(has_compiled_template(v) for v in value.values())
    return False

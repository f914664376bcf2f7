"""Reply templates: what they see, how they fail, and the sandbox that nothing gets out of."""

from __future__ import annotations

import copy
import os
from typing import Any

import jinja2
import pytest
from faker import Faker

from mockserver.stubs.context import MatchContext
from mockserver.stubs.templates import (
    FAKER_PROVIDERS,
    FakeProviders,
    TemplateError,
    compile_tree,
    is_template,
    render_tree,
    template_context,
)

BODY: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "user": "ci-bot",
    "stream": True,
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather in Lyon?"},
    ],
    "tools": [
        {"type": "function", "function": {"name": "get_weather"}},
        {"type": "function", "function": {"name": "get_time"}},
    ],
}


@pytest.fixture(scope="module")
def fake() -> Faker:
    return Faker("en_US")


@pytest.fixture(scope="module")
def fake_zh() -> Faker:
    return Faker("zh_CN")


def render(text: Any, fake: Faker, fake_zh: Faker | None = None, body: Any = None) -> Any:
    ctx = MatchContext(BODY if body is None else body, {"authorization": "Bearer sk-secret"})
    context = template_context(ctx, fake, fake_zh or fake)
    return render_tree(compile_tree(text, "/reply/content"), context, "/reply/content")


def test_is_template() -> None:
    assert is_template("{{ x }}")
    assert is_template("{% if x %}{% endif %}")
    assert not is_template("{ single braces } and {#")
    assert not is_template("")


def test_request_fields(fake: Faker) -> None:
    assert render("{{ request.model }}", fake) == "gpt-4o-mini"
    assert render("{{ request.last_user }}", fake) == "weather in Lyon?"
    assert render("{{ request.system }}", fake) == "Be brief."
    assert render("{{ request.stream }}", fake) == "True"
    assert render("{{ request.tools | join('+') }}", fake) == "get_time+get_weather"
    assert render("{{ request.messages | length }}", fake) == "2"
    assert render("{{ request.messages[0].role }}", fake) == "system"
    assert render("{{ request.body.user }}", fake) == "ci-bot"


def test_pointer(fake: Faker) -> None:
    assert render("{{ pointer('/messages/1/content') }}", fake) == "weather in Lyon?"
    assert render("{{ pointer('/tools/1/function/name') }}", fake) == "get_time"
    assert render("{{ pointer('/absent') }}", fake) == "None"
    assert render("{{ pointer('/absent') or 'default' }}", fake) == "default"
    with pytest.raises(TemplateError) as caught:
        render("{{ pointer('no-slash') }}", fake)
    assert caught.value.path == "/reply/content"
    assert "bad JSON pointer 'no-slash'" in caught.value.message


def test_headers_are_not_visible(fake: Faker) -> None:
    """Headers carry the caller's key: templates do not get them."""
    assert render("{{ request.headers is defined }}", fake) == "False"
    with pytest.raises(TemplateError):
        render("{{ headers }}", fake)


def test_fake_providers(fake: Faker, fake_zh: Faker) -> None:
    city = render("{{ fake.city() }}", fake)
    assert isinstance(city, str)
    assert city
    assert "{" not in city
    number = render("{{ fake.random_int(min=5, max=5) }}", fake)
    assert number == "5"
    chinese = render("{{ fake_zh.name() }}", fake, fake_zh)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)


def test_fake_is_seeded_by_its_faker() -> None:
    values = []
    for _ in range(2):
        seeded = Faker("en_US")
        seeded.seed_instance(1234)
        values.append(render("{{ fake.city() }} {{ fake.uuid4() }}", seeded))
    assert values[0] == values[1]


def test_fake_providers_allow_list() -> None:
    providers = FakeProviders(Faker())
    assert callable(providers.email)
    for name in ("seed_instance", "random", "profile", "binary", "seed"):
        with pytest.raises(AttributeError):
            getattr(providers, name)
    assert {"city", "name", "uuid4", "sentence"} <= FAKER_PROVIDERS
    assert "seed_instance" not in FAKER_PROVIDERS


def test_tree_compile_and_render(fake: Faker) -> None:
    tree = {
        "content": "Hi {{ request.model }}",
        "tool_calls": [{"name": "f", "arguments": {"city": "{{ request.last_user | upper }}"}}],
        "status": 201,
        "unchecked": True,
        "headers": {"x-plain": "plain {text}"},
    }
    compiled = compile_tree(tree, "/reply")
    assert isinstance(compiled["content"], jinja2.Template)
    assert compiled["headers"]["x-plain"] == "plain {text}"
    assert compiled["status"] == 201
    ctx = MatchContext(BODY, {})
    assert render_tree(compiled, template_context(ctx, fake, fake)) == {
        "content": "Hi gpt-4o-mini",
        "tool_calls": [{"name": "f", "arguments": {"city": "WEATHER IN LYON?"}}],
        "status": 201,
        "unchecked": True,
        "headers": {"x-plain": "plain {text}"},
    }


def test_syntax_error_path() -> None:
    with pytest.raises(TemplateError) as caught:
        compile_tree({"choices": [{"content": "ok"}, {"content": "{% if %}"}]}, "/reply")
    assert caught.value.path == "/reply/choices/1/content"
    assert caught.value.message.startswith("template syntax error:")
    assert str(caught.value).startswith("/reply/choices/1/content: template syntax error")


@pytest.mark.parametrize(
    ("template", "unknown"),
    [
        ("{{ config }}", "config"),
        ("{{ environ['HOME'] }}", "environ"),
        ("{{ os.environ }}", "os"),
        ("{{ settings.api_keys }}", "settings"),
        ("{{ request.model }}{{ secrets }}{{ app }}", "app, secrets"),
        ("{{ __builtins__ }}", "__builtins__"),
    ],
)
def test_unknown_names_fail_at_compile(template: str, unknown: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_tree(template, "/reply/content")
    assert caught.value.message == (
        f"unknown name(s) {unknown}; templates can use fake, fake_zh, pointer, request"
    )


def test_names_set_in_the_template_are_fine(fake: Faker) -> None:
    text = (
        "{% set n = request.messages | length %}"
        "{% for m in request.messages %}{{ m.role }} {% endfor %}{{ n }}"
    )
    assert render(text, fake) == "system user 2"


SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ request.__class__ }}",
    "{{ request.body.__class__.__init__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ pointer.__globals__ }}",
    "{{ pointer.__closure__ }}",
    "{{ fake._FakeProviders__fake }}",
    "{{ fake.__dict__ }}",
    "{{ fake.seed_instance(1) }}",
    "{{ fake['seed_instance'] }}",
    "{{ fake.city.__self__ }}",
    "{{ fake.city.__func__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}",
    "{{ request.body.update({'model': 'pwned'}) }}",
    "{{ request.body.clear() }}",
    "{{ request.messages.append({}) }}",
    "{{ request.messages[0].update(role='user') }}",
    "{{ request.tools.pop() }}",
    "{{ request.body.setdefault('x', 1) }}",
    "{{ '{0.__class__}'.format(request) }}",
    "{{ request.body|attr('__class__') }}",
    "{{ (request.model|string).__class__ }}",
    "{{ range(10**9)|list }}",
]


@pytest.mark.parametrize("template", SANDBOX_ESCAPES)
def test_sandbox_refuses(fake: Faker, template: str) -> None:
    body = copy.deepcopy(BODY)
    environment = dict(os.environ)
    with pytest.raises(TemplateError) as caught:
        render(template, fake, body=body)
    assert "sandbox" in caught.value.message, caught.value.message
    assert caught.value.path == "/reply/content"
    assert body == BODY, "nothing in the request was changed"
    assert dict(os.environ) == environment


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{{ request.nothing }}", "has no attribute 'nothing'"),
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ request.messages[9].role }}", "no element 9"),
        ("{{ fake.city(42) }}", "template failed"),
        ("{{ request.model + 1 }}", "template failed"),
    ],
)
def test_render_failures_are_template_errors(fake: Faker, template: str, why: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template, fake)
    assert caught.value.message.startswith("template failed:")
    assert why in caught.value.message
    assert "sandbox" not in caught.value.message

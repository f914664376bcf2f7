"""value_for: values valid against the schema, reproducible from the seed, plausible by name."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import subprocess
import sys
import uuid
from random import Random
from typing import Any, Literal

import openai
import pytest
from faker import Faker
from faker.providers.address import Provider as AddressProvider
from faker.providers.address.zh_CN import Provider as ZhAddressProvider
from faker.providers.date_time import Provider as DateTimeProvider
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from pydantic import BaseModel, Field

from mockserver.replies.schema_values import UnsupportedSchema, value_for

Schema = dict[str, Any]


def readable(text: str) -> str:
    """Faker's capitals, some stored as UTF-8 misread as Latin-1, read right."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


CAPITALS = {readable(country.capital) for country in DateTimeProvider.countries}
CJK = re.compile(r"[\u4e00-\u9fff]")


def check(schema: Schema, value: Any) -> None:
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(value)


# A strategy for parameter schemas: every one it builds has at least one valid value.

NAMES = (
    "city",
    "email",
    "name",
    "country",
    "age",
    "price",
    "count",
    "created_at",
    "id",
    "title",
    "description",
    "tags",
    "zip",
    "latitude",
    "unit",
    "fooBar",
    "value",
)
PATTERNS = (
    r"^[a-z]{3,8}$",
    r"^\d{3}-\d{4}$",
    r"^[A-Z][a-z]+( [A-Z][a-z]+)?$",
    r"[0-9]+",
    r"^(red|green|blue)$",
    r"^[\w.]+@\w+\.(com|net)$",
    r"^[^\s]{2,5}$",
    r"^#[0-9a-fA-F]{6}$",
)
FORMATS = ("date", "date-time", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname")
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)


@st.composite
def strings(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "string"}
    kind = draw(st.sampled_from(("plain", "length", "format", "pattern")))
    if kind == "length":
        low = draw(st.integers(0, 20))
        schema["minLength"] = low
        if draw(st.booleans()):
            schema["maxLength"] = low + draw(st.integers(0, 30))
    elif kind == "format":
        schema["format"] = draw(st.sampled_from(FORMATS))
    elif kind == "pattern":
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
    return schema


@st.composite
def integers(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "integer"}
    step = draw(st.sampled_from((None, 1, 2, 3, 5, 10, 0.5)))
    low = draw(st.none() | st.integers(-1000, 1000))
    width = draw(st.integers(0, 500)) + 3 * int(step or 1) + 2
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        high = (low if low is not None else draw(st.integers(-1000, 1000))) + width
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    if step is not None:
        schema["multipleOf"] = step
    return schema


@st.composite
def numbers(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "number"}
    step = draw(st.sampled_from((None, None, 0.5, 0.25, 0.1, 0.01, 2)))
    low = draw(st.none() | st.floats(-1000, 1000, allow_nan=False))
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        start = low if low is not None else draw(st.floats(-1000, 1000, allow_nan=False))
        width = draw(st.floats(0.001, 1000)) + 20 * (step or 0)
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = start + width
    if step is not None:
        schema["multipleOf"] = step
    return schema


LEAVES = st.one_of(
    strings(),
    integers(),
    numbers(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.just({}),
    st.lists(SCALARS, min_size=1, max_size=5).map(lambda values: {"enum": values}),
    SCALARS.map(lambda value: {"const": value}),
    st.just({"type": "string", "enum": ["celsius", "fahrenheit"]}),
)


def extend(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    @st.composite
    def objects(draw: st.DrawFn) -> Schema:
        properties = draw(st.dictionaries(st.sampled_from(NAMES), children, max_size=4))
        required = [k for k in properties if draw(st.booleans())]
        schema: Schema = {"type": "object", "properties": properties, "required": required}
        schema["additionalProperties"] = draw(st.sampled_from((False, True, None)))
        if schema["additionalProperties"] is None:
            del schema["additionalProperties"]
        return schema

    @st.composite
    def arrays(draw: st.DrawFn) -> Schema:
        low = draw(st.integers(0, 2))
        schema: Schema = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 3))
        if low <= 1 and draw(st.booleans()):
            schema["uniqueItems"] = True
        return schema

    @st.composite
    def nullable(draw: st.DrawFn) -> Schema:
        schema = dict(draw(st.one_of(strings(), integers(), numbers())))
        schema["type"] = [schema["type"], "null"]
        return schema

    disjoint = st.tuples(strings(), integers(), st.just({"type": "boolean"}))
    return st.one_of(
        objects(),
        arrays(),
        nullable(),
        st.lists(children, min_size=1, max_size=3).map(lambda subs: {"anyOf": subs}),
        disjoint.map(lambda subs: {"oneOf": list(subs)}),
        st.tuples(objects(), objects())
        .map(lambda pair: {"allOf": list(pair)})
        .filter(
            lambda s: (
                not (set(s["allOf"][0]["properties"]) & set(s["allOf"][1]["properties"]))
                and all("additionalProperties" not in sub for sub in s["allOf"])
            )
        ),
    )


TREES = st.recursive(LEAVES, extend, max_leaves=12)


@st.composite
def parameter_schemas(draw: st.DrawFn) -> Schema:
    """An object at the top, as function parameters are; sometimes through $defs and $ref."""
    properties = draw(st.dictionaries(st.sampled_from(NAMES), TREES, min_size=1, max_size=4))
    schema: Schema = {"type": "object", "properties": properties, "required": list(properties)}
    if draw(st.booleans()):
        name = next(iter(properties))
        schema["$defs"] = {"Thing": properties[name]}
        schema["properties"] = {**properties, name: {"$ref": "#/$defs/Thing"}}
    return schema


@settings(max_examples=200, deadline=None)
@given(schema=parameter_schemas(), seed=st.integers(0, 2**32 - 1))
def test_generated_values_validate(schema: Schema, seed: int) -> None:
    check(schema, value_for(schema, Random(seed)))


@settings(max_examples=50, deadline=None)
@given(schema=st.one_of(strings(), integers(), numbers()), seed=st.integers(0, 2**32 - 1))
def test_scalar_constraints(schema: Schema, seed: int) -> None:
    check(schema, value_for(schema, Random(seed)))


# Reproducibility.

RICH: Schema = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "code": {"type": "string", "pattern": r"^[^a-z\s]{2}-\w{3,}\W$"},
        "when": {"type": "string", "format": "date-time"},
        "guests": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "budget": {"type": "number", "minimum": 10, "multipleOf": 0.01},
        "mode": {"anyOf": [{"enum": ["car", "train"]}, {"type": "integer"}]},
    },
    "required": ["city", "code", "when", "guests", "budget", "mode"],
    "additionalProperties": False,
}


def test_same_seed_same_value() -> None:
    assert value_for(RICH, Random(7)) == value_for(RICH, Random(7))
    assert len({json.dumps(value_for(RICH, Random(seed))) for seed in range(10)}) > 5


def test_same_seed_same_value_in_another_process() -> None:
    """Hash randomization must not leak in (rstr draws characters out of sets)."""
    script = (
        "import json, random; from mockserver.replies.schema_values import value_for; "
        f"print(json.dumps(value_for({RICH!r}, random.Random(7))))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == value_for(RICH, Random(7))


def test_the_fakers_own_random_is_given_back() -> None:
    fake = Faker("en_US")
    before = fake.random
    value_for({"type": "string"}, Random(1), name="city", fake=fake)
    assert fake.random is before


# Plausible values by name.


def test_city_is_a_real_city() -> None:
    cities = [value_for({"type": "string"}, Random(seed), name="city") for seed in range(20)]
    assert set(cities) <= CAPITALS
    assert len(set(cities)) > 5


def test_city_names_are_not_mojibake() -> None:
    """Faker keeps "BogotÃ¡" and the like; what we give out reads "Bogotá"."""
    cities = {value_for({"type": "string"}, Random(seed), name="city") for seed in range(400)}
    assert {"Bogotá", "Brasília", "Chişinău"} & cities
    assert not any("Ã" in city for city in cities)


def test_array_items_are_named_for_one_of_them() -> None:
    schema: Schema = {"type": "array", "items": {"type": "string"}, "minItems": 3}
    assert set(value_for(schema, Random(3), name="cities")) <= CAPITALS


def test_chinese_faker_gives_chinese_values() -> None:
    fake = Faker("zh_CN")
    schema: Schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "name": {"type": "string"}},
        "required": ["city", "name"],
    }
    value = value_for(schema, Random(5), fake=fake)
    assert value["city"] in ZhAddressProvider.cities
    assert CJK.search(value["name"])


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("email", lambda v: "@" in v),
        ("contactEmail", lambda v: "@" in v),
        ("email_address", lambda v: "@" in v),
        ("name", lambda v: len(v.split()) >= 2),
        ("country", lambda v: v in AddressProvider.countries or len(v) > 2),
        ("website_url", lambda v: v.startswith("http")),
        ("check_in_date", lambda v: datetime.date.fromisoformat(v) is not None),
        ("phone", lambda v: sum(c.isdigit() for c in v) >= 7),
    ],
)
def test_string_names(name: str, ok: Any) -> None:
    for seed in range(5):
        assert ok(value_for({"type": "string"}, Random(seed), name=name))


def test_number_names() -> None:
    for seed in range(10):
        assert 18 <= value_for({"type": "integer"}, Random(seed), name="age") <= 90
        assert -90 <= value_for({"type": "number"}, Random(seed), name="latitude") <= 90
        assert value_for({"type": "integer", "minimum": 100}, Random(seed), name="age") >= 100


def test_unit_enum_picks_an_enum_value() -> None:
    schema: Schema = {"type": "string", "enum": ["celsius", "fahrenheit"]}
    units = {value_for(schema, Random(seed), name="unit") for seed in range(10)}
    assert units == {"celsius", "fahrenheit"}


@pytest.mark.parametrize(
    ("fmt", "parse"),
    [
        ("date", datetime.date.fromisoformat),
        ("date-time", datetime.datetime.fromisoformat),
        ("time", datetime.time.fromisoformat),
        ("uuid", uuid.UUID),
        ("ipv4", ipaddress.IPv4Address),
        ("ipv6", ipaddress.IPv6Address),
        ("email", lambda v: v.index("@")),
        ("uri", lambda v: re.match(r"https?://[^/\s]+", v).group()),  # type: ignore[union-attr]
        ("hostname", lambda v: re.fullmatch(r"[a-z0-9.-]+\.[a-z]+", v).group()),  # type: ignore[union-attr]
    ],
)
def test_formats(fmt: str, parse: Any) -> None:
    for seed in range(5):
        schema: Schema = {"type": "string", "format": fmt}
        value = value_for(schema, Random(seed))
        check(schema, value)
        parse(value)


def test_pattern_strings_match_and_are_readable() -> None:
    for pattern in (*PATTERNS, r"[^abc]\W+.", r"^(?:[A-Z]{2}\d{2}){1,3}$", r"x*y+z?"):
        for seed in range(5):
            value = value_for({"type": "string", "pattern": pattern}, Random(seed))
            assert re.search(pattern, value)
            assert value.isprintable()


# OpenAI strict schemas.


class Address(BaseModel):
    street: str
    city: str
    country: str
    zip_code: str


class Traveller(BaseModel):
    name: str
    email: str
    age: int = Field(ge=0, le=120)


class Booking(BaseModel):
    booking_id: str
    travellers: list[Traveller]
    destination: Address
    nights: int = Field(ge=1, le=30)
    unit: Literal["metric", "imperial"]
    check_in: datetime.date
    notes: str | None
    rating: float | None = None


def strict(schema: Any) -> Any:
    """OpenAI's strict mode by hand: every property required, no others allowed."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in out:
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@pytest.mark.parametrize(
    "schema",
    [
        strict(Booking.model_json_schema()),
        openai.pydantic_function_tool(Booking)["function"]["parameters"],
    ],
    ids=["by-hand", "openai.pydantic_function_tool"],
)
def test_openai_strict_pydantic_schema(schema: Schema) -> None:
    for seed in range(10):
        value = value_for(schema, Random(seed))
        check(schema, value)
        assert set(value) == set(Booking.model_fields)
        booking = Booking.model_validate(value)
        assert booking.destination.city in CAPITALS


# $ref, $defs and recursion.

TREE: Schema = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["label", "children"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/node",
}
LINKED: Schema = {
    "definitions": {
        "item": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "next": {"anyOf": [{"$ref": "#/definitions/item"}, {"type": "null"}]},
            },
            "required": ["value", "next"],
        }
    },
    "$ref": "#/definitions/item",
}


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@pytest.mark.parametrize("schema", [TREE, LINKED], ids=["tree", "linked-list"])
def test_recursive_refs_terminate(schema: Schema) -> None:
    for seed in range(10):
        value = value_for(schema, Random(seed))
        check(schema, value)
        assert depth(value) < 20


def test_recursion_without_an_end_is_reported() -> None:
    schema: Schema = {
        "$defs": {
            "n": {
                "type": "object",
                "properties": {"next": {"$ref": "#/$defs/n"}},
                "required": ["next"],
            }
        },
        "$ref": "#/$defs/n",
    }
    with pytest.raises(UnsupportedSchema, match=r"\$\.\$defs\.n\.properties\.next"):
        value_for(schema, Random(0))


def test_draft7_spellings() -> None:
    schema: Schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"pos": {"type": "integer", "minimum": 0, "exclusiveMaximum": 10}},
        "type": "array",
        "items": [{"$ref": "#/definitions/pos"}, {"type": "string", "format": "date"}],
        "additionalItems": False,
        "minItems": 2,
    }
    for seed in range(5):
        value = value_for(schema, Random(seed))
        Draft7Validator(schema, format_checker=FormatChecker()).validate(value)


# Combinators.


def test_one_of_picks_a_value_of_one_branch_only() -> None:
    schema: Schema = {"oneOf": [{"type": "integer"}, {"type": "number"}]}
    for seed in range(10):
        value = value_for(schema, Random(seed))
        check(schema, value)
        assert not float(value).is_integer()


def test_all_of_merges() -> None:
    schema: Schema = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer", "minimum": 5}}},
            {"properties": {"a": {"maximum": 7}, "b": {"type": "string"}}, "required": ["a", "b"]},
        ]
    }
    for seed in range(5):
        value = value_for(schema, Random(seed))
        check(schema, value)
        assert 5 <= value["a"] <= 7


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "not": {"enum": ["a", "b"]}, "minLength": 1, "maxLength": 1},
        {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
        {"type": "object", "patternProperties": {"^x_": {"type": "boolean"}}, "minProperties": 2,
         "additionalProperties": False},
        {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
         "dependentRequired": {"a": ["b"]}},
        {"type": "array", "items": {"type": "integer"}, "contains": {"const": 3}, "minItems": 1},
        {"type": ["string", "integer", "null"]},
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
         "unevaluatedProperties": False},
        {"type": "object", "propertyNames": {"pattern": "^[a-z]{2,4}$"}, "minProperties": 2},
        {"if": {"type": "integer"}, "then": {"minimum": 100}, "else": {"type": "string"}},
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1e-9},
        {"type": "integer", "multipleOf": 0.1, "maximum": 3},
        True,
    ],
)  # fmt: skip
def test_other_keywords(schema: Any) -> None:
    for seed in range(5):
        check(schema, value_for(schema, Random(seed)))


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"type": "string", "minLength": 5, "maxLength": 2}, r"\$: minLength"),
        ({"properties": {"x": {"type": "integer", "minimum": 3, "maximum": 2}}, "required": ["x"]},
         r"\$\.properties\.x:"),
        ({"$ref": "https://example.com/schema.json"}, r"only refs into this schema"),
        ({"$ref": "#/$defs/missing"}, "points at nothing"),
        ({"properties": {"x": False}, "required": ["x"]}, r"\$\.properties\.x: the schema `false`"),
        ({"enum": []}, "non-empty"),
        ({"type": "strnig"}, "unknown type"),
        ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "nothing in common"),
        ({"type": "integer", "minimum": 0, "oneOf": [{"minimum": -5}, {"maximum": 10**9}]},
         "oneOf"),
        ({"type": "string", "pattern": "("}, "does not compile"),
        ({"type": "string", "pattern": ["x"]}, "must be a string"),
        ({"type": "object", "required": ["x"], "additionalProperties": False}, "forbids it"),
        ({"type": "array", "items": {"type": "boolean"}, "uniqueItems": True, "minItems": 3},
         "distinct"),
    ],
)  # fmt: skip
def test_unsatisfiable_schemas_are_reported(schema: Schema, where: str) -> None:
    with pytest.raises(UnsupportedSchema, match=where) as caught:
        value_for(schema, Random(0))
    assert isinstance(caught.value, ValueError)
    assert caught.value.path.startswith("$")


def test_a_pattern_that_is_no_string_fails_its_check_only() -> None:
    """Under `not`, a list given as a pattern is a failed check (so `not` holds), not a crash."""
    assert isinstance(value_for({"type": "string", "not": {"pattern": ["x"]}}, Random(0)), str)

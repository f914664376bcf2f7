"""Schema-valid values: arguments for generated tool calls and bodies for structured output.

`value_for` walks a JSON Schema (the draft-07 / 2020-12 subset that OpenAI function `parameters`
and `response_format.json_schema.schema` use) and builds a value that validates against it. Every
choice is drawn from the caller's `Random`, so one rng state gives one value, in any process.
Strings are plausible where the property name says what they are (a `city` is a city, an `email`
an address), in the Faker's language.

Keywords that only narrow a value (`not`, `if`/`then`/`else`, `dependentSchemas`, a second
`pattern` met in an `allOf`, ...) are checked rather than generated: a value that fails them is
drawn again. The finished value is checked with jsonschema, so a caller never gets an invalid
one: what cannot be satisfied raises `UnsupportedSchema` with the schema path at fault.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from random import Random
from typing import Any

import jsonschema
from faker import Faker
from faker.providers.date_time import Provider as _DateTimeProvider
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from rstr.xeger import Xeger

# Levels are nested values and anyOf/oneOf choices (a choice may lead back to the same schema).
SOFT_DEPTH = 6  # from this level on: no optional properties, shortest arrays, null first
MAX_DEPTH = 40  # past this, a recursive schema has no finite value
_ATTEMPTS = 25  # draws of one value before its constraints are declared unsatisfiable
_TRIES = 3  # whole values drawn before the final jsonschema check gives up
_MAX_HOPS = 32  # $ref/allOf resolutions at one level: more means a $ref cycle
_CHECKS = "\0checks"  # internal key of a merged schema: subschemas to verify, not generate from
_TYPES = ("null", "boolean", "object", "array", "number", "integer", "string")
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "$schema",
        "$id",
        "$anchor",
        "$defs",
        "definitions",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentMediaType",
        "contentEncoding",
    }
)
_LOWER_BOUNDS = frozenset({"minLength", "minItems", "minProperties", "minContains"})
_UPPER_BOUNDS = frozenset({"maxLength", "maxItems", "maxProperties", "maxContains"})
_CHECK_ONLY = ("not", "dependentSchemas", "propertyNames")
_IF = ("if", "then", "else")
_OBJECT_KEYS = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "dependentRequired",
    }
)
_ARRAY_KEYS = frozenset({"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"})
_STRING_KEYS = frozenset({"minLength", "maxLength", "pattern", "format"})
_NUMBER_KEYS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)
_UGLY = frozenset("\t\n\r\x0b\x0c")  # legal where `.` or `[^...]` stands, but unreadable
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _repaired(text: str) -> str:
    """Faker stores some capitals as UTF-8 misread as Latin-1 ("BogotÃ¡"): read them again."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


# Real cities for English Fakers: en_US only composes names like "East Michaelton".
_CAPITALS = tuple(_repaired(country.capital) for country in _DateTimeProvider.countries)


class UnsupportedSchema(ValueError):
    """A schema that no value satisfies, or that uses what the generator cannot follow."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"schema at {path}: {reason}")
        self.path = path
        self.reason = reason


def value_for(
    schema: Mapping[str, Any], rng: Random, *, name: str = "", fake: Faker | None = None
) -> Any:
    """A value valid against `schema`, drawn from `rng`; `name` is the property it is for."""
    if not isinstance(schema, Mapping | bool):
        raise UnsupportedSchema("$", "a schema must be an object or a boolean")
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    validator = validator_class(schema, format_checker=jsonschema.FormatChecker())
    generator = _Generator(schema, rng, fake if fake is not None else _default_faker(), validator)
    error = None
    with generator.bound():
        for _ in range(_TRIES):
            try:
                value = generator.value(schema, "$", name, 0)
                error = best_match(validator.iter_errors(value))
            except RecursionError:  # e.g. {"anyOf": [{"$ref": "#"}, ...]}: jsonschema loops too
                raise UnsupportedSchema("$", "a $ref loop that never reaches a value") from None
            if error is None:
                return value
    assert error is not None
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.schema_path)
    raise UnsupportedSchema(where, f"could not generate a valid value: {error.message}")


@functools.cache
def _default_faker() -> Faker:
    """Built once: a Faker costs tens of milliseconds to create."""
    return Faker("en_US")


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _IDENT.match(key) else f"{path}[{json.dumps(key)}]"


def _canon(value: Any) -> Any:
    """A hashable key under which JSON-equal values (1 and 1.0, key order) are equal."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, Mapping):
        return ("o", tuple(sorted((k, _canon(v)) for k, v in value.items())))
    return ("a", tuple(_canon(v) for v in value))


def _types(value: Any, path: str) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or any(t not in _TYPES for t in names):
        raise UnsupportedSchema(path, f"unknown type {value!r}")
    return list(dict.fromkeys(names))


def _number(value: Any, path: str, key: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnsupportedSchema(path, f"{key} must be a number, not {value!r}")
    return Fraction(value)


def _count(schema: Mapping[str, Any], key: str, path: str) -> int | None:
    value = schema.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnsupportedSchema(path, f"{key} must be a non-negative integer, not {value!r}")
    return value


def _compile(pattern: Any, path: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except (re.error, TypeError) as error:
        raise UnsupportedSchema(path, f"pattern {pattern!r} does not compile: {error}") from None


def _decimal(value: Any, path: str) -> Fraction:
    """multipleOf as written: 0.1 is one tenth, not the binary float nearest to it."""
    step = _number(value, path, "multipleOf")
    step = Fraction(str(value)) if isinstance(value, float) else step
    if step <= 0:
        raise UnsupportedSchema(path, f"multipleOf must be positive, not {value!r}")
    return step


@dataclass(frozen=True)
class _Bounds:
    low: Fraction | None
    low_x: bool
    high: Fraction | None
    high_x: bool

    def holds(self, value: int | float) -> bool:
        exact = Fraction(value)
        low, high = self.low, self.high
        above = low is None or exact > low or (exact == low and not self.low_x)
        return above and (high is None or exact < high or (exact == high and not self.high_x))


def _is_multiple(value: int | float, step: int | float) -> bool:
    """jsonschema's own multipleOf test, float quirks included (0.3 is no multiple of 0.1)."""
    if isinstance(step, float):
        quotient = value / step
        try:
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(value) / Fraction(step)).denominator == 1
    return not value % step


def _normalized(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Older drafts' spellings in 2020-12 terms, so the rest of the module knows one dialect."""
    out = dict(schema)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = out.get(exclusive)
        if isinstance(flag, bool):  # draft-04: a flag on minimum/maximum
            del out[exclusive]
            if flag and bound in out:
                out[exclusive] = out.pop(bound)
    if isinstance(out.get("items"), list):  # draft-07 tuple validation
        out["prefixItems"] = out.pop("items")
        if "additionalItems" in out:
            out["items"] = out.pop("additionalItems")
    if isinstance(out.get("dependencies"), Mapping):
        for key, dependency in out.pop("dependencies").items():
            group = "dependentRequired" if isinstance(dependency, list) else "dependentSchemas"
            out[group] = {**out.get(group, {}), key: dependency}
    return out


def _meet(a: Any, b: Any, path: str) -> list[str]:
    """The types both sides allow; an integer is also a number."""
    left, right = _types(a, path), _types(b, path)
    both = [t for t in left if t in right]
    if ("integer" in left and "number" in right) or ("integer" in right and "number" in left):
        both.append("integer")
    both = list(dict.fromkeys(both))
    if not both:
        raise UnsupportedSchema(path, f"allOf: types {a!r} and {b!r} have nothing in common")
    return both


def _lcm(a: Any, b: Any, path: str) -> int | float:
    x, y = _decimal(a, path), _decimal(b, path)
    common = Fraction(math.lcm(x.numerator, y.numerator), math.gcd(x.denominator, y.denominator))
    return int(common) if common.denominator == 1 else float(common)


def _merge(a: Mapping[str, Any], b: Mapping[str, Any], path: str) -> dict[str, Any]:
    """allOf of two flattened schemas as one schema; what does not merge is kept as a check."""
    out = dict(a)
    checks = [*a.get(_CHECKS, ()), *b.get(_CHECKS, ())]
    if "if" in a and "if" in b:
        checks.append({k: b[k] for k in _IF if k in b})
        b = {k: v for k, v in b.items() if k not in _IF}
    for key, theirs in b.items():
        if key == _CHECKS or key in _ANNOTATIONS:
            out.setdefault(key, theirs)
            continue
        if key not in out:
            out[key] = theirs
            continue
        mine = out[key]
        if key == "type":
            out[key] = _meet(mine, theirs, path)
        elif key in _LOWER_BOUNDS:
            out[key] = max(mine, theirs)
        elif key in _UPPER_BOUNDS:
            out[key] = min(mine, theirs)
        elif key == "required":
            out[key] = list(dict.fromkeys([*mine, *theirs]))
        elif key in ("properties", "patternProperties"):
            out[key] = {
                **mine,
                **{k: {"allOf": [mine[k], v]} if k in mine else v for k, v in theirs.items()},
            }
        elif key == "enum":
            allowed = {_canon(v) for v in theirs}
            out[key] = [v for v in mine if _canon(v) in allowed]
            if not out[key]:
                raise UnsupportedSchema(path, "allOf: the enums have no value in common")
        elif key == "const":
            if _canon(mine) != _canon(theirs):
                raise UnsupportedSchema(path, f"allOf: const {mine!r} and const {theirs!r}")
        elif key == "uniqueItems":
            out[key] = bool(mine or theirs)
        elif key == "multipleOf":
            out[key] = _lcm(mine, theirs, path)
            checks += [{key: mine}, {key: theirs}]
        elif key == "not":
            out[key] = {"anyOf": [mine, theirs]}
        elif _canon(mine) == _canon(theirs):
            continue
        elif key == "additionalProperties":
            out[key] = False if mine is False or theirs is False else {"allOf": [mine, theirs]}
        elif key in ("items", "contains", "propertyNames"):
            out[key] = {"allOf": [mine, theirs]}
        elif key in ("minimum", "exclusiveMinimum"):
            out[key] = max(mine, theirs)
        elif key in ("maximum", "exclusiveMaximum"):
            out[key] = min(mine, theirs)
        else:  # pattern, format, anyOf, oneOf, prefixItems, ...: generate from one, check other
            checks.append({key: theirs})
    _restrict_properties(out, a, b, path)
    _restrict_properties(out, b, a, path)
    if checks:
        out[_CHECKS] = checks
    return out


def _restrict_properties(
    out: dict[str, Any], side: Mapping[str, Any], other: Mapping[str, Any], path: str
) -> None:
    """One side's additionalProperties also governs the properties only the other side names."""
    extra = side.get("additionalProperties", True)
    if extra is True:
        return
    known = side.get("properties", {})
    patterns = [_compile(p, path) for p in side.get("patternProperties", {})]
    properties = dict(out.get("properties", {}))
    for key in other.get("properties", {}):
        if key in known or any(p.search(key) for p in patterns):
            continue
        if extra is not False:
            properties[key] = {"allOf": [properties[key], extra]}
        elif key in out.get("required", ()):
            raise UnsupportedSchema(
                path, f"allOf: {key!r} is required, but additionalProperties false forbids it"
            )
        else:
            del properties[key]
    if "properties" in out:
        out["properties"] = properties


def _weight(schema: Any) -> int:
    """How likely a branch is to recurse: deep in a recursive schema the simplest goes first."""
    if not isinstance(schema, Mapping):
        return 1
    if "$ref" in schema or "allOf" in schema:
        return 3
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "null" in types:
        return 0
    return 2 if not types or {"object", "array"} & set(types) else 1


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", name).lower()) if t]


def _string_maker(name: str) -> _Maker | None:
    tokens = _tokens(name)
    maker = _BY_NAME.get("_".join(tokens))
    if maker is None:
        present = set(tokens)
        maker = next((m for words, m in _BY_WORD if words & present), None)
    return maker


def _number_hint(name: str) -> tuple[int, int, int] | None:
    for token in reversed(_tokens(name)):
        if token in _NUMBER_HINTS:
            return _NUMBER_HINTS[token]
    return None


def _padded(text: str, compiled: re.Pattern[str], low: int) -> str:
    """A match too short for minLength, lengthened where the pattern is not anchored."""
    fill = "x" * (low - len(text))
    for candidate in (text + fill, fill + text):
        if compiled.search(candidate):
            return candidate
    return text


def _singular(name: str) -> str:
    """An array's items are named for one of it: `cities` holds a `city`."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith(("ss", "us")):
        return name[:-1]
    return name


def _date(rng: Random) -> str:
    """Dates from a fixed window: Faker's are relative to today, which breaks determinism."""
    return (date(1995, 1, 1) + timedelta(days=rng.randrange(40 * 365))).isoformat()


def _time(rng: Random) -> str:
    # No offset: jsonschema's FormatChecker reads `time` as HH:MM:SS.
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"


def _datetime(rng: Random) -> str:
    return f"{_date(rng)}T{_time(rng)}Z"


def _duration(rng: Random) -> str:
    return f"P{rng.randint(0, 30)}DT{rng.randint(0, 23)}H{rng.randint(0, 59)}M"


def _uuid(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _city(g: _Generator) -> str:
    named: Callable[[], str] | None = getattr(g.fake, "city_name", None)
    if named is not None:  # zh_CN and others list real cities
        return named()
    if g.english:
        return g.rng.choice(_CAPITALS)
    city: str = g.fake.city()
    return city


def _title(g: _Generator) -> str:
    text: str = g.fake.sentence(nb_words=g.rng.randint(2, 5))
    return text.rstrip(".。")


_Maker = Callable[["_Generator"], Any]
_FORMATS: dict[str, _Maker] = {
    "date": lambda g: _date(g.rng),
    "date-time": lambda g: _datetime(g.rng),
    "time": lambda g: _time(g.rng),
    "duration": lambda g: _duration(g.rng),
    "email": lambda g: g.fake.email(),
    "idn-email": lambda g: g.fake.email(),
    "uri": lambda g: g.fake.uri(),
    "url": lambda g: g.fake.uri(),
    "iri": lambda g: g.fake.uri(),
    "uri-reference": lambda g: g.fake.uri(),
    "iri-reference": lambda g: g.fake.uri(),
    "uuid": lambda g: _uuid(g.rng),
    "ipv4": lambda g: g.fake.ipv4(),
    "ipv6": lambda g: g.fake.ipv6(),
    "hostname": lambda g: g.fake.domain_name(),
    "idn-hostname": lambda g: g.fake.domain_name(),
    "json-pointer": lambda g: "/" + "/".join(g.fake.words(g.rng.randint(1, 3))),
    "relative-json-pointer": lambda g: f"{g.rng.randint(0, 3)}/{g.fake.word()}",
    "regex": lambda g: g.rng.choice((r"^[a-z]+$", r"\d{3}-\d{4}", r"^\w+@\w+\.com$")),
}
# Whole property names (snake_case, as `_tokens` joins them) and what they hold.
_STRING_NAMES: tuple[tuple[str, _Maker], ...] = (
    ("username user_name login handle screen_name", lambda g: g.fake.user_name()),
    ("first_name firstname given_name", lambda g: g.fake.first_name()),
    ("last_name lastname surname family_name", lambda g: g.fake.last_name()),
    ("country_code country_iso", lambda g: g.fake.country_code()),
    ("language_code lang_code locale", lambda g: g.fake.language_code()),
    ("currency currency_code", lambda g: g.fake.currency_code()),
    ("street street_address address_line address_line1", lambda g: g.fake.street_address()),
    ("ip ip_address ipv4 ipv4_address", lambda g: g.fake.ipv4()),
    ("mac mac_address", lambda g: g.fake.mac_address()),
    ("filename file_name", lambda g: g.fake.file_name()),
    ("path file_path filepath", lambda g: g.fake.file_path()),
    ("zip zipcode zip_code postcode postal_code", lambda g: g.fake.postcode()),
    ("timezone time_zone tz", lambda g: g.fake.timezone()),
    ("created_at updated_at timestamp datetime date_time", lambda g: _datetime(g.rng)),
)
# Words anywhere in a property name, most telling first: `email_address` is an email.
_STRING_WORDS: tuple[tuple[str, _Maker], ...] = (
    ("email mail", lambda g: g.fake.email()),
    ("phone mobile tel telephone fax cell", lambda g: g.fake.phone_number()),
    ("url uri website link homepage href", lambda g: g.fake.url()),
    ("uuid guid", lambda g: _uuid(g.rng)),
    ("domain hostname host", lambda g: g.fake.domain_name()),
    ("company organization organisation employer business", lambda g: g.fake.company()),
    ("city town location destination origin", _city),
    ("country nation", lambda g: g.fake.country()),
    ("state province region", lambda g: g.fake.administrative_unit()),
    ("address", lambda g: g.fake.address().replace("\n", ", ")),
    ("job occupation profession role", lambda g: g.fake.job()),
    ("color colour", lambda g: g.fake.color_name()),
    ("language lang", lambda g: g.fake.language_name()),
    ("password passwd secret", lambda g: g.fake.password(length=12)),
    ("date day birthday dob birthdate", lambda g: _date(g.rng)),
    ("time", lambda g: _time(g.rng)[:5]),
    ("title subject headline heading product item book movie song event project task", _title),
    (
        "description summary content text message body comment note notes bio reason query"
        " question prompt answer review instructions details",
        lambda g: g.fake.sentence(),
    ),
    ("name author owner customer user person contact", lambda g: g.fake.name()),
    ("id identifier", lambda g: _uuid(g.rng)),
    ("code sku reference ref", lambda g: g.fake.bothify("??-####").upper()),
    ("tag keyword category topic label word type kind", lambda g: g.fake.word()),
)
_BY_NAME = {name: maker for names, maker in _STRING_NAMES for name in names.split()}
_BY_WORD = tuple((frozenset(words.split()), maker) for words, maker in _STRING_WORDS)
# (low, high, decimals) for a number, by the last word of its name that has one.
_NUMBER_RANGES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("age", (18, 90, 0)),
    ("year", (1990, 2030, 0)),
    ("month", (1, 12, 0)),
    ("day", (1, 28, 0)),
    ("hour hours", (0, 23, 0)),
    ("minute minutes second seconds", (0, 59, 0)),
    (
        "count quantity qty num number guests people adults children items limit size n k"
        " nights days page results passengers rooms",
        (1, 10, 0),
    ),
    ("rating stars", (1, 5, 1)),
    ("score percent percentage pct", (0, 100, 1)),
    ("probability confidence ratio", (0, 1, 2)),
    ("price amount cost total balance salary fee budget", (1, 1000, 2)),
    ("temperature temp celsius fahrenheit", (-10, 35, 1)),
    ("latitude lat", (-90, 90, 4)),
    ("longitude lng lon long", (-180, 180, 4)),
    ("id", (1, 99999, 0)),
    ("port", (1024, 65535, 0)),
    ("timestamp epoch", (1_600_000_000, 1_800_000_000, 0)),
    ("weight height width length distance radius", (1, 500, 1)),
)
_NUMBER_HINTS = {word: hint for words, hint in _NUMBER_RANGES for word in words.split()}


class _PatternRandom(Random):
    """The Random that rstr draws from, made safe for a reproducible mock.

    rstr picks characters out of sets, whose order changes with PYTHONHASHSEED: sorting a string
    population first keeps one seed one string in every process; control whitespace (form feed,
    vertical tab, ...) is left out where anything else may stand. Its `*` and `+` repeat up to
    100 times: `repeat_cap` keeps strings short and plausible (callers raise it on retries).
    """

    def __init__(self, seed: int, repeat_cap: int) -> None:
        super().__init__(seed)
        self.repeat_cap = repeat_cap

    def choice(self, seq: Any) -> Any:
        if seq and all(isinstance(item, str) for item in seq):
            seq = sorted(seq)
            seq = [c for c in seq if c not in _UGLY] or seq
        return super().choice(seq)

    def randint(self, a: int, b: int) -> int:
        return super().randint(a, min(b, a + self.repeat_cap))


class _Generator:
    """One value_for call: the root schema (for $ref), the random source and the checker."""

    rng: Random
    fake: Faker

    def __init__(
        self, root: Mapping[str, Any] | bool, rng: Random, fake: Faker, validator: Validator
    ) -> None:
        self.root = root
        self.rng = rng
        self.validator = validator
        self.checker = jsonschema.FormatChecker()
        self.english = fake.locales[0].startswith("en")
        # A multi-locale Faker picks its locale with the global random: use the first one only.
        self.fake = fake[fake.locales[0]] if len(fake.locales) > 1 else fake

    @contextmanager
    def bound(self) -> Iterator[None]:
        """Faker draws from our rng while we generate, and gets its own source back after."""
        saved = self.fake.random
        self.fake.random = self.rng  # type: ignore[attr-defined]  # the proxy forwards it
        try:
            yield
        finally:
            self.fake.random = saved  # type: ignore[attr-defined]

    def passes(self, value: Any, schema: Any) -> bool:
        return bool(self.validator.evolve(schema=schema).is_valid(value))

    # Resolution: $ref and allOf folded into one mapping.

    def deref(self, ref: Any, path: str) -> tuple[Any, str]:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise UnsupportedSchema(path, f"$ref {ref!r}: only refs into this schema ('#/...')")
        pointer = urllib.parse.unquote(ref[1:])
        if pointer and not pointer.startswith("/"):
            raise UnsupportedSchema(path, f"$ref {ref!r}: anchors are not supported")
        node: Any = self.root
        where = "$"
        for raw in pointer.split("/")[1:]:
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and token in node:
                node, where = node[token], _at(where, token)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node, where = node[int(token)], _at(where, int(token))
            else:
                raise UnsupportedSchema(path, f"$ref {ref!r} points at nothing")
        return node, where

    def flatten(self, schema: Any, path: str, hops: int = 0) -> tuple[dict[str, Any], str]:
        """The schema with its $ref and allOf merged in, and the path errors should name."""
        if schema is True:
            return {}, path
        if schema is False:
            raise UnsupportedSchema(path, "the schema `false` accepts no value")
        if not isinstance(schema, Mapping):
            raise UnsupportedSchema(path, f"a schema must be an object or a boolean: {schema!r}")
        if hops > _MAX_HOPS:
            raise UnsupportedSchema(path, "$ref/allOf chain too long: a $ref cycle?")
        own = _normalized(schema)
        parts: list[dict[str, Any]] = []
        if "$ref" in own:
            target, where = self.deref(own.pop("$ref"), path)
            flat, where = self.flatten(target, where, hops + 1)
            if "allOf" not in own and not set(own) - _ANNOTATIONS:
                return flat, where
            parts.append(flat)
        for i, sub in enumerate(own.pop("allOf", ())):
            parts.append(self.flatten(sub, _at(_at(path, "allOf"), i), hops + 1)[0])
        for part in parts:
            own = _merge(own, part, path)
        return own, path

    # Generation.

    def value(self, schema: Any, path: str, name: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise UnsupportedSchema(
                path, f"nested over {MAX_DEPTH} levels deep: a recursion with no finite value?"
            )
        flat, path = self.flatten(schema, path)
        checks = list(flat.get(_CHECKS, ()))
        checks += [{key: flat[key]} for key in _CHECK_ONLY if key in flat]
        if "if" in flat:
            checks.append({k: flat[k] for k in _IF if k in flat})
        if "minContains" in flat or "maxContains" in flat:
            keys = ("contains", "minContains", "maxContains")
            checks.append({k: flat[k] for k in keys if k in flat})
        if not checks:
            return self.draw(flat, path, name, depth)
        for _ in range(_ATTEMPTS):
            value = self.draw(flat, path, name, depth)
            if all(self.passes(value, check) for check in checks):
                return value
        keywords = sorted({key for check in checks for key in check})
        raise UnsupportedSchema(path, f"no value found that also satisfies {', '.join(keywords)}")

    def draw(self, flat: dict[str, Any], path: str, name: str, depth: int) -> Any:
        if "const" in flat:
            return copy.deepcopy(flat["const"])
        if "enum" in flat:
            return self.enum(flat, path)
        if "anyOf" in flat or "oneOf" in flat:
            return self.branch(flat, path, name, depth)
        error: UnsupportedSchema | None = None
        for kind in self.kinds(flat, path, name, depth):
            try:
                return self.typed(kind, flat, path, name, depth)
            except UnsupportedSchema as failure:
                error = error or failure
        assert error is not None
        raise error

    def enum(self, flat: Mapping[str, Any], path: str) -> Any:
        options = flat["enum"]
        if not isinstance(options, list) or not options:
            raise UnsupportedSchema(path, "enum must be a non-empty array")
        rest = {
            k: v for k, v in flat.items() if k not in ("enum", _CHECKS) and k not in _ANNOTATIONS
        }
        if rest:
            options = [option for option in options if self.passes(option, rest)]
        if not options:
            raise UnsupportedSchema(path, "no enum value satisfies the schema's other keywords")
        return copy.deepcopy(self.rng.choice(options))

    def branch(self, flat: dict[str, Any], path: str, name: str, depth: int) -> Any:
        """anyOf / oneOf: a branch that can be satisfied; for oneOf, by a value of it alone."""
        key = "anyOf" if "anyOf" in flat else "oneOf"
        branches = flat[key]
        if not isinstance(branches, list) or not branches:
            raise UnsupportedSchema(path, f"{key} must be a non-empty array")
        base = {k: v for k, v in flat.items() if k != key}
        order = list(range(len(branches)))
        self.rng.shuffle(order)
        if depth >= SOFT_DEPTH:
            order.sort(key=lambda i: _weight(branches[i]))
        elif self.rng.random() < 0.9:  # Optional[X] is mostly an X
            order.sort(key=lambda i: _weight(branches[i]) == 0)
        error: UnsupportedSchema | None = None
        for i in order:
            where = _at(_at(path, key), i)
            try:
                merged = _merge(base, self.flatten(branches[i], where)[0], where)
                for _ in range(_ATTEMPTS if key == "oneOf" else 1):
                    value = self.value(merged, where, name, depth + 1)
                    others = (b for j, b in enumerate(branches) if j != i)
                    if key == "anyOf" or not any(self.passes(value, b) for b in others):
                        return value
            except UnsupportedSchema as failure:
                error = error or failure
        raise error or UnsupportedSchema(path, "oneOf: no value matches exactly one branch")

    def kinds(self, flat: Mapping[str, Any], path: str, name: str, depth: int) -> list[str]:
        """The types to try, most plausible first."""
        if "type" in flat:
            types = _types(flat["type"], path)
        else:
            keys = set(flat)
            families = (
                (_OBJECT_KEYS, "object"),
                (_ARRAY_KEYS, "array"),
                (_STRING_KEYS, "string"),
                (_NUMBER_KEYS, "number"),
            )
            types = [kind for keywords, kind in families if keys & keywords]
            if not types:  # any value at all: what the name suggests, else any scalar
                hint = _number_hint(name)
                if _string_maker(name) is not None:
                    return ["string"]
                if hint is not None:
                    return ["integer" if hint[2] == 0 else "number"]
                types = ["string", "integer", "number", "boolean"]
        solid = [t for t in types if t != "null"]
        self.rng.shuffle(solid)
        if "null" not in types:
            return solid
        if depth >= SOFT_DEPTH or not solid or self.rng.random() < 0.1:
            return ["null", *solid]
        return [*solid, "null"]

    def typed(self, kind: str, flat: Mapping[str, Any], path: str, name: str, depth: int) -> Any:
        if kind == "null":
            return None
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "integer":
            return self.integer(flat, path, name)
        if kind == "number":
            return self.number(flat, path, name)
        if kind == "string":
            return self.string(flat, path, name)
        if kind == "array":
            return self.array(flat, path, name, depth)
        return self.object(flat, path, depth)

    # Numbers.

    def bounds(self, flat: Mapping[str, Any], path: str) -> _Bounds:
        low = high = None
        low_x = high_x = False
        for key, exclusive in (("minimum", False), ("exclusiveMinimum", True)):
            if key in flat:
                v = _number(flat[key], path, key)
                if low is None or v > low or (v == low and exclusive):
                    low, low_x = v, exclusive
        for key, exclusive in (("maximum", False), ("exclusiveMaximum", True)):
            if key in flat:
                v = _number(flat[key], path, key)
                if high is None or v < high or (v == high and exclusive):
                    high, high_x = v, exclusive
        return _Bounds(low, low_x, high, high_x)

    def window(
        self, low: Fraction | None, high: Fraction | None, name: str
    ) -> tuple[Fraction, Fraction, int]:
        """Where to draw from: the schema's bounds, narrowed to what the name suggests."""
        hint = _number_hint(name)
        span = Fraction(100)
        if low is None and high is None:
            low, high = (Fraction(hint[0]), Fraction(hint[1])) if hint else (Fraction(0), span)
        elif low is None:
            assert high is not None
            low = high - span
        elif high is None:
            high = low + span
        if hint is None:
            return low, high, 2
        a, b = max(low, Fraction(hint[0])), min(high, Fraction(hint[1]))
        return (a, b, hint[2]) if a <= b else (low, high, hint[2])

    def multiple(
        self, step: Fraction, raw: int | float, window: tuple[Fraction, Fraction], bounds: _Bounds
    ) -> int | float | None:
        """k * step inside the window (else the schema's bounds) that jsonschema agrees with."""
        k_low, k_high = math.ceil(window[0] / step), math.floor(window[1] / step)
        if k_low > k_high:  # the name's window holds no multiple: use the schema's bounds
            first = None if bounds.low is None else math.ceil(bounds.low / step)
            last = None if bounds.high is None else math.floor(bounds.high / step)
            k_low = first if first is not None else (last or 0) - 3
            k_high = last if last is not None else k_low + 3
        span = k_high - k_low
        for attempt in range(_ATTEMPTS * 4):
            k = self.rng.randint(k_low, k_high) if attempt < _ATTEMPTS else k_low + attempt
            if attempt >= _ATTEMPTS:
                k -= _ATTEMPTS
            if k > k_high or span < 0:
                break
            exact = k * step
            v = int(exact) if exact.denominator == 1 else float(exact)
            if bounds.holds(v) and _is_multiple(v, raw):
                return v
        return None

    def integer(self, flat: Mapping[str, Any], path: str, name: str) -> int:
        bounds = self.bounds(flat, path)
        low, high = bounds.low, bounds.high
        first = None if low is None else math.floor(low) + 1 if bounds.low_x else math.ceil(low)
        last = None if high is None else math.ceil(high) - 1 if bounds.high_x else math.floor(high)
        if first is not None and last is not None and first > last:
            raise UnsupportedSchema(path, f"no integer lies between {low} and {high}")
        raw = flat.get("multipleOf", 1)
        step = _decimal(raw, path)
        window = self.window(
            None if first is None else Fraction(first),
            None if last is None else Fraction(last),
            name,
        )
        # k * p/q (in lowest terms) is an integer exactly when it is a multiple of p.
        found = self.multiple(Fraction(step.numerator), raw, window[:2], bounds)
        if found is None:
            raise UnsupportedSchema(path, f"no integer found that is a multiple of {raw}")
        return int(found)

    def number(self, flat: Mapping[str, Any], path: str, name: str) -> int | float:
        bounds = self.bounds(flat, path)
        low, high = bounds.low, bounds.high
        exclusive = bounds.low_x or bounds.high_x
        if low is not None and high is not None and (low > high or (low == high and exclusive)):
            raise UnsupportedSchema(path, f"no number lies between {low} and {high}")
        a, b, decimals = self.window(low, high, name)
        if "multipleOf" in flat:
            raw = flat["multipleOf"]
            found = self.multiple(_decimal(raw, path), raw, (a, b), bounds)
            if found is None:
                raise UnsupportedSchema(path, f"no number found that is a multiple of {raw}")
            return found
        for _ in range(_ATTEMPTS):
            drawn = float(a) + self.rng.random() * float(b - a)
            rounded = round(drawn, decimals)
            for v in (int(rounded) if decimals == 0 else rounded, drawn, float(a), float(b)):
                if bounds.holds(v):
                    return v
        for v in (math.nextafter(float(a), math.inf), math.nextafter(float(b), -math.inf)):
            if bounds.holds(v):
                return v
        raise UnsupportedSchema(path, f"no float found between {low} and {high}")

    # Strings.

    def string_hint(self, name: str) -> str | None:
        maker = _string_maker(name)
        if maker is None:
            return None
        try:
            return str(maker(self))
        except AttributeError:  # this locale has no such provider
            return None

    def phrase(self) -> str:
        words: list[str] = self.fake.words(self.rng.randint(1, 3))
        joiner = "" if any(_CJK.search(w) for w in words) else " "
        return joiner.join(words)

    def text(self, name: str, low: int, high: int | None) -> str:
        """The name's kind of value if it has one, else a short phrase; cut or padded to fit."""
        text = self.string_hint(name)
        if text is None:
            text = self.phrase()
        while len(text) < low:
            joiner = "" if _CJK.search(text) else " "
            text = f"{text}{joiner}{self.phrase()}"
        if high is not None and len(text) > high:
            cut = text[:high]
            text = cut.rstrip() if len(cut.rstrip()) >= low else cut
        return text

    def from_pattern(self, pattern: str, compiled: re.Pattern[str], attempt: int) -> str | None:
        """A string matching `pattern` (searched, as JSON Schema does), or None on a miss."""
        source = _PatternRandom(self.rng.getrandbits(64), 4 << min(attempt // 4, 5))
        try:
            text = Xeger(source).xeger(pattern)
        except Exception:  # rstr fails on what it cannot expand (conditionals, atomic groups)
            return None
        return text if compiled.search(text) else None

    def string(self, flat: Mapping[str, Any], path: str, name: str) -> str:
        low = _count(flat, "minLength", path) or 0
        high = _count(flat, "maxLength", path)
        if high is not None and low > high:
            raise UnsupportedSchema(path, f"minLength {low} > maxLength {high}")
        fmt = flat.get("format")
        pattern = flat.get("pattern")
        compiled = None if pattern is None else _compile(pattern, path)

        def fits(text: str) -> bool:
            if len(text) < low or (high is not None and len(text) > high):
                return False
            if compiled is not None and not compiled.search(text):
                return False
            return fmt is None or self.checker.conforms(text, fmt)

        for attempt in range(_ATTEMPTS):
            candidates: list[str | None] = []
            if fmt in _FORMATS:
                candidates.append(str(_FORMATS[fmt](self)))
            if compiled is not None:
                matched = self.from_pattern(str(pattern), compiled, attempt)
                candidates.append(matched and _padded(matched, compiled, low))
            elif fmt not in _FORMATS:
                candidates.append(self.text(name, low, high))
            for text in candidates:
                if text is not None and fits(text):
                    return text
        wanted = ", ".join(
            f"{key} {flat[key]!r}"
            for key in ("format", "pattern", "minLength", "maxLength")
            if key in flat
        )
        raise UnsupportedSchema(path, f"no string found with {wanted}")

    # Arrays.

    def array(self, flat: Mapping[str, Any], path: str, name: str, depth: int) -> list[Any]:
        prefix = flat.get("prefixItems", [])
        items = flat.get("items", True)
        low = _count(flat, "minItems", path) or 0
        high = _count(flat, "maxItems", path)
        if items is False:
            high = len(prefix) if high is None else min(high, len(prefix))
        if high is not None and low > high:
            raise UnsupportedSchema(path, f"minItems {low} > maxItems {high}")
        if depth >= SOFT_DEPTH:
            size = low
        else:
            floor = max(low, min(len(prefix), 3), 1)
            size = self.rng.randint(floor, floor + 2)
            if high is not None:
                size = max(low, min(size, high))
        unique = bool(flat.get("uniqueItems"))
        item_name = _singular(name)
        out: list[Any] = []
        seen: set[Any] = set()
        for i in range(size):
            where = _at(_at(path, "prefixItems"), i) if i < len(prefix) else _at(path, "items")
            schema = prefix[i] if i < len(prefix) else items
            for _ in range(_ATTEMPTS if unique else 1):
                value = self.value(schema, where, item_name, depth + 1)
                if not unique or _canon(value) not in seen:
                    break
            else:
                if len(out) >= low:
                    break
                raise UnsupportedSchema(path, f"cannot find {low} distinct items")
            seen.add(_canon(value))
            out.append(value)
        if "contains" in flat and not any(self.passes(v, flat["contains"]) for v in out):
            self.add_contained(out, flat, path, item_name, depth, len(prefix), high)
        return out

    def add_contained(
        self,
        out: list[Any],
        flat: Mapping[str, Any],
        path: str,
        name: str,
        depth: int,
        fixed: int,
        high: int | None,
    ) -> None:
        """Put in one item that matches `contains` (and `items`), past the prefixItems."""
        schema = {"allOf": [flat.get("items", True), flat["contains"]]}
        value = self.value(schema, _at(path, "contains"), name, depth + 1)
        if len(out) > fixed:
            out[self.rng.randrange(fixed, len(out))] = value
        elif high is None or len(out) < high:
            out.append(value)
        else:
            raise UnsupportedSchema(path, "no room for an item matching contains")

    # Objects.

    def object(self, flat: Mapping[str, Any], path: str, depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = flat.get("properties", {})
        extra = flat.get("additionalProperties", True)
        required = list(dict.fromkeys(flat.get("required", [])))
        low = _count(flat, "minProperties", path) or 0
        high = _count(flat, "maxProperties", path)
        depends: Mapping[str, Sequence[str]] = flat.get("dependentRequired", {})
        if high is not None and (len(required) > high or low > high):
            raise UnsupportedSchema(path, f"more properties required than maxProperties {high}")

        def closed(keys: list[str]) -> list[str]:
            out = list(keys)
            for key in out:  # grows while iterating: dependencies of dependencies
                out += [d for d in depends.get(key, ()) if d not in out]
            return out

        optional = [k for k in properties if k not in required]
        keys = closed(required)
        if depth < SOFT_DEPTH:
            for key in optional:
                wanted = closed([*keys, key])
                if self.rng.random() < 0.6 and (high is None or len(wanted) <= high):
                    keys = wanted
        for key in optional:
            if len(keys) >= low:
                break
            wanted = closed([*keys, key])
            keys = wanted if high is None or len(wanted) <= high else keys
        extras = max(0, low - len(keys))
        if not properties and isinstance(extra, Mapping) and depth < SOFT_DEPTH:
            extras = max(extras, self.rng.randint(1, 3))  # a map: give it some entries
        if high is not None:
            extras = min(extras, high - len(keys))
        keys += self.extra_names(extras, flat, path, keys)
        order = {key: i for i, key in enumerate(properties)}
        keys.sort(key=lambda key: order.get(key, len(order)))
        return {key: self.property(key, flat, path, depth) for key in keys}

    def property(self, key: str, flat: Mapping[str, Any], path: str, depth: int) -> Any:
        properties: Mapping[str, Any] = flat.get("properties", {})
        parts: list[Any] = []
        where = _at(path, "additionalProperties")
        if key in properties:
            parts.append(properties[key])
            where = _at(_at(path, "properties"), key)
        patterns: Mapping[str, Any] = flat.get("patternProperties", {})
        parts += [s for p, s in patterns.items() if _compile(p, path).search(key)]
        if not parts:
            extra = flat.get("additionalProperties", True)
            if extra is False:
                raise UnsupportedSchema(
                    path, f"{key!r} is required, but additionalProperties false forbids it"
                )
            parts.append(extra)
        schema = parts[0] if len(parts) == 1 else {"allOf": parts}
        return self.value(schema, where, key, depth + 1)

    def extra_names(
        self, count: int, flat: Mapping[str, Any], path: str, taken: list[str]
    ) -> list[str]:
        """Names beyond `properties`: from propertyNames, else a pattern, else a word or two."""
        names: list[str] = []
        patterns = list(flat.get("patternProperties", {}))
        closed = flat.get("additionalProperties", True) is False
        for attempt in range(count * _ATTEMPTS):
            if len(names) == count:
                break
            candidate: Any = None
            if "propertyNames" in flat:
                candidate = self.value(flat["propertyNames"], _at(path, "propertyNames"), "", 0)
            elif closed and patterns:
                pattern = self.rng.choice(patterns)
                compiled = _compile(pattern, path)
                matched = self.from_pattern(pattern, compiled, attempt)
                if matched is not None:  # "^x_" always gives "x_": a word after it tells apart
                    longer = f"{matched}{self.fake.word()}"
                    candidate = longer if compiled.search(longer) else matched
            elif closed:
                raise UnsupportedSchema(
                    path, "minProperties needs more properties than additionalProperties allows"
                )
            else:
                candidate = "_".join(self.fake.words(self.rng.randint(1, 2))).lower()
            if (
                isinstance(candidate, str)
                and candidate not in taken
                and candidate not in names
                and candidate not in flat.get("properties", {})
            ):
                names.append(candidate)
        if len(names) < count:
            raise UnsupportedSchema(path, f"cannot find {count} more distinct property names")
        return names

"""Regular expressions that run in linear time, whatever the pattern and the text.

Patterns come from fixtures, admin queries and clients' JSON Schemas, and texts from clients:
with a backtracking engine, `^(a+)+$` against 'a'*30 + '!' runs for minutes (and a match in C
cannot be interrupted). Google's RE2 guarantees time linear in the text; what it gives up is
lookaround and backreferences, which are refused when the pattern is compiled, with RE2's
reason, so a fixture says so at load time and not at the first request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import re2


class RegexError(ValueError):
    """A pattern RE2 cannot compile (a syntax error, lookaround, a backreference, ...)."""


class Regex(Protocol):
    """The part of a compiled pattern the server uses (re.Pattern has the same methods)."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> Any: ...

    def match(self, text: str) -> Any: ...

    def fullmatch(self, text: str) -> Any: ...


# RE2 rejects `\Z` (Python's end of text); `\z` means the same there.
_PYTHON_ONLY = ((r"\Z", r"\z"),)


def _options(ignore_case: bool) -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print its own copy of the error to stderr
    options.case_sensitive = not ignore_case
    options.max_mem = 8 << 20  # a pattern whose automaton needs more is refused, not built
    return options


@functools.lru_cache(maxsize=64)  # schemas repeat their patterns across requests
def compile_linear(pattern: str, ignore_case: bool = False) -> Regex:
    """`pattern` compiled by RE2, or RegexError saying why it cannot run in linear time."""
    if not isinstance(pattern, str):
        raise RegexError(f"a pattern must be a string, not {type(pattern).__name__}")
    source = pattern
    for python, ours in _PYTHON_ONLY:
        source = _replace_unescaped(source, python, ours)
    try:
        compiled: Regex = re2.compile(source, _options(ignore_case))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise RegexError(
            f"{pattern!r} is not a pattern RE2 runs ({reason}); patterns run in linear time, "
            "without lookaround, backreferences or repetitions over 1000"
        ) from None
    return compiled


def finder(regex: Regex, *, anchored: bool = False) -> Callable[[str], bool]:
    """Whether `regex` is found in a text (matches at its start when `anchored`), and nothing
    more: the fixture matcher's hot path.

    RE2's Python wrapper builds a Match for every search and maps its byte offsets back to
    characters; a yes/no asks RE2 alone (1.5 us instead of 4.1 per search, measured; the
    bundled fixtures test five patterns per request). Any other engine: search or match.
    """
    find = regex.match if anchored else regex.search

    def public(text: str) -> bool:
        return find(text) is not None

    inner = getattr(regex, "_regexp", None)
    anchors = getattr(re2, "_Anchor", None)
    if inner is None or anchors is None:
        return public
    anchor = anchors.ANCHOR_START if anchored else anchors.UNANCHORED
    missing = (-1, -1)  # RE2's span of a group that did not take part

    def found(text: str) -> bool:
        encoded = text.encode("utf-8")  # what the wrapper hands RE2, too
        return bool(inner.Match(anchor, encoded, 0, len(encoded))[0] != missing)

    # The wrapper's internals are not its API: a google-re2 release that changes them must
    # cost speed, not a 500 at the first request. Both ways answer a few probes alike first.
    try:
        if all(found(probe) is public(probe) for probe in ("", "a", "ß\n字")):
            return found
    except (TypeError, AttributeError, IndexError, ValueError):
        pass
    return public


def _replace_unescaped(text: str, old: str, new: str) -> str:
    r"""`old` (a two-character escape) replaced where it is not itself escaped (`\\Z` stays)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            pair = text[i : i + 2]
            out.append(new if pair == old else pair)
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def glob_to_regex(glob: str) -> str:
    """A shell glob (`*`, `?`, `[...]`) as an RE2 pattern matching the whole text."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        c = glob[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = glob.find("]", i + 1 if i < len(glob) and glob[i] in "!]" else i)
            if end < 0:
                out.append(r"\[")
                continue
            body = glob[i:end]
            i = end + 1
            negated = body.startswith("!")
            body = body[1:] if negated else body
            body = body.replace("\\", r"\\").replace("^", r"\^").replace("[", r"\[")
            out.append(f"[{'^' if negated else ''}{body}]")
        else:
            out.append(re2.escape(c) if c.isascii() and not c.isalnum() else c)
    return "(?s:" + "".join(out) + r")\z"

"""YAML as data with libyaml's safe loader, its size and depth bounded before anything is built.

Fixture files, admin bodies and contract documents are YAML from outside: nine lines of
`&a [*a, *a, ...]` stand for billions of values (and `&a [*a]` for endlessly many), which the
loader shares rather than copies, but every walk of the data afterwards expands. And what reads
the data (the fixture schema check, templates, match blocks, the spec reader) recurses once per
level. So the node tree is measured first, each node once, and a document past either limit is
refused: AliasBomb or TooDeep.
"""

from __future__ import annotations

from typing import Any

import yaml

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
MAX_EXPANDED = 100_000  # values a YAML document may stand for once its aliases are expanded
MAX_NESTING = 100  # levels (libyaml's own limit is 1000, past Python's recursion limit)


class Unbounded(ValueError):
    """A document refused before it is built; `lineno` is where it starts."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.lineno = line


class AliasBomb(Unbounded):
    """A YAML document whose aliases expand to more than `limit` values (or without end)."""

    def __init__(self, line: int, limit: int = MAX_EXPANDED) -> None:
        super().__init__(
            f"its aliases (*name) expand to over {limit} values: refused (an alias bomb?)", line
        )


class TooDeep(Unbounded):
    """A YAML document nested more than MAX_NESTING levels deep."""

    def __init__(self, line: int) -> None:
        super().__init__(f"nested more than {MAX_NESTING} levels deep: refused", line)


def measure(node: Any, limit: int = MAX_EXPANDED) -> tuple[int, int]:
    """(values, levels): how many values the node stands for with every alias expanded (capped
    at limit + 1), and how deep it nests, without expanding anything. An alias is the same node
    object, so each collection is measured once. A node that holds itself (`&a [*a]`) stands for
    endlessly many values: limit + 1."""
    if isinstance(node, yaml.ScalarNode):
        return 1, 1
    measured: dict[int, tuple[int, int]] = {}
    open_: set[int] = set()  # collections whose children are being measured: the current line
    stack: list[tuple[Any, list[Any] | None]] = [(node, None)]
    while stack:
        current, children = stack.pop()
        key = id(current)
        if children is not None:  # every child measured: this one's turn
            parts = [
                (1, 1) if isinstance(c, yaml.ScalarNode) else measured[id(c)] for c in children
            ]
            total = 1 + sum(size for size, _ in parts)
            measured[key] = (min(total, limit + 1), 1 + max((d for _, d in parts), default=0))
            open_.discard(key)
            continue
        if key in measured:
            continue
        if key in open_:
            return limit + 1, 0
        value = current.value
        mapping = isinstance(current, yaml.MappingNode)
        children = [part for pair in value for part in pair] if mapping else value
        open_.add(key)
        stack.append((current, children))
        stack.extend(
            (c, None)
            for c in children
            if not isinstance(c, yaml.ScalarNode) and id(c) not in measured
        )
    return measured[id(node)]


def refuse_unbounded(node: Any, limit: int = MAX_EXPANDED) -> None:
    """AliasBomb or TooDeep for a node tree too big or too deep to build and read."""
    values, levels = measure(node, limit)
    if values > limit:
        raise AliasBomb(node.start_mark.line + 1, limit)
    if levels > MAX_NESTING:
        raise TooDeep(node.start_mark.line + 1)


def refuse_too_deep(data: Any) -> None:
    """TooDeep for data already built (JSON libyaml cannot read, so without a node tree) nested
    past MAX_NESTING, its levels counted as `measure` counts them (a scalar is one)."""
    level = [data]
    for _ in range(MAX_NESTING):
        level = [
            child
            for node in level
            if isinstance(node, (dict, list))
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
    raise TooDeep(1)


def load_with_node(text: str, limit: int = MAX_EXPANDED) -> tuple[Any, Any]:
    """The data and its node tree (for line numbers), in one libyaml pass; (None, None) for
    an empty document."""
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        refuse_unbounded(node, limit)
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def safe_yaml(text: str, limit: int = MAX_EXPANDED) -> Any:
    """YAML (or JSON) text as data; AliasBomb past `limit` values, TooDeep past MAX_NESTING."""
    return load_with_node(text, limit)[0]

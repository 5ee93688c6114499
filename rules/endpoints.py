"""What an endpoint line's path says: the path template and the query parameters it names.

``/forecast/{city}?days:int&hourly&format=json`` is the template ``/forecast/{city}`` with
one path parameter (``city``), two query parameters the caller may pass (``days``, an
integer, and ``hourly``, text) and one fixed query item always sent (``format=json``).
A query item is ``name``, ``name:type`` (``str``, ``int``, ``float``, ``bool`` and their
usual spellings; any other suffix stays part of the name, as in ``created:gte``),
``name={placeholder}`` or ``name=`` (a parameter), or ``name=value`` (fixed).
Pure: the issue-form parser uses it to report problems, the generators to write code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_PARAM = re.compile(r"\{([^{}]*)\}")
TYPE_ALIASES = {
    "str": "str", "string": "str", "text": "str",
    "int": "int", "integer": "int", "long": "int",
    "float": "float", "number": "float", "double": "float", "decimal": "float",
    "bool": "bool", "boolean": "bool",
}
TYPE_NAMES = ("str", "int", "float", "bool")


@dataclass(frozen=True)
class QueryItem:
    """One ``&``-separated item of the query: a parameter, or a fixed ``name=value``."""

    name: str
    type: str = "str"
    fixed: str | None = None  # the value always sent; None for a parameter


@dataclass(frozen=True)
class EndpointShape:
    """The path's segments (``("text", literal)`` / ``("param", name)``) and its query."""

    segments: tuple[tuple[str, str], ...]
    query: tuple[QueryItem, ...]
    problems: tuple[str, ...] = ()

    @property
    def path_params(self) -> list[str]:
        return [value for kind, value in self.segments if kind == "param"]


def _segments(template: str) -> tuple[tuple[str, str], ...]:
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in _PARAM.finditer(template):
        if match.start() > position:
            pieces.append(("text", template[position:match.start()]))
        pieces.append(("param", match.group(1)))
        position = match.end()
    if position < len(template):
        pieces.append(("text", template[position:]))
    return tuple(pieces)


def _query_item(raw: str) -> tuple[QueryItem | None, str | None]:
    """One query item, or the problem with it."""
    name, equals, value = raw.partition("=")
    name = unquote(name).strip()
    type_name = "str"
    if not equals and ":" in name:
        base, _, written_type = name.rpartition(":")
        key = written_type.strip().lower()
        if key in TYPE_ALIASES:  # else the colon is part of the name, as in ``created:gte``
            name, type_name = base, TYPE_ALIASES[key]
    placeholder = _PARAM.fullmatch(name)
    if placeholder:
        name = placeholder.group(1)
    name = name.strip()
    if not name:
        return None, f"the query item {raw[:40]!r} has no parameter name"
    if equals and value and not _PARAM.fullmatch(value):
        return QueryItem(name=name, fixed=unquote(value)), None
    return QueryItem(name=name, type=type_name), None


def split_endpoint_path(path: str) -> EndpointShape:
    """The path template (before ``?``) and the query items (after it)."""
    template, _, query = path.partition("?")
    items: list[QueryItem] = []
    problems: list[str] = []
    for raw in query.split("&") if query else []:
        if not raw:
            continue
        item, problem = _query_item(raw)
        if item is not None:
            items.append(item)
        if problem is not None:
            problems.append(problem)
    return EndpointShape(segments=_segments(template), query=tuple(items),
                         problems=tuple(problems))

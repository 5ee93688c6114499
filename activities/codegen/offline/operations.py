"""The request's endpoints as operations: method, path template, query parameters, names.

``GET /forecast/{city}?days:int&hourly - ...`` becomes ``get_forecast(city, *, days=None,
hourly=None, params=None)``. Every identifier comes from the strict ``[a-z0-9_]`` mapping of
``rules.naming``; the path and the query names as written are untrusted and only ever
written into generated code as string literals.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from activities.codegen.offline.text import one_line
from models.request import IntegrationRequest
from rules.endpoints import EndpointShape, QueryItem, split_endpoint_path
from rules.naming import words

PAYLOAD_METHODS = frozenset({"POST", "PUT", "PATCH"})
EXTRA_PARAMS_ARG = "params"  # every operation accepts a mapping of further query parameters
PYTHON_TYPES = {"str": "str", "int": "int", "float": "float", "bool": "bool"}

# Argument names that would clash with the generated code or with pydantic's BaseModel. Path
# parameters keep the set earlier generations used, so an update names them as before.
_MODEL_NAMES = frozenset(name for name in dir(BaseModel) if not name.startswith("_"))
_RESERVED_PATH_ARGS = frozenset(
    {"self", "payload", "client", "body", "factory", "version", "app", "path", "method",
     EXTRA_PARAMS_ARG}) | _MODEL_NAMES
_RESERVED_QUERY_ARGS = frozenset({"self", "payload", EXTRA_PARAMS_ARG}) | _MODEL_NAMES
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def argument_name(raw: str, taken: set[str],
                  reserved: frozenset[str] = _RESERVED_PATH_ARGS) -> str:
    """A parameter's name as a safe, unique Python argument name."""
    name = "_".join(words(raw))[:40].strip("_") or "param"
    if name[0].isdigit() or name.startswith("model_") or name in reserved:
        name = f"param_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    unique, number = name, 2
    while unique in taken:
        unique, number = f"{name}_{number}", number + 1
    taken.add(unique)
    return unique


@dataclass(frozen=True)
class QueryParam:
    """A query parameter the endpoint line names: its name on the wire, argument and type."""

    wire: str  # as written (decoded): untrusted, only ever a string literal
    arg: str
    type: str  # "str", "int", "float" or "bool"

    @property
    def annotation(self) -> str:
        return f"{PYTHON_TYPES[self.type]} | None"


@dataclass(frozen=True)
class Operation:
    """One endpoint of the request, with the names the generated code uses for it."""

    name: str
    method: str
    path: str  # as the request wrote it: untrusted, only ever written as a literal
    description: str  # cleaned, one line
    pieces: tuple[tuple[str, str], ...]  # ("text", literal part) or ("param", argument name)
    query: tuple[QueryParam, ...] = ()
    fixed_query: tuple[tuple[str, str], ...] = ()  # ``?format=json``: always sent

    @property
    def params(self) -> list[str]:
        """The path parameters' argument names, in order."""
        return [value for kind, value in self.pieces if kind == "param"]

    @property
    def has_payload(self) -> bool:
        return self.method in PAYLOAD_METHODS

    @property
    def model_name(self) -> str:
        return "".join(word.capitalize() for word in self.name.split("_")) + "Body"

    def summary(self) -> str:
        text = f"{self.method} {self.path}"
        return f"{text} - {self.description}" if self.description else text


def _pieces(shape: EndpointShape, taken: set[str]) -> tuple[tuple[str, str], ...]:
    return tuple((kind, argument_name(value, taken) if kind == "param" else value)
                 for kind, value in shape.segments)


def _query(items: tuple[QueryItem, ...], taken: set[str]) -> tuple[
        tuple[QueryParam, ...], tuple[tuple[str, str], ...]]:
    named: list[QueryParam] = []
    fixed: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in items:
        if item.fixed is not None:
            fixed.append((item.name, item.fixed))
        elif item.name not in seen:
            seen.add(item.name)
            snake = _CAMEL.sub("_", item.name)  # perPage -> per_page
            named.append(QueryParam(wire=item.name, type=item.type,
                                    arg=argument_name(snake, taken, _RESERVED_QUERY_ARGS)))
    return tuple(named), tuple(fixed)


def endpoint_key(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def operations(request: IntegrationRequest,
               keep: Mapping[str, str] | None = None) -> list[Operation]:
    """One operation per endpoint: ``GET /forecast/{city}`` -> ``get_forecast(city)``.

    The name is the method and the path's fixed words; names that collide get ``_by_<params>``
    and then a number, in the order of the request. ``keep`` (``endpoint_key`` -> name: the
    names the live version gave) keeps an endpoint's name through an update, so adding an
    endpoint that collides with one never renames the one people already call.
    """
    keep = keep or {}
    drafts: list[tuple[str, Operation]] = []
    for endpoint in request.endpoints:
        shape = split_endpoint_path(endpoint.path)
        taken: set[str] = set()
        pieces = _pieces(shape, taken)
        query, fixed = _query(shape.query, taken)
        fixed_words = " ".join(value for kind, value in shape.segments if kind == "text")
        base = "_".join([endpoint.method.lower(), *(words(fixed_words) or ["root"])])
        base = base[:50].rstrip("_")
        drafts.append((base, Operation(
            name=base, method=endpoint.method, path=endpoint.path,
            description=one_line(endpoint.description), pieces=pieces, query=query,
            fixed_query=fixed)))
    counts: dict[str, int] = {}
    for base, _ in drafts:
        counts[base] = counts.get(base, 0) + 1
    kept = {i: keep[endpoint_key(op.method, op.path)] for i, (_, op) in enumerate(drafts)
            if endpoint_key(op.method, op.path) in keep}
    if len(set(kept.values())) != len(kept):
        kept = {}  # an old map that no longer names each endpoint once: name them afresh
    result: list[Operation] = []
    taken_names: set[str] = set(kept.values())
    for i, (base, op) in enumerate(drafts):
        unique = kept.get(i, "")
        if not unique:
            name = base
            if counts[base] > 1 and op.params:
                name = f"{base}_by_{'_and_'.join(op.params)}"[:60].rstrip("_")
            unique, number = name, 2
            while unique in taken_names:
                unique, number = f"{name}_{number}", number + 1
            taken_names.add(unique)
        result.append(Operation(unique, op.method, op.path, op.description, op.pieces,
                                op.query, op.fixed_query))
    return result

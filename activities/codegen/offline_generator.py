"""The offline generator: analyze, generate and review from the request's fields, without AI.

It is the key-less twin of the Claude backend (same inputs, same results, ``Backend.OFFLINE``)
and it is pure: the same input gives byte-identical output. Everything it writes says that no
AI model was used.

Issue text is untrusted, and some of it ends up in code and docs. The rules that keep it inert:
identifiers (package, class, method and argument names) come only from a strict ``[a-z0-9_]``
mapping; other text enters Python code only as ``repr`` string literals or as comments made of
printable characters on one line; in Markdown it is escaped or fenced; in JSON/TOML it is
encoded by ``json.dumps``.

A second generation with findings or reviewer comments differs visibly from the first: the
comments and findings are recorded in ``CHANGES.md`` with a note in the client's docstring,
and a file that an error finding points at and that the generator does not write itself (a
file carried over from ``previous_files``) is dropped.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from string import Template
from urllib.parse import quote

from pydantic import BaseModel

from models.codegen import (
    AnalyzeInput,
    AnalyzeResult,
    Backend,
    Finding,
    GeneratedCode,
    GenerateInput,
    InlineReviewComment,
    ReviewInput,
    ReviewResult,
)
from models.manifest import (
    SEMVER_PATTERN,
    HealthCheck,
    IntegrationManifest,
    ModuleSpec,
    PublicFunction,
    TechnicalSpec,
)
from models.request import AuthType, IntegrationRequest
from models.untrusted_text import clean_untrusted

NO_AI_NOTICE = "Written by the offline generator from the request's fields; no AI model was used."
TEMPLATES = Path(__file__).parent / "templates"
DEPENDENCIES = {"httpx": ">=0.27", "fastapi": ">=0.110", "uvicorn": ">=0.29"}
HEALTH = HealthCheck(path="/health/ready", interval_seconds=30.0, timeout_seconds=5.0)
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_LINE = 99  # generated code stays within ruff's 100 columns
PAYLOAD_METHODS = frozenset({"POST", "PUT", "PATCH"})

# Names a generated package must not take: they would shadow what the integration imports.
_TAKEN_PACKAGES = frozenset({"tests", "httpx", "fastapi", "uvicorn", "pydantic", "starlette",
                             "anyio", "pytest", "coverage", "h11", "idna", "certifi"})
# Argument names that would clash with the generated code or with pydantic's BaseModel.
_RESERVED_ARGS = frozenset(
    {"self", "payload", "client", "body", "factory", "version", "app", "path", "method"}
    | {name for name in dir(BaseModel) if not name.startswith("_")})
_PARAM = re.compile(r"\{([^{}]*)\}")
_WORD = re.compile(r"[a-z0-9]+")
_SAFE_TEST_PATH = re.compile(r"^[A-Za-z0-9/_\-.~?=&]*$")
_TIMEOUT_HINT = re.compile(
    r"time\s*-?\s*out[^0-9\n]{0,30}?(\d{1,3})\s*(?:s\b|secs?\b|seconds?\b)", re.IGNORECASE)


# -- untrusted text -> safe pieces -------------------------------------------------------------

def one_line(text: str, limit: int = 200) -> str:
    """Visible, printable text on one line (newlines and controls gone), at most ``limit``."""
    flat = " ".join(clean_untrusted(text).split())
    flat = "".join(char for char in flat if char.isprintable())
    return flat if len(flat) <= limit else flat[: max(0, limit - 3)].rstrip() + "..."


def _width(text: str) -> int:
    """Columns ``text`` takes (wide East Asian characters take two, as ruff counts them)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _repr(text: str) -> str:
    """``repr(text)``, in double quotes when that needs no escaping."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = f'"{literal[1:-1]}"'
    return literal


def py_literal(text: str, indent: int, used: int) -> str:
    """``text`` as a Python string expression: one ``repr`` if it fits the line (``used``
    columns are taken before it), else a parenthesised run of short ``repr`` pieces."""
    single = _repr(text)
    if used + _width(single) <= MAX_LINE:
        return single
    pieces: list[str] = []
    current = ""
    for char in text:
        if current and _width(_repr(current + char)) > 60:
            pieces.append(_repr(current))
            current = ""
        current += char
    pieces.append(_repr(current))
    pad = " " * (indent + 4)
    return "(\n" + "".join(f"{pad}{piece}\n" for piece in pieces) + " " * indent + ")"


def comment(text: str, indent: int) -> str:
    """A one-line comment holding ``text`` (cleaned, cut to fit), or an empty string."""
    room = MAX_LINE - indent - 2
    body = one_line(text, limit=room)
    while body and _width(body) > room:
        body = body[:-4] + "..."
    return f"{' ' * indent}# {body}\n" if body else ""


def markdown_inline(text: str, limit: int = 200) -> str:
    """One line of untrusted text, with every Markdown/HTML special character escaped."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~&])", r"\\\1", one_line(text, limit))


def markdown_code(text: str, limit: int = 200) -> str:
    """One line of untrusted text as a Markdown code span (backticks removed from it)."""
    return "`" + one_line(text, limit).replace("`", "'") + "`"


def markdown_fenced(text: str, info: str = "text") -> str:
    """Untrusted text shown literally: a fence longer than any backtick run inside it."""
    cleaned = clean_untrusted(text).strip("\n") or "(none given)"
    longest = max((len(run) for run in re.findall(r"`+", cleaned)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{cleaned}\n{fence}\n"


# -- strict identifiers --------------------------------------------------------------------------

def words(text: str) -> list[str]:
    """The ``[a-z0-9]`` words of ``text`` (everything else separates words)."""
    return _WORD.findall(text.lower())


def package_name(slug: str) -> str:
    """``acme-weather`` -> ``acme_weather`` (suffixed when it would shadow another module)."""
    name = "_".join(words(slug)) or "integration"
    if name[0].isdigit():
        name = f"integration_{name}"
    if (keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in _TAKEN_PACKAGES
            or name in sys.stdlib_module_names):
        name += "_integration"
    return name


def class_prefix(slug: str) -> str:
    """``acme-weather`` -> ``AcmeWeather``."""
    prefix = "".join(word.capitalize() for word in words(slug)) or "Integration"
    return prefix if prefix[0].isalpha() else f"Integration{prefix}"


def argument_name(raw: str, taken: set[str]) -> str:
    """A path parameter's name as a safe, unique Python argument name."""
    name = "_".join(words(raw))[:40].strip("_") or "param"
    if name[0].isdigit() or name.startswith("model_") or name in _RESERVED_ARGS:
        name = f"param_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    unique, number = name, 2
    while unique in taken:
        unique, number = f"{name}_{number}", number + 1
    taken.add(unique)
    return unique


@dataclass(frozen=True)
class Operation:
    """One endpoint of the request, with the names the generated code uses for it."""

    name: str
    method: str
    path: str  # as the request wrote it: untrusted, only ever written as a literal
    description: str  # cleaned, one line
    pieces: tuple[tuple[str, str], ...]  # ("text", literal part) or ("param", argument name)

    @property
    def params(self) -> list[str]:
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


def _pieces(path: str) -> tuple[tuple[str, str], ...]:
    taken: set[str] = set()
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in _PARAM.finditer(path):
        if match.start() > position:
            pieces.append(("text", path[position:match.start()]))
        pieces.append(("param", argument_name(match.group(1), taken)))
        position = match.end()
    if position < len(path):
        pieces.append(("text", path[position:]))
    return tuple(pieces)


def operations(request: IntegrationRequest) -> list[Operation]:
    """One operation per endpoint: ``GET /forecast/{city}`` -> ``get_forecast(city)``.

    The name is the method and the path's fixed words; names that collide get ``_by_<params>``
    and then a number, in the order of the request.
    """
    drafts: list[tuple[str, Operation]] = []
    for endpoint in request.endpoints:
        pieces = _pieces(endpoint.path)
        fixed = " ".join(value for kind, value in pieces if kind == "text").split("?")[0]
        base = "_".join([endpoint.method.lower(), *(words(fixed) or ["root"])])[:50].rstrip("_")
        drafts.append((base, Operation(
            name=base, method=endpoint.method, path=endpoint.path,
            description=one_line(endpoint.description), pieces=pieces)))
    counts: dict[str, int] = {}
    for base, _ in drafts:
        counts[base] = counts.get(base, 0) + 1
    result: list[Operation] = []
    taken: set[str] = set()
    for base, op in drafts:
        name = base
        if counts[base] > 1 and op.params:
            name = f"{base}_by_{'_and_'.join(op.params)}"[:60].rstrip("_")
        unique, number = name, 2
        while unique in taken:
            unique, number = f"{name}_{number}", number + 1
        taken.add(unique)
        result.append(Operation(unique, op.method, op.path, op.description, op.pieces))
    return result


# -- what the generated files have in common -----------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """Names derived from the request, shared by every generated file."""

    request: IntegrationRequest
    version: str
    ops: list[Operation]
    revision_note: str = ""

    @property
    def slug(self) -> str:
        return self.request.slug

    @property
    def root(self) -> str:
        return f"integrations/{self.slug}"

    @property
    def pkg(self) -> str:
        return package_name(self.slug)

    @property
    def client_class(self) -> str:
        return f"{class_prefix(self.slug)}Client"

    @property
    def env_prefix(self) -> str:
        return "_".join(words(self.slug)).upper()

    @property
    def credential_env(self) -> str:
        if self.request.auth == AuthType.NONE:
            return ""
        suffix = "API_KEY" if self.request.auth == AuthType.API_KEY else "TOKEN"
        return f"{self.env_prefix}_{suffix}"

    @property
    def credential_arg(self) -> str:
        return {AuthType.NONE: "", AuthType.API_KEY: "api_key"}.get(self.request.auth, "token")

    @property
    def base_url_env(self) -> str:
        return f"{self.env_prefix}_BASE_URL"

    @property
    def service_name(self) -> str:
        return one_line(self.request.service_name, 100) or self.slug

    @property
    def timeout(self) -> float:
        match = _TIMEOUT_HINT.search(clean_untrusted(self.request.requirements))
        return float(min(120, max(1, int(match[1])))) if match else DEFAULT_TIMEOUT_SECONDS

    def render(self, template: str, **values: str) -> str:
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        return Template(text).substitute(notice=NO_AI_NOTICE, pkg=self.pkg,
                                         client_class=self.client_class, **values)


def def_line(indent: int, name: str, args: list[str], returns: str) -> str:
    """A ``def`` line, its arguments one per line when it would not fit."""
    pad = " " * indent
    line = f"{pad}def {name}({', '.join(args)}) -> {returns}:\n"
    if len(line) <= MAX_LINE + 1:
        return line
    return (f"{pad}def {name}(\n" + "".join(f"{pad}    {arg},\n" for arg in args)
            + f"{pad}) -> {returns}:\n")


def call_line(indent: int, start: str, callee: str, args: list[str]) -> str:
    """``<start><callee>(<args>)`` on one line, or one argument a line when it would not fit."""
    pad = " " * indent
    line = f"{pad}{start}{callee}({', '.join(args)})\n"
    if len(line) <= MAX_LINE + 1 or not args:
        return line
    return (f"{pad}{start}{callee}(\n" + "".join(f"{pad}    {arg},\n" for arg in args)
            + f"{pad})\n")


# -- the package ---------------------------------------------------------------------------------

def _method_code(op: Operation) -> str:
    args = ["self", *(f"{name}: str" for name in op.params)]
    if op.has_payload:
        args.append("payload: dict[str, Any]")
    signature = def_line(4, op.name, args, "Any")
    parts = [py_literal(value, 12, 20) if kind == "text" else f"_quote({value})"
             for kind, value in op.pieces]
    path_line = f"        path = {' + '.join(parts)}\n"
    if "\n" in path_line[:-1] or len(path_line) > MAX_LINE + 1:
        path_line = ("        path = (\n" + "".join(
            f"            {'+ ' if i else ''}{part}\n" for i, part in enumerate(parts))
            + "        )\n")
    call = f'self._request("{op.method}", path{", payload" if op.has_payload else ""})'
    return (
        "\n"
        + comment(op.summary(), 4)
        + signature
        + f'        """The ``{op.name}`` operation ({op.method}); the answer\'s JSON."""\n'
        + path_line
        + f"        return {call}\n"
    )


def render_client(lay: Layout) -> str:
    """``client.py``: the typed httpx client, one method per endpoint."""
    cred, arg = lay.credential_env, lay.credential_arg
    init_args = ["base_url: str | None = None"]
    if cred:
        init_args.append(f"{arg}: str | None = None")
    init_args += ["timeout: float = DEFAULT_TIMEOUT_SECONDS",
                  "transport: httpx.BaseTransport | None = None"]
    headers = '{"Accept": "application/json"}'
    credential_code = ""
    if cred:
        header = ('"X-API-Key": credential' if lay.request.auth == AuthType.API_KEY
                  else '"Authorization": f"Bearer {credential}"')
        headers = '{"Accept": "application/json", ' + header + "}"
        credential_code = (
            f"        credential = {arg} if {arg} is not None else "
            "os.environ.get(CREDENTIAL_ENV, \"\")\n"
            "        if not credential:\n"
            "            raise ConfigurationError(\n"
            f'                f"no credential: set the environment variable {{CREDENTIAL_ENV}}'
            f' or pass {arg}="\n'
            "            )\n"
        )
    service_literal = py_literal(lay.request.service_name, 0, 15)
    url_literal = py_literal(lay.request.base_url, 0, 19)
    methods = "".join(_method_code(op) for op in lay.ops)
    return (
        '"""Typed HTTP client for one external API: one method per endpoint of the request.\n'
        "\n"
        f"{NO_AI_NOTICE}\n"
        "The credential is read from the environment variable named by ``CREDENTIAL_ENV`` (also\n"
        "listed in ``manifest.json``), never written in code. Every request has a timeout.\n"
        "Retrying is left to the caller; every failure is an ``IntegrationError`` subclass.\n"
        f"{lay.revision_note}"
        '"""\n'
        "\n"
        "from __future__ import annotations\n"
        "\n"
        "import os\n"
        "from types import TracebackType\n"
        "from typing import Any\n"
        "from urllib.parse import quote\n"
        "\n"
        "import httpx\n"
        "\n"
        f"from {lay.pkg}.errors import (\n"
        "    ApiConnectionError,\n"
        "    ApiTimeoutError,\n"
        + ("    ConfigurationError,\n" if cred else "")
        + "    error_for_status,\n"
        ")\n"
        "\n"
        f"SERVICE_NAME = {service_literal}\n"
        f"DEFAULT_BASE_URL = {url_literal}\n"
        f'BASE_URL_ENV = "{lay.base_url_env}"\n'
        f'CREDENTIAL_ENV = "{cred}"  # the variable\'s name; its value is never in code\n'
        f"DEFAULT_TIMEOUT_SECONDS = {lay.timeout!r}\n"
        "\n"
        "\n"
        "def missing_configuration() -> list[str]:\n"
        '    """Names of required environment variables that are not set (empty: ready)."""\n'
        "    required = [CREDENTIAL_ENV] if CREDENTIAL_ENV else []\n"
        "    return [name for name in required if not os.environ.get(name)]\n"
        "\n"
        "\n"
        "def _quote(value: str) -> str:\n"
        '    """A path parameter as exactly one path segment (no ``/``, no ``..``)."""\n'
        '    quoted = quote(str(value), safe="")\n'
        '    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted\n'
        "\n"
        "\n"
        f"class {lay.client_class}:\n"
        '    """Client of the API; use it as a context manager, or call :meth:`close`."""\n'
        "\n"
        "    def __init__(\n"
        "        self,\n"
        + "".join(f"        {a},\n" for a in init_args)
        + "    ) -> None:\n"
        + credential_code
        + "        self._http = httpx.Client(\n"
        "            base_url=base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL,\n"
        "            timeout=timeout,\n"
        f"            headers={headers},\n"
        "            transport=transport,\n"
        "        )\n"
        "\n"
        "    def close(self) -> None:\n"
        '        """Close the connections."""\n'
        "        self._http.close()\n"
        "\n"
        f"    def __enter__(self) -> {lay.client_class}:\n"
        "        return self\n"
        "\n"
        "    def __exit__(\n"
        "        self,\n"
        "        exc_type: type[BaseException] | None,\n"
        "        exc: BaseException | None,\n"
        "        traceback: TracebackType | None,\n"
        "    ) -> None:\n"
        "        self.close()\n"
        "\n"
        "    def _request(self, method: str, path: str, payload: Any = None) -> Any:\n"
        '        """Send one request; the answer\'s JSON (its text if not JSON, None if empty)."""'
        "\n"
        "        try:\n"
        "            response = self._http.request(method, path, json=payload)\n"
        "        except httpx.TimeoutException as exc:\n"
        "            raise ApiTimeoutError(f\"{method} {path} timed out: {exc}\") from exc\n"
        "        except httpx.TransportError as exc:\n"
        "            raise ApiConnectionError(f\"{method} {path} failed: {exc}\") from exc\n"
        "        try:\n"
        "            response.raise_for_status()\n"
        "        except httpx.HTTPStatusError as exc:\n"
        "            raise error_for_status(response) from exc\n"
        "        if not response.content:\n"
        "            return None\n"
        "        try:\n"
        "            return response.json()\n"
        "        except ValueError:\n"
        "            return response.text\n"
        + methods
    )


def render_init(lay: Layout) -> str:
    """``__init__.py``: exports the client and its errors."""
    names = ["ApiConnectionError", "ApiStatusError", "ApiTimeoutError", "AuthenticationError",
             "BadRequestError", "ConfigurationError", "IntegrationError", "NotFoundError",
             "RateLimitError", "ServerError"]
    exported = sorted([lay.client_class, "missing_configuration", *names])
    return (
        f'"""The integration\'s client (``{lay.client_class}``) and its typed errors.\n\n'
        f'{NO_AI_NOTICE}\n"""\n\n'
        f"from {lay.pkg}.client import {lay.client_class}, missing_configuration\n"
        f"from {lay.pkg}.errors import (\n" + "".join(f"    {n},\n" for n in names) + ")\n\n"
        "__all__ = [\n" + "".join(f'    "{n}",\n' for n in exported) + "]\n"
    )


def _route_code(op: Operation) -> str:
    args = [f"body.{name}" for name in op.params]
    if op.has_payload:
        args.append("body.payload")
    signature = f"body: {op.model_name}" if (op.params or op.has_payload) else ""
    decorator = (f'    @app.post("/operations/{op.name}", '
                 f'summary=OPERATION_SUMMARIES["{op.name}"])\n')
    if len(decorator) > MAX_LINE + 1:
        decorator = (f'    @app.post(\n        "/operations/{op.name}",\n'
                     f'        summary=OPERATION_SUMMARIES["{op.name}"],\n    )\n')
    call = f"client.{op.name}({', '.join(args)})"
    call_line = f'            return {{"result": {call}}}\n'
    if len(call_line) > MAX_LINE + 1:
        call_line = (f"            result = client.{op.name}(\n"
                     + "".join(f"                {a},\n" for a in args)
                     + "            )\n"
                     + '            return {"result": result}\n')
    return (
        "\n" + decorator
        + def_line(4, op.name, [signature] if signature else [], "dict[str, Any]")
        + "        with factory() as client:\n"
        + call_line
    )


def _body_model_code(op: Operation) -> str:
    fields = [f"    {name}: str = Field(min_length=1, max_length=1000)\n" for name in op.params]
    if op.has_payload:
        fields.append("    payload: dict[str, Any] = Field(default_factory=dict)\n")
    return (f"class {op.model_name}(BaseModel):\n"
            f'    """Arguments of the ``{op.name}`` operation."""\n\n' + "".join(fields) + "\n\n")


def render_service(lay: Layout) -> str:
    """``service.py``: the FastAPI app (health endpoints, one route per operation)."""
    summaries = "".join(
        f'    "{op.name}": {py_literal(op.summary(), 4, 8 + len(op.name))},\n' for op in lay.ops)
    models = "".join(_body_model_code(op) for op in lay.ops if op.params or op.has_payload)
    return lay.render(
        "service.py.tmpl",
        summaries=summaries,
        body_models=models,
        operation_routes="".join(_route_code(op) for op in lay.ops),
        title_literal=py_literal(f"{lay.request.service_name} integration", 4, 20),
    )


# -- the package's tests -------------------------------------------------------------------------

def _call_args(op: Operation, style: str) -> tuple[list[str], str]:
    """Arguments for calling ``op`` in a test (client call or route JSON), and the path seen."""
    values = {name: f"value-{i + 1}" for i, name in enumerate(op.params)}
    path = "".join(quote(values[value], safe="") if kind == "param" else value
                   for kind, value in op.pieces)
    if style == "client":
        args = [_repr(values[n]) for n in op.params]
        if op.has_payload:
            args.append('{"example": "payload"}')
        return args, path
    body: dict[str, object] = {name: values[name] for name in op.params}
    if op.has_payload:
        body["payload"] = {"example": "payload"}
    return [f'"/operations/{op.name}"', f"json={json.dumps(body)}"], path


def _path_assertion(path: str, indent: str) -> str:
    exact = _SAFE_TEST_PATH.match(path) and "/./" not in path and "/../" not in path
    if exact:
        return f'{indent}assert seen["path"] == {py_literal(path, len(indent), len(indent) + 26)}\n'
    return f'{indent}assert seen["path"].startswith("/")\n'


def _first_call_helper(lay: Layout, receiver: str) -> str:
    """``call_first``: calls the first operation; the shared tests (errors, timeouts) use it."""
    first = lay.ops[0]
    if receiver == "client":
        args, _ = _call_args(first, "client")
        return ("\n\ndef call_first(client: Client) -> Any:\n"
                '    """Call the first operation (the one the shared tests use)."""\n'
                + call_line(4, "return ", f"client.{first.name}", args))
    route_args, _ = _call_args(first, "json")
    return ("\n\ndef call_first(service: TestClient) -> Response:\n"
            '    """Call the first operation\'s route."""\n'
            + call_line(4, "return ", "service.post", route_args))


def render_client_tests(lay: Layout) -> str:
    """``tests/test_client.py``: every endpoint, the error mapping, timeouts, configuration."""
    first = lay.ops[0]
    out = [
        f'"""Tests of ``{lay.pkg}.client`` against the local stub of the API.\n\n'
        f'{NO_AI_NOTICE}\n"""\n\n'
        "from __future__ import annotations\n\n"
        "from typing import Any\n\n"
        "import pytest\n"
        + ("from conftest import TEST_CREDENTIAL, StubApi\n\n" if lay.credential_env
           else "from conftest import StubApi\n\n")
        + f"from {lay.pkg} import (\n"
        "    ApiConnectionError,\n    ApiStatusError,\n    ApiTimeoutError,\n"
        "    AuthenticationError,\n    BadRequestError,\n    ConfigurationError,\n"
        "    NotFoundError,\n    RateLimitError,\n    ServerError,\n)\n"
        f"from {lay.pkg}.client import CREDENTIAL_ENV, _quote\n"
        f"from {lay.pkg}.client import {lay.client_class} as Client\n"
        + _first_call_helper(lay, "client"),
    ]
    for op in lay.ops:
        args, path = _call_args(op, "client")
        body = '{"example": "payload"}' if op.has_payload else "None"
        expect = ("    assert result is None\n" if op.method == "HEAD" else
                  f'    assert result == {{"method": "{op.method}", "path": seen["path"], '
                  f'"body": {body}}}\n')
        out.append(
            "\n\n" + def_line(0, f"test_{op.name}_calls_its_endpoint",
                              ["client: Client", "stub_api: StubApi"], "None")
            + call_line(4, "result = ", f"client.{op.name}", args)
            + "    seen = stub_api.requests[-1]\n"
            + f'    assert seen["method"] == "{op.method}"\n'
            + _path_assertion(path, "    ")
            + expect
        )
    auth_check = ""
    if lay.credential_env:
        header, value = (("x-api-key", "TEST_CREDENTIAL") if lay.request.auth == AuthType.API_KEY
                         else ("authorization", 'f"Bearer {TEST_CREDENTIAL}"'))
        auth_check = f'    assert stub_api.requests[-1]["headers"]["{header}"] == {value}\n'
    text_answer = "None" if first.method == "HEAD" else '"plain text"'
    out.append(lay.render("test_client_shared.py.tmpl", auth_check=auth_check,
                          text_answer=text_answer))
    if lay.credential_env:
        out.append(
            "\n\ndef test_a_missing_credential_is_a_clear_error(\n"
            "    monkeypatch: pytest.MonkeyPatch,\n"
            ") -> None:\n"
            "    monkeypatch.delenv(CREDENTIAL_ENV, raising=False)\n"
            "    with pytest.raises(ConfigurationError, match=CREDENTIAL_ENV):\n"
            "        Client()\n"
            "\n\n"
            "def test_an_explicit_credential_needs_no_environment(\n"
            "    stub_api: StubApi, monkeypatch: pytest.MonkeyPatch\n"
            ") -> None:\n"
            "    monkeypatch.delenv(CREDENTIAL_ENV, raising=False)\n"
            f"    with Client(base_url=stub_api.url, {lay.credential_arg}=TEST_CREDENTIAL) as c:\n"
            "        call_first(c)\n"
            "    assert stub_api.requests\n"
        )
    else:
        out.append("\n\ndef test_no_credential_is_needed() -> None:\n"
                   '    assert CREDENTIAL_ENV == ""\n'
                   "    Client().close()\n"
                   "    assert ConfigurationError.__doc__\n")
    return "".join(out)


def render_service_tests(lay: Layout) -> str:
    """``tests/test_service.py``: health, every route, error answers, the version header."""
    credential_import = ("CREDENTIAL_ENV, " if lay.credential_env else "") + lay.client_class
    out = [lay.render("test_service_shared.py.tmpl", credential_import=credential_import)
           + _first_call_helper(lay, "service")]
    for op in lay.ops:
        route_args, _ = _call_args(op, "json")
        result_check = ('    assert answer.json() == {"result": None}\n' if op.method == "HEAD"
                        else f'    assert answer.json()["result"]["method"] == "{op.method}"\n')
        out.append(
            "\n\n" + def_line(0, f"test_route_{op.name}",
                              ["service: TestClient", "stub_api: StubApi"], "None")
            + call_line(4, "answer = ", "service.post", route_args)
            + "    assert answer.status_code == 200\n"
            + '    assert answer.headers["X-Version"] == VERSION\n'
            + result_check
            + f'    assert stub_api.requests[-1]["method"] == "{op.method}"\n'
        )
    if lay.credential_env:
        out.append(
            "\n\ndef test_not_ready_and_503_without_the_credential(\n"
            "    monkeypatch: pytest.MonkeyPatch,\n"
            ") -> None:\n"
            "    monkeypatch.delenv(CREDENTIAL_ENV, raising=False)\n"
            "    with TestClient(create_app()) as service:\n"
            '        ready = service.get("/health/ready")\n'
            "        answer = call_first(service)\n"
            "    assert ready.status_code == 503\n"
            '    assert ready.json()["missing"] == [CREDENTIAL_ENV]\n'
            "    assert answer.status_code == 503\n"
            '    assert CREDENTIAL_ENV in answer.json()["message"]\n'
        )
    return "".join(out)


# -- the other files -----------------------------------------------------------------------------

def manifest_json(lay: Layout) -> str:
    """``manifest.json``: the IntegrationManifest, plus the names of its settings."""
    if not re.match(SEMVER_PATTERN, lay.version):
        raise ValueError(f"version {lay.version!r} is not a semantic version like 1.2.3")
    manifest = IntegrationManifest(
        name=lay.service_name, slug=lay.slug, version=lay.version,
        description=(f"{lay.request.integration_type.value} integration for "
                     f"{lay.service_name}: a typed client and an HTTP service. {NO_AI_NOTICE}"),
        capabilities=[op.name for op in lay.ops], dependencies=dict(DEPENDENCIES),
        health_check=HEALTH,
    )
    data = manifest.model_dump(mode="json")
    # Not part of IntegrationManifest (ignored when it is parsed): what the service reads.
    data["configuration"] = {
        "auth": lay.request.auth.value,
        "base_url": lay.request.base_url,
        "environment": {"base_url": lay.base_url_env,
                        **({"credential": lay.credential_env} if lay.credential_env else {})},
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_readme(lay: Layout, inp: GenerateInput) -> str:
    """``README.md``: what it is, configuration, operations, example usage, provenance."""
    req = lay.request
    env_rows = [f"| `{lay.base_url_env}` | no | base URL (default: the one below) |"]
    if lay.credential_env:
        env_rows.append(f"| `{lay.credential_env}` | yes | the {req.auth.value} credential |")
    ops = "\n".join(
        f"| `{op.name}` | `{op.method}` | `POST /operations/{op.name}` | "
        f"{markdown_inline(op.description, 150) or '-'} |" for op in lay.ops)
    return (
        f"# {markdown_inline(lay.service_name, 100)} integration\n\n"
        f"{NO_AI_NOTICE}\n\n"
        f"Integration type `{req.integration_type.value}`, version {lay.version}. The package "
        f"`{lay.pkg}` holds a typed client (`{lay.client_class}`) with one method per endpoint, "
        "and a small HTTP service (`/health/live`, `/health/ready`, one route per operation; "
        "every answer carries an `X-Version` header).\n\n"
        "## Configuration\n\n"
        "| Environment variable | Required | What |\n|---|---|---|\n"
        + "\n".join(env_rows) + "\n\n"
        "Base URL from the request:\n\n" + markdown_fenced(req.base_url)
        + f"\nRequests time out after {lay.timeout:g} seconds. The client does not retry: "
        "catch `RateLimitError`, `ServerError` or `ApiConnectionError` to retry.\n\n"
        "## Operations\n\n"
        "| Method | HTTP | Service route | What it does |\n|---|---|---|---|\n" + ops + "\n\n"
        "Endpoints as requested:\n\n"
        + markdown_fenced("\n".join(op.summary() for op in lay.ops))
        + "\n## Requirements (from the request)\n\n" + markdown_fenced(req.requirements)
        + "\n## Example usage (from the request)\n\n" + markdown_fenced(req.example_usage)
        + "\n## Run\n\n"
        "```sh\n"
        f"python -m pip install -e .[test]\ncoverage run -m pytest && coverage report\n"
        f"uvicorn {lay.pkg}.service:app --port 8000\n"
        "```\n\n"
        "The tests run the client and the service against a local stub of the API on "
        "127.0.0.1; they never call the real service. The container (`Dockerfile`) runs as "
        "an unprivileged user on the project's base image.\n"
    )


def render_pyproject(lay: Layout) -> str:
    deps = ", ".join(json.dumps(f"{name}{spec}") for name, spec in DEPENDENCIES.items())
    description = json.dumps(f"{lay.service_name} integration", ensure_ascii=False)
    return lay.render("pyproject.toml.tmpl", slug=lay.slug, version=lay.version,
                      description_toml=description, dependencies=deps)


def render_dockerfile(lay: Layout) -> str:
    return lay.render("Dockerfile.tmpl", interval=f"{HEALTH.interval_seconds:g}",
                      timeout=f"{HEALTH.timeout_seconds:g}",
                      probe_timeout=f"{max(1.0, HEALTH.timeout_seconds - 1):g}")


def render_changes(inp: GenerateInput, addressed: list[str], open_items: list[str]) -> str:
    """This attempt's section of ``CHANGES.md`` (untrusted text escaped, one line each)."""
    lines = [f"## Attempt {inp.attempt} (version {inp.version})", ""]
    if inp.reviewer_comments:
        lines += ["Reviewer comments recorded (the offline generator writes code from the "
                  "request's fields only; a person or the Claude backend acts on prose):", ""]
        lines += [f"- {markdown_inline(text, 300)}" for text in inp.reviewer_comments]
        lines.append("")
    if addressed:
        lines += ["Findings addressed:", "", *(f"- {item}" for item in addressed), ""]
    if open_items:
        lines += ["Findings the offline generator cannot address (its files are regenerated "
                  "from the request's fields):", "", *(f"- {item}" for item in open_items), ""]
    return "\n".join(lines)


def _finding_text(finding: Finding) -> str:
    where = f"{finding.path}:{finding.line}" if finding.line else finding.path or "(no file)"
    return markdown_inline(f"{finding.tool} {finding.code} {where}: {finding.message}", 300)


# -- the three steps -----------------------------------------------------------------------------

def analyze(inp: AnalyzeInput) -> AnalyzeResult:
    """Request -> technical spec, from the fields alone."""
    lay = Layout(inp.request, "0.1.0", operations(inp.request))
    root, pkg = lay.root, lay.pkg
    public = [PublicFunction(
        name=f"{lay.client_class}.__init__",
        signature=(f"{lay.client_class}(base_url: str | None = None, "
                   + (f"{lay.credential_arg}: str | None = None, " if lay.credential_env else "")
                   + f"timeout: float = {lay.timeout!r})"),
        description="reads the credential from the environment when not given")]
    for op in lay.ops:
        args = [f"{name}: str" for name in op.params] + (
            ["payload: dict[str, Any]"] if op.has_payload else [])
        public.append(PublicFunction(
            name=f"{lay.client_class}.{op.name}",
            signature=f"{op.name}({', '.join(args)}) -> Any", description=op.summary()))
    public.append(PublicFunction(name="create_app",
                                 signature="create_app(client_factory=None) -> FastAPI",
                                 description="health endpoints and POST /operations/<name>"))
    spec = TechnicalSpec(
        summary=(f"{inp.request.integration_type.value} integration for {lay.service_name}: a "
                 f"typed httpx client with {len(lay.ops)} operation(s) and a FastAPI service. "
                 f"{NO_AI_NOTICE}"),
        modules=[
            ModuleSpec(path=f"{root}/{pkg}/client.py", purpose="typed httpx client"),
            ModuleSpec(path=f"{root}/{pkg}/errors.py", purpose="typed error hierarchy"),
            ModuleSpec(path=f"{root}/{pkg}/service.py",
                       purpose="FastAPI app: /health/live, /health/ready, operations"),
            ModuleSpec(path=f"{root}/tests/", purpose="tests against a local stub of the API"),
        ],
        public_api=public,
        endpoints=list(inp.request.endpoints),
        error_handling=[
            f"every request has a timeout ({lay.timeout:g} s by default)",
            "401/403 -> AuthenticationError, 404 -> NotFoundError, 429 -> RateLimitError "
            "(with retry_after), other 4xx -> BadRequestError, 5xx -> ServerError",
            "timeouts -> ApiTimeoutError, connection failures -> ApiConnectionError",
            "retrying is left to the caller; the service maps errors to 4xx/502/503/504 JSON",
            "a missing credential is a ConfigurationError naming the environment variable",
        ],
        test_plan=[
            "each endpoint is called through the client against a local stub on 127.0.0.1",
            "each status class maps to its typed error; timeouts and refused connections",
            "the service's health endpoints, each operation route and the X-Version header",
            "coverage of the package >= 80%",
        ],
    )
    return AnalyzeResult(spec=spec, backend=Backend.OFFLINE)


def _revision_note(inp: GenerateInput) -> str:
    if not (inp.findings or inp.reviewer_comments):
        return ""
    return (f"\nRevised in attempt {inp.attempt} after "
            + ("review comments and " if inp.reviewer_comments else "")
            + "check findings; see CHANGES.md.\n")


def generate(inp: GenerateInput) -> GeneratedCode:
    """Request (+ findings, reviewer comments, previous files) -> the integration's files."""
    lay = Layout(inp.request, inp.version, operations(inp.request), _revision_note(inp))
    root, pkg = lay.root, lay.pkg
    files = {
        f"{root}/manifest.json": manifest_json(lay),
        f"{root}/README.md": render_readme(lay, inp),
        f"{root}/Dockerfile": render_dockerfile(lay),
        f"{root}/pyproject.toml": render_pyproject(lay),
        f"{root}/{pkg}/__init__.py": render_init(lay),
        f"{root}/{pkg}/errors.py": lay.render("errors.py.tmpl"),
        f"{root}/{pkg}/client.py": render_client(lay),
        f"{root}/{pkg}/service.py": render_service(lay),
        f"{root}/tests/conftest.py": lay.render("conftest.py.tmpl"),
        f"{root}/tests/test_client.py": render_client_tests(lay),
        f"{root}/tests/test_service.py": render_service_tests(lay),
    }
    changes_path = f"{root}/CHANGES.md"
    flagged = {f.path for f in inp.findings if f.severity == "error" and f.path}
    addressed: list[str] = []
    dropped: set[str] = set()
    for path, content in sorted(inp.previous_files.items()):
        inside = PurePosixPath(path).parts[:2] == ("integrations", inp.request.slug)
        if path in files or path == changes_path or not inside:
            continue
        if path in flagged:
            dropped.add(path)
            addressed.append(f"not written again: {markdown_code(path)} "
                             f"({len([f for f in inp.findings if f.path == path])} finding(s))")
        else:
            files[path] = content  # a file the generator does not own: kept as it was
    open_items = [_finding_text(f) for f in inp.findings
                  if f.severity == "error" and f.path not in dropped]
    previous_changes = inp.previous_files.get(changes_path, "")
    if inp.findings or inp.reviewer_comments or previous_changes:
        section = render_changes(inp, addressed, sorted(set(open_items)))
        history = previous_changes or f"# Changes\n\n{NO_AI_NOTICE}\n\n"
        if inp.findings or inp.reviewer_comments:
            history = history if section in history else history.rstrip("\n") + "\n\n" + section
        files[changes_path] = history.rstrip("\n") + "\n"
    summary = (f"{len(files)} files for {lay.service_name} under {root}/ "
               f"(version {inp.version}, attempt {inp.attempt}, {len(lay.ops)} operation(s)"
               + (f", {len(addressed)} flagged file(s) dropped" if addressed else "")
               + (f", {len(inp.reviewer_comments)} reviewer comment(s) recorded in CHANGES.md"
                  if inp.reviewer_comments else "")
               + f"). {NO_AI_NOTICE}")
    return GeneratedCode(files=dict(sorted(files.items())), backend=Backend.OFFLINE,
                         summary=summary)


# -- review: rules over the files ----------------------------------------------------------------

MAX_REVIEW_COMMENTS = 50
_HTTP_CALLS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request",
                         "stream", "Client", "AsyncClient"})


def _line_count(text: str) -> int:
    return max(1, text.count("\n") + (0 if text.endswith("\n") else 1))


def _python_comments(path: str, text: str) -> list[InlineReviewComment]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []  # the checks report syntax errors; there is nothing to review here
    found: list[InlineReviewComment] = []
    is_test = "/tests/" in path or PurePosixPath(path).name.startswith("test_")
    if not ast.get_docstring(tree) and not is_test:
        found.append(InlineReviewComment(path=path, line=1, body=(
            "Missing module docstring: say what this module holds.")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (isinstance(owner, ast.Name) and owner.id in {"httpx", "requests"}
                    and node.func.attr in _HTTP_CALLS
                    and not any(k.arg == "timeout" for k in node.keywords)):
                found.append(InlineReviewComment(path=path, line=node.lineno, body=(
                    f"`{owner.id}.{node.func.attr}` without `timeout=`: a slow API would hang "
                    "the caller. Pass an explicit timeout.")))
        elif isinstance(node, ast.ExceptHandler):
            broad = node.type is None or (isinstance(node.type, ast.Name)
                                          and node.type.id in {"Exception", "BaseException"})
            silent = all(isinstance(s, ast.Pass) for s in node.body)
            if node.type is None or (broad and silent):
                found.append(InlineReviewComment(path=path, line=node.lineno, body=(
                    "Bare or silent broad `except`: it hides real errors. Catch the specific "
                    "exceptions and handle or re-raise them.")))
    if not is_test:
        for node in tree.body:
            members = node.body if isinstance(node, ast.ClassDef) else []
            for item in [node, *members]:
                if (isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                        and not item.name.startswith("_") and not ast.get_docstring(item)):
                    found.append(InlineReviewComment(path=path, line=item.lineno, body=(
                        f"`{item.name}` is public but has no docstring: say what it does.")))
    return found


def review(inp: ReviewInput) -> ReviewResult:
    """Files + findings -> inline comments by rule (timeouts, excepts, docs, findings)."""
    comments: list[InlineReviewComment] = []
    for path, text in sorted(inp.files.items()):
        if path.endswith(".py"):
            comments += _python_comments(path, text)
    unplaced: list[Finding] = []
    for finding in inp.findings:
        if finding.path in inp.files:
            line = min(max(1, finding.line or 1), _line_count(inp.files[finding.path]))
            comments.append(InlineReviewComment(path=finding.path, line=line, body=(
                f"{finding.tool} {finding.code} ({finding.severity}): "
                f"{one_line(finding.message, 500)}")))
        else:
            unplaced.append(finding)
    readmes = [p for p in inp.files if PurePosixPath(p).name == "README.md"]
    notes: list[str] = []
    if not readmes:
        notes.append("no README.md: the integration has no documentation")
    if not any("/tests/" in p for p in inp.files):
        notes.append("no tests/ directory")
    errors = [f for f in inp.findings if f.severity == "error"]
    comments = sorted(comments, key=lambda c: (c.path, c.line, c.body))[:MAX_REVIEW_COMMENTS]
    approve = not comments and not errors and not notes
    summary = (
        f"Rule-based review of {len(inp.files)} file(s) for {inp.integration}: "
        f"{len(comments)} inline comment(s), {len(errors)} blocking finding(s)"
        + (f", {len(unplaced)} finding(s) without a file" if unplaced else "")
        + ("; " + "; ".join(notes) if notes else "")
        + (". Approved." if approve else ". Changes requested.")
        + " Reviewed by the offline generator's rules; no AI model was used."
    )
    return ReviewResult(summary=summary, comments=comments, approve=approve,
                        backend=Backend.OFFLINE)


class OfflineBackend:
    """The three steps behind the same interface as ``ClaudeBackend`` (no key, no cost)."""

    backend = Backend.OFFLINE

    def analyze(self, inp: AnalyzeInput, *, call_key: str | None = None) -> AnalyzeResult:
        """Request -> technical spec."""
        return analyze(inp)

    def generate(self, inp: GenerateInput, *, call_key: str | None = None) -> GeneratedCode:
        """Request + spec (+ findings, reviewer comments, previous files) -> files."""
        return generate(inp)

    def review(self, inp: ReviewInput, *, call_key: str | None = None) -> ReviewResult:
        """Files + automated findings -> summary, inline comments, approve or not."""
        return review(inp)

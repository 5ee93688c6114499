"""The generated package's client (``client.py``, from its template) and ``__init__.py``."""

from __future__ import annotations

from activities.codegen.offline.layout import NO_AI_NOTICE, Layout, def_line
from activities.codegen.offline.operations import EXTRA_PARAMS_ARG, Operation
from activities.codegen.offline.text import MAX_LINE, comment, py_literal
from models.request import AuthType

ERROR_NAMES = ["ApiConnectionError", "ApiStatusError", "ApiTimeoutError", "AuthenticationError",
               "BadRequestError", "ConfigurationError", "IntegrationError", "NotFoundError",
               "RateLimitError", "ServerError"]


def client_arguments(op: Operation) -> list[str]:
    """The method's parameters: path parameters, the payload, then keyword-only queries."""
    args = [f"{name}: str" for name in op.params]
    if op.has_payload:
        args.append("payload: dict[str, Any]")
    args.append("*")
    args += [f"{q.arg}: {q.annotation} = None" for q in op.query]
    args.append(f"{EXTRA_PARAMS_ARG}: QueryParams | None = None")
    return args


def _path_expression(op: Operation) -> str:
    parts = [py_literal(value, 12, 20) if kind == "text" else f"_quote({value})"
             for kind, value in op.pieces] or ['"/"']
    line = f"        _path = {' + '.join(parts)}\n"
    if "\n" in line[:-1] or len(line) > MAX_LINE + 1:
        line = ("        _path = (\n" + "".join(
            f"            {'+ ' if i else ''}{part}\n" for i, part in enumerate(parts))
            + "        )\n")
    return line


def _query_expression(op: Operation) -> str:
    fixed = "[" + ", ".join(f"({py_literal(k, 0, 0)}, {py_literal(v, 0, 0)})"
                            for k, v in op.fixed_query) + "]"
    named = "{" + ", ".join(f"{py_literal(q.wire, 0, 0)}: {q.arg}" for q in op.query) + "}"
    line = f"        _items = _query({fixed}, {named}, {EXTRA_PARAMS_ARG})\n"
    if len(line) <= MAX_LINE + 1 and "\n" not in line[:-1]:
        return line
    fixed_lines = "".join(f"                ({py_literal(k, 16, 17)}, {py_literal(v, 16, 60)}),\n"
                          for k, v in op.fixed_query)
    named_lines = "".join(_entry(py_literal(q.wire, 16, 16), q.arg) for q in op.query)
    return ("        _items = _query(\n"
            + ("            [\n" + fixed_lines + "            ],\n" if fixed_lines
               else "            [],\n")
            + ("            {\n" + named_lines + "            },\n" if named_lines
               else "            {},\n")
            + f"            {EXTRA_PARAMS_ARG},\n        )\n")


def _entry(key: str, value: str) -> str:
    """One ``key: value`` line of the query's dict, the value on a line of its own when the
    two do not fit on one."""
    line = f"                {key}: {value},\n"
    if len(line) <= MAX_LINE + 1:
        return line
    return f"                {key}:\n                    {value},\n"


def _docstring(op: Operation) -> str:
    """The method's docstring, naming the operation where the line has room for its name."""
    line = f'        """The ``{op.name}`` operation ({op.method}); the answer\'s JSON."""\n'
    if len(line) <= MAX_LINE + 1:
        return line
    return f'        """The operation\'s answer ({op.method}), as JSON."""\n'


def method_code(op: Operation) -> str:
    """One client method: build the path and the query, send, return the answer's JSON."""
    signature = def_line(4, op.name, ["self", *client_arguments(op)], "Any")
    payload = ", payload" if op.has_payload else ""
    return (
        "\n"
        + comment(op.summary(), 4)
        + signature
        + _docstring(op)
        + _path_expression(op)
        + _query_expression(op)
        + f'        return self._request("{op.method}", _path, _items{payload})\n'
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
    text = lay.render(
        "client.py.tmpl",
        revision_note=lay.revision_note,
        configuration_error_import="    ConfigurationError,\n" if cred else "",
        service_literal=py_literal(lay.request.service_name, 0, 15),
        url_literal=py_literal(lay.request.base_url, 0, 19),
        base_url_env=lay.base_url_env,
        credential_env=cred,
        timeout=repr(lay.timeout),
        init_args="".join(f"        {a},\n" for a in init_args),
        credential_code=credential_code,
        headers=headers,
        methods="".join(method_code(op) for op in lay.ops),
    )
    return text.rstrip("\n") + "\n"


def render_init(lay: Layout) -> str:
    """``__init__.py``: exports the client and its errors."""
    exported = sorted([lay.client_class, "missing_configuration", *ERROR_NAMES])
    return (
        f'"""The integration\'s client and its typed errors.\n\n'
        f"Client: ``{lay.client_class}``.\n\n"
        f'{NO_AI_NOTICE}\n"""\n\n'
        f"from {lay.pkg}.client import (\n    {lay.client_class},\n    missing_configuration,\n)\n"
        f"from {lay.pkg}.errors import (\n" + "".join(f"    {n},\n" for n in ERROR_NAMES)
        + ")\n\n"
        "__all__ = [\n" + "".join(f'    "{n}",\n' for n in exported) + "]\n"
    )

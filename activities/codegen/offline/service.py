"""The generated package's HTTP service (``service.py``, from its template).

Every operation is ``POST /operations/<name>`` with a JSON body model: the path parameters
(required), the endpoint's query parameters (optional, typed, described in the OpenAPI
document), ``params`` for any further query parameters, and ``payload`` for methods with one.
"""

from __future__ import annotations

from activities.codegen.offline.layout import Layout, call_line, def_line
from activities.codegen.offline.operations import EXTRA_PARAMS_ARG, Operation
from activities.codegen.offline.text import MAX_LINE, py_literal


def has_required_fields(op: Operation) -> bool:
    return bool(op.params)


def route_call_arguments(op: Operation) -> list[str]:
    args = [f"args.{name}" for name in op.params]
    if op.has_payload:
        args.append("args.payload")
    args += [f"{q.arg}=args.{q.arg}" for q in op.query]
    args.append(f"{EXTRA_PARAMS_ARG}=args.{EXTRA_PARAMS_ARG}")
    return args


def _route_code(op: Operation) -> str:
    decorator = (f'    @app.post("/operations/{op.name}", '
                 f'summary=OPERATION_SUMMARIES["{op.name}"])\n')
    if len(decorator) > MAX_LINE + 1:
        summary = f'        summary=OPERATION_SUMMARIES["{op.name}"],\n'
        if len(summary) > MAX_LINE + 1:
            summary = f'        summary=OPERATION_SUMMARIES[\n            "{op.name}"\n        ],\n'
        decorator = f'    @app.post(\n        "/operations/{op.name}",\n{summary}    )\n'
    if has_required_fields(op):
        signature = def_line(4, op.name, [f"args: {op.model_name}"], "dict[str, Any]")
        defaults = ""
    else:
        signature = def_line(4, op.name, [f"body: {op.model_name} | None = None"],
                             "dict[str, Any]")
        defaults = f"        args = body or {op.model_name}()\n"
    return (
        "\n" + decorator + signature + defaults
        + "        with factory() as client:\n"
        + call_line(12, "result = ", f"client.{op.name}", route_call_arguments(op))
        + '        return {"result": result}\n'
    )


def _field_description(text: str) -> str:
    return py_literal(text, 8, 20)


def body_model_code(op: Operation) -> str:
    """The pydantic model of one operation's JSON body."""
    fields = [f"    {name}: str = Field(min_length=1, max_length=1000)\n" for name in op.params]
    for q in op.query:
        description = _field_description(f"query parameter {q.wire!r} ({q.type})")
        line = f"    {q.arg}: {q.annotation} = Field(default=None, description={description})\n"
        if len(line) > MAX_LINE + 1 or "\n" in line[:-1]:
            line = (f"    {q.arg}: {q.annotation} = Field(\n"
                    f"        default=None,\n        description={description},\n    )\n")
        fields.append(line)
    fields.append(
        f"    {EXTRA_PARAMS_ARG}: dict[str, QueryValue] = Field(\n"
        "        default_factory=dict, description=\"further query parameters, sent as given\"\n"
        "    )\n")
    if op.has_payload:
        fields.append("    payload: dict[str, Any] = Field(default_factory=dict)\n")
    doc = f'    """Arguments of the ``{op.name}`` operation."""\n'
    if len(doc) > MAX_LINE + 1:
        doc = '    """The operation\'s arguments."""\n'
    return f"class {op.model_name}(BaseModel):\n{doc}\n" + "".join(fields) + "\n\n"


def render_service(lay: Layout, extra_imports: str = "", extra_models: str = "",
                   extra_routes: str = "") -> str:
    """``service.py``: the FastAPI app (health endpoints, one route per operation, and the
    routes a type adds: a sync job's ``/sync``)."""
    summaries = "".join(
        f'    "{op.name}": {py_literal(op.summary(), 4, 8 + len(op.name))},\n' for op in lay.ops)
    return lay.render(
        "service.py.tmpl",
        summaries=summaries,
        extra_imports=extra_imports,
        body_models="".join(body_model_code(op) for op in lay.ops) + extra_models,
        operation_routes="".join(_route_code(op) for op in lay.ops) + extra_routes,
        title_literal=py_literal(f"{lay.request.service_name} integration", 4, 20),
    )

"""The sync-job shape: the api-client's typed client and service, plus ``sync.py`` (a
persisted cursor, a rate limit, records kept by id) behind ``POST /sync``, which the bot's
Temporal Schedule calls (``manifest.json``'s ``sync.interval_seconds``)."""

from __future__ import annotations

import json

from activities.codegen.offline.client import render_client, render_init
from activities.codegen.offline.docs import (
    manifest_json,
    render_dockerfile,
    render_pyproject,
    render_readme,
)
from activities.codegen.offline.layout import Layout, call_line
from activities.codegen.offline.operations import EXTRA_PARAMS_ARG, Operation
from activities.codegen.offline.package_tests import render_client_tests, render_service_tests
from activities.codegen.offline.service import render_service
from activities.codegen.offline.text import py_literal
from models.manifest import LIVE_CHECK_LIMIT, LiveCheck
from rules.sync_job import sync_plan

SYNC_IMPORTS = ("from ${pkg}.sync import (\n    SyncBusyError,\n    SyncInputError,\n"
                "    SyncRunner,\n    fetch_page,\n)\n")
SYNC_MODEL = '''class SyncBody(BaseModel):
    """Arguments of one sync run (all optional)."""

    max_pages: int = Field(default=100, ge=1, le=1000)
    path: dict[str, str] = Field(
        default_factory=dict, description="values of the source's path parameters"
    )


'''
SYNC_ROUTES = '''
    runner = SyncRunner(fetch_page)

    @app.post("/sync", summary="one run of the sync job, from the cursor the last one left")
    def run_sync_job(body: SyncBody | None = None) -> JSONResponse:
        args = body or SyncBody()
        try:
            with factory() as client:
                outcome = runner.run(client, max_pages=args.max_pages, path=args.path)
        except SyncBusyError as exc:
            return JSONResponse({"error": "busy", "message": str(exc)}, status_code=409)
        except SyncInputError as exc:
            return JSONResponse({"error": "bad-input", "message": str(exc)}, status_code=400)
        return JSONResponse(outcome, status_code=502 if outcome["status"] == "failed" else 200)

    @app.get("/sync/state", summary="the cursor and the counts the last run left")
    def sync_job_state() -> dict[str, Any]:
        return runner.state()
'''


def source(lay: Layout) -> Operation:
    """The operation the job pages through: the first GET without path parameters, else
    the first GET, else the same for POST, then the other methods; HEAD and OPTIONS, which
    answer without records, last (the form refuses a sync job with only those)."""
    rank = {"GET": 0, "POST": 1, "HEAD": 3, "OPTIONS": 3}
    ranked = sorted(lay.ops, key=lambda op: (rank.get(op.method, 2), bool(op.params)))
    return ranked[0]  # sorted is stable: the request's order within each rank


def state_dir_env(lay: Layout) -> str:
    return f"{lay.env_prefix}_SYNC_STATE_DIR"


def _fetch_code(op: Operation) -> tuple[str, str]:
    """The path checks and the call of ``fetch_page``."""
    checks = "".join(
        f'    if not path.get("{name}"):\n'
        f'        raise SyncInputError(\n            "the sync needs the path parameter {name}"\n'
        "        )\n"
        for name in op.params)
    args = [f'path["{name}"]' for name in op.params]
    if op.has_payload:
        args.append("{}")
    args.append(f"{EXTRA_PARAMS_ARG}=params")
    return checks, call_line(4, "return ", f"client.{op.name}", args)


def _manifest(lay: Layout) -> str:
    data = json.loads(manifest_json(lay))
    plan = sync_plan(lay.request)
    data["description"] = data["description"].replace(
        "a typed client and an HTTP service", "a typed client, an HTTP service and /sync")
    data["sync"] = {"interval_seconds": plan.interval_seconds, "operation": source(lay).name,
                    "requests": plan.requests, "period_seconds": plan.period_seconds}
    checks = data["live_checks"]
    extra = [LiveCheck(name="the sync job's state is served", path="/sync/state",
                       expect_json_keys=["cursor", "status"]),
             LiveCheck(name="a sync refuses a body that is not an object", method="POST",
                       path="/sync", body=[], expect_status=[422])]
    data["live_checks"] = [*checks[:LIVE_CHECK_LIMIT - len(extra)],
                           *(c.model_dump(mode="json") for c in extra)]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _readme(lay: Layout) -> str:
    plan, op = sync_plan(lay.request), source(lay)
    section = (
        "\n## Sync job\n\n"
        f"`POST /sync` runs the job: it pages through `{op.name}` ({op.method}), sending "
        f"the cursor as the `{plan.cursor_param}` query parameter, keeps each record by its "
        "`id` and saves the cursor after every page, so a run that fails resumes where it "
        f"stopped. At most {plan.requests} requests per {plan.period_seconds:g} s; a 429 is "
        "waited out. `GET /sync/state` shows the cursor and counts. The bot's Temporal "
        f"Schedule calls `/sync` every {plan.interval_seconds} s, paused with the "
        f"integration and removed when it is deprecated. `{state_dir_env(lay)}` moves the "
        "state out of the container's temporary directory.\n")
    return render_readme(lay).replace("\n## Run\n", section + "\n## Run\n", 1)


def _sync_module(lay: Layout) -> str:
    plan, op = sync_plan(lay.request), source(lay)
    checks, call = _fetch_code(op)
    return lay.render("sync.py.tmpl", source_name=op.name,
                      cursor_literal=py_literal(plan.cursor_param, 0, 16),
                      requests=str(plan.requests), period=repr(plan.period_seconds),
                      state_dir_env=state_dir_env(lay), path_checks=checks, fetch_call=call)


def _sync_tests(lay: Layout) -> str:
    op = source(lay)
    path_values = "{" + ", ".join(f'"{n}": "v-{i}"' for i, n in enumerate(op.params)) + "}"
    if len(path_values) > 80:
        path_values = ("{\n" + "".join(f'    "{n}": "v-{i}",\n' for i, n in enumerate(op.params))
                       + "}")
    return lay.render("test_sync.py.tmpl", source_name=op.name, path_values=path_values,
                      needs_path="True" if op.params else "False")


def sync_paths(lay: Layout) -> list[str]:
    root, pkg = lay.root, lay.pkg
    return [f"{root}/manifest.json", f"{root}/README.md", f"{root}/Dockerfile",
            f"{root}/pyproject.toml", f"{root}/{pkg}/__init__.py", f"{root}/{pkg}/errors.py",
            f"{root}/{pkg}/client.py", f"{root}/{pkg}/sync.py", f"{root}/{pkg}/service.py",
            f"{root}/tests/conftest.py", f"{root}/tests/test_client.py",
            f"{root}/tests/test_service.py", f"{root}/tests/test_sync.py"]


def sync_files(lay: Layout) -> dict[str, str]:
    imports = SYNC_IMPORTS.replace("${pkg}", lay.pkg)
    contents = [_manifest(lay), _readme(lay), render_dockerfile(lay), render_pyproject(lay),
                render_init(lay), lay.render("errors.py.tmpl"), render_client(lay),
                _sync_module(lay),
                render_service(lay, imports, SYNC_MODEL, SYNC_ROUTES),
                lay.render("conftest.py.tmpl"), render_client_tests(lay),
                render_service_tests(lay), _sync_tests(lay)]
    return dict(zip(sync_paths(lay), contents, strict=True))

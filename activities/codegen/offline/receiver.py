"""The webhook-receiver shape: a service whose routes verify each delivery's signature,
refuse replays and record each delivery once (``rules.webhook_signature`` reads the scheme
from the request). The request's endpoints are the routes the sender posts to."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, unquote

from activities.codegen.offline.docs import render_dockerfile, render_pyproject
from activities.codegen.offline.layout import DEPENDENCIES, HEALTH, NO_AI_NOTICE, Layout
from activities.codegen.offline.text import markdown_fenced, markdown_inline, py_literal
from models.manifest import LIVE_CHECK_LIMIT, SEMVER_PATTERN, IntegrationManifest, LiveCheck
from rules.webhook_signature import SignatureScheme, signature_scheme

# Routes of the service itself: a receiver whose path is one of them moves under /receive.
SERVICE_ROUTES = frozenset({"/health/live", "/health/ready", "/events", "/openapi.json",
                            "/docs", "/docs/oauth2-redirect", "/redoc"})
_PARAM = re.compile(r"\{[^}/]*\}")


def secret_env(lay: Layout) -> str:
    return f"{lay.env_prefix}_WEBHOOK_SECRET"


def receivers(lay: Layout) -> dict[str, str]:
    """Route path -> receiver name, one route per distinct path shape, in request order."""
    routes: dict[str, str] = {}
    shapes: set[str] = set()
    for op in lay.ops:
        # Routes match the decoded path: a "%20" as written is the space it stands for.
        path = "".join(unquote(value).replace("{", "").replace("}", "") if kind == "text"
                       else "{" + value + "}" for kind, value in op.pieces) or "/"
        if not path.startswith("/"):
            path = "/" + path
        if path in SERVICE_ROUTES or path.startswith("/docs/"):
            path = "/receive" + path
        shape = _PARAM.sub("{}", path)
        if shape not in shapes:
            shapes.add(shape)
            routes[path] = op.name
    return routes


def concrete(path: str) -> str:
    """A URL path for a route: each parameter given a value, the rest percent-encoded."""
    return quote(_PARAM.sub("p-1", path), safe="/")


def _manifest(lay: Layout, routes: dict[str, str]) -> str:
    if not re.match(SEMVER_PATTERN, lay.version):
        raise ValueError(f"version {lay.version!r} is not a semantic version like 1.2.3")
    checks = [
        LiveCheck(name="liveness answers with the deployed version", path="/health/live",
                  expect_json_keys=["status", "version"], expect_version_header=True),
        LiveCheck(name="readiness answers: the shared secret is set", path="/health/ready",
                  expect_json_keys=["status"], expect_version_header=True),
        LiveCheck(name="the OpenAPI document is served", path="/openapi.json",
                  expect_json_keys=["paths"]),
        LiveCheck(name="recorded deliveries are counted", path="/events",
                  expect_json_keys=["count", "recent"]),
    ]
    room = LIVE_CHECK_LIMIT - len(checks)
    checks += [LiveCheck(name=f"{name} refuses an unsigned delivery"[:120], method="POST",
                         path=concrete(path), body={}, expect_status=[401])
               for path, name in list(routes.items())[:room]]
    manifest = IntegrationManifest(
        name=lay.service_name, slug=lay.slug, version=lay.version,
        description=(f"webhook-receiver integration for {lay.service_name}: signed deliveries "
                     f"verified and recorded once. {NO_AI_NOTICE}"),
        capabilities=list(routes.values()), dependencies=dict(DEPENDENCIES),
        health_check=HEALTH, live_checks=checks,
    )
    data = manifest.model_dump(mode="json")
    data["configuration"] = {"auth": "hmac-sha256", "base_url": lay.request.base_url,
                             "environment": {"webhook_secret": secret_env(lay)}}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _readme(lay: Layout, scheme: SignatureScheme, routes: dict[str, str]) -> str:
    signed = ("`<timestamp>.<body>` (the timestamp from the "
              f"`{scheme.timestamp_header}` header, refused when more than "
              f"{scheme.tolerance_seconds} s from the receiver's clock)"
              if scheme.timestamp_header else "the raw body")
    rows = "\n".join(f"| `POST {markdown_inline(path, 200)}` | `{name}` |"
                     for path, name in routes.items())
    return (
        f"# {markdown_inline(lay.service_name, 100)} webhook receiver\n\n{NO_AI_NOTICE}\n\n"
        f"Integration type `webhook-receiver`, version {lay.version}. The package `{lay.pkg}` "
        "is an HTTP service that accepts the sender's deliveries: each must carry an "
        f"HMAC-SHA256 signature of {signed} in the `{scheme.header}` header, encoded as "
        f"`{scheme.encoding.value}`. Unsigned or badly signed deliveries get 401; a "
        f"delivery whose id (`{scheme.delivery_header}`, or the digest of the signed body) "
        "was seen before gets 200 `duplicate` and changes nothing; a new one is recorded and "
        "gets 202. `/events` counts them.\n\n"
        "## Configuration\n\n| Environment variable | Required | What |\n|---|---|---|\n"
        f"| `{secret_env(lay)}` | yes | the shared secret the sender signs with |\n\n"
        "Deliveries are recorded in a SQLite file in the container's temporary directory: "
        "a new container starts with none.\n\n"
        "## Receivers\n\n| Route | Name |\n|---|---|\n" + rows + "\n\n"
        "Endpoints as requested:\n\n"
        + markdown_fenced("\n".join(op.summary() for op in lay.ops))
        + "\n## Requirements (from the request)\n\n" + markdown_fenced(lay.request.requirements)
        + "\n## Run\n\n```sh\npython -m pip install -e .[test]\n"
        f"coverage run -m pytest && coverage report\nuvicorn {lay.pkg}.service:app --port 8000\n"
        "```\n"
    )


def _init(lay: Layout) -> str:
    return (f'"""The webhook receiver: signature checks, the delivery store, the service.\n\n'
            f'{NO_AI_NOTICE}\n"""\n\n'
            f"from {lay.pkg}.deliveries import DeliveryStore\n"
            f"from {lay.pkg}.signature import sign, signature_problem\n\n"
            '__all__ = ["DeliveryStore", "sign", "signature_problem"]\n')


def receiver_paths(lay: Layout) -> list[str]:
    root, pkg = lay.root, lay.pkg
    return [f"{root}/manifest.json", f"{root}/README.md", f"{root}/Dockerfile",
            f"{root}/pyproject.toml", f"{root}/{pkg}/__init__.py",
            f"{root}/{pkg}/signature.py", f"{root}/{pkg}/deliveries.py",
            f"{root}/{pkg}/service.py", f"{root}/tests/conftest.py",
            f"{root}/tests/test_signature.py", f"{root}/tests/test_receiver.py"]


def receiver_files(lay: Layout) -> dict[str, str]:
    scheme, routes = signature_scheme(lay.request), receivers(lay)
    table = "".join(f"    {py_literal(path, 4, 4)}: \"{name}\",\n"
                    for path, name in routes.items())
    service = lay.render(
        "receiver_service.py.tmpl", secret_env=secret_env(lay), receivers=table,
        title_literal=py_literal(f"{lay.request.service_name} webhook receiver", 4, 20))
    signature = lay.render(
        "receiver_signature.py.tmpl", header_literal=py_literal(scheme.header, 0, 20),
        encoding_literal=py_literal(scheme.encoding.value, 0, 11),
        timestamp_literal=py_literal(scheme.timestamp_header, 0, 19),
        tolerance=str(scheme.tolerance_seconds),
        delivery_literal=py_literal(scheme.delivery_header, 0, 18))
    contents = [_manifest(lay, routes), _readme(lay, scheme, routes), render_dockerfile(lay),
                render_pyproject(lay), _init(lay), signature,
                lay.render("receiver_deliveries.py.tmpl"), service,
                lay.render("receiver_conftest.py.tmpl"), lay.render("test_signature.py.tmpl"),
                lay.render("test_receiver.py.tmpl")]
    return dict(zip(receiver_paths(lay), contents, strict=True))

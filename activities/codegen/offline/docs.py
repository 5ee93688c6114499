"""The generated integration's other files: manifest, README, pyproject, Dockerfile and the
``CHANGES.md`` section of a revision. Request text is escaped or fenced in Markdown and
JSON-encoded in JSON and TOML."""

from __future__ import annotations

import json
import re

from activities.codegen.offline.layout import DEPENDENCIES, HEALTH, NO_AI_NOTICE, Layout
from activities.codegen.offline.operations import EXTRA_PARAMS_ARG
from activities.codegen.offline.text import markdown_fenced, markdown_inline
from models.codegen import Finding, GenerateInput
from models.manifest import LIVE_CHECK_LIMIT, SEMVER_PATTERN, IntegrationManifest, LiveCheck


def manifest_json(lay: Layout) -> str:
    """``manifest.json``: the IntegrationManifest, plus the names of its settings."""
    if not re.match(SEMVER_PATTERN, lay.version):
        raise ValueError(f"version {lay.version!r} is not a semantic version like 1.2.3")
    manifest = IntegrationManifest(
        name=lay.service_name, slug=lay.slug, version=lay.version,
        description=(f"{lay.request.integration_type.value} integration for "
                     f"{lay.service_name}: a typed client and an HTTP service. {NO_AI_NOTICE}"),
        capabilities=[op.name for op in lay.ops], dependencies=dict(DEPENDENCIES),
        health_check=HEALTH, live_checks=live_checks(lay),
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


def live_checks(lay: Layout) -> list[LiveCheck]:
    """The generated tests of a deployed instance (re-verification and promotion run them):
    its health answers with its version, its OpenAPI document, and each operation refusing a
    body that is not an object before it could call the service."""
    checks = [
        LiveCheck(name="liveness answers with the deployed version", path="/health/live",
                  expect_json_keys=["status", "version"], expect_version_header=True),
        LiveCheck(name="readiness answers: its configuration is complete",
                  path="/health/ready", expect_json_keys=["status"],
                  expect_version_header=True),
        LiveCheck(name="the OpenAPI document is served", path="/openapi.json",
                  expect_json_keys=["paths"]),
        LiveCheck(name="an unknown route is not found", path="/operations-ccb-unknown-route",
                  expect_status=[404]),
    ]
    room = LIVE_CHECK_LIMIT - len(checks)
    checks += [LiveCheck(name=f"{op.name} refuses a body that is not an object", method="POST",
                         path=f"/operations/{op.name}", body=[], expect_status=[422])
               for op in lay.ops[:room]]
    return checks


def render_readme(lay: Layout) -> str:
    """``README.md``: what it is, configuration, operations, example usage, provenance."""
    req = lay.request
    env_rows = [f"| `{lay.base_url_env}` | no | base URL (default: the one below) |"]
    if lay.credential_env:
        env_rows.append(f"| `{lay.credential_env}` | yes | the {req.auth.value} credential |")
    ops = "\n".join(
        f"| `{op.name}` | `{op.method}` | `POST /operations/{op.name}` | "
        + (", ".join(f"`{q.arg}`" for q in op.query) or "-")
        + f" | {markdown_inline(op.description, 150) or '-'} |" for op in lay.ops)
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
        "| Method | HTTP | Service route | Query parameters | What it does |\n"
        "|---|---|---|---|---|\n" + ops + "\n\n"
        f"Every method also takes `{EXTRA_PARAMS_ARG}`, a mapping of further query parameters "
        "sent as given (booleans as `true`/`false`); the service routes take the same fields "
        "in their JSON body, documented in the OpenAPI page (`/docs`).\n\n"
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

"""`ccb deploy`, `ccb rollback` and `ccb deployments`: the deployment commands of the CLI.

    ccb deploy <slug> [--version X] [--env development] [--source .] [--approve-traffic]
    ccb rollback <slug> [--env development]
    ccb deployments [--env ...]     # every deployment: version, colour, status, health
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from infra.settings import get_settings
from models.deploy import (
    DeployInput,
    DeployResult,
    Runtime,
    deploy_workflow_id,
)
from models.deployment import DeploymentStatus, Environment

EnvOption = Annotated[Environment, typer.Option("--env", help="target environment")]


def _fail(message: str) -> None:
    typer.echo(f"ccb: {message}", err=True)
    raise typer.Exit(1)


def read_source(source: Path, slug: str) -> tuple[dict[str, str], str]:
    """The files of ``integrations/<slug>/`` under ``source`` and the manifest's version."""
    root = source / "integrations" / slug
    manifest = root / "manifest.json"
    if not manifest.is_file():
        raise ValueError(f"{manifest} not found: pass --source <checkout holding "
                         f"integrations/{slug}/>")
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".venv" not in path.parts:
            try:
                files[path.relative_to(source).as_posix()] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path} is not a text file; integrations hold text only") \
                    from exc
    try:
        version = str(json.loads(manifest.read_text())["version"])
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{manifest} has no readable version: {exc}") from exc
    return files, version


async def _run(inp: DeployInput, workflow_id: str) -> DeployResult:
    from infra.temporal import connect

    settings = get_settings()
    client = await connect(settings)
    return await client.execute_workflow("DeployWorkflow", inp, id=workflow_id,
                                         task_queue=settings.task_queue,
                                         result_type=DeployResult)


def _report(result: DeployResult) -> None:
    typer.echo(f"{result.slug} {result.version} is live in {result.environment} "
               f"({result.color}, {result.runtime}, {result.endpoint}; image {result.image})")
    if result.isolation_note:
        typer.echo(f"note: {result.isolation_note}")


def _start(inp: DeployInput, workflow_id: str) -> None:
    typer.echo(f"deploying {inp.slug} {inp.version} to {inp.environment} "
               f"(workflow {workflow_id}) ...")
    try:
        _report(asyncio.run(_run(inp, workflow_id)))
    except ConnectionError as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - the workflow's reason, not a traceback
        cause = getattr(exc, "cause", None) or exc
        _fail(f"the deployment failed: {cause}")


def deploy(slug: Annotated[str, typer.Argument(help="the integration's slug")],
           version: Annotated[str, typer.Option(help="default: the manifest's")] = "",
           env: EnvOption = Environment.DEVELOPMENT,
           source: Annotated[Path, typer.Option(help="checkout holding integrations/<slug>/")]
           = Path("."),
           runtime: Annotated[Runtime, typer.Option(help="docker, local or auto")]
           = Runtime.AUTO,
           approve_traffic: Annotated[bool, typer.Option(
               help="approve the traffic switch in advance (production asks otherwise)")]
           = False) -> None:
    """Deploy an integration blue-green: build, start beside the live one, check, switch."""
    try:
        files, manifest_version = read_source(source, slug)
        inp = DeployInput(slug=slug, version=version or manifest_version, environment=env,
                          files=files, runtime=runtime, traffic_approved=approve_traffic,
                          actor="cli")
    except ValueError as exc:
        _fail(str(exc).splitlines()[-1] if "validation error" in str(exc) else str(exc))
        return
    _start(inp, deploy_workflow_id(env, slug, inp.version))


def rollback(slug: Annotated[str, typer.Argument(help="the integration's slug")],
             env: EnvOption = Environment.DEVELOPMENT) -> None:
    """Go back to the version that served before the live one (its image is kept)."""
    from registry.store import RegistryError, open_registry
    from starter.deploy_requests import DeployRefused, rollback_request

    registry = open_registry(get_settings().registry_url)
    try:
        inp, workflow_id = rollback_request(registry, slug, env, actor="cli",
                                            reason="ccb rollback")
    except (RegistryError, DeployRefused) as exc:
        _fail(str(exc))
        return
    _start(inp, workflow_id)


def list_deployments(env: Annotated[Environment | None, typer.Option(
        "--env", help="only this environment")] = None,
                     all_rows: Annotated[bool, typer.Option(
                         "--all", help="also retired and rolled-back deployments")] = False
                     ) -> None:
    """Deployments: integration, version, environment, live colour, status and health."""
    from activities.deploy.probes import check_health
    from registry.deployments import deployments
    from registry.store import open_registry

    rows = deployments(open_registry(get_settings().registry_url),
                       environment=env.value if env else None)
    if not all_rows:
        rows = [r for r in rows if r.status not in (DeploymentStatus.RETIRED,
                                                    DeploymentStatus.ROLLED_BACK)]
    if not rows:
        typer.echo("no deployments" + ("" if all_rows else " (--all shows past ones)"))
        return
    typer.echo(f"{'INTEGRATION':<24} {'VERSION':<10} {'ENV':<12} {'COLOUR':<7} "
               f"{'STATUS':<12} {'ENDPOINT':<16} HEALTH")
    for row in rows:
        health = "-"
        if row.status == DeploymentStatus.LIVE and row.endpoint:
            problem = check_health(int(row.endpoint.rpartition(":")[2]), "/health/ready")
            health = "ready" if not problem else f"FAILING: {problem[:60]}"
        typer.echo(f"{row.integration_slug:<24} {row.version:<10} {row.environment:<12} "
                   f"{row.color:<7} {row.status:<12} {row.endpoint or '-':<16} {health}")


def register(app: typer.Typer) -> None:
    """Add the deployment commands to the `ccb` app."""
    app.command("deploy")(deploy)
    app.command("rollback")(rollback)
    app.command("deployments")(list_deployments)

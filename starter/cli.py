"""`ccb`: the command line of the bot."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from infra.settings import get_settings
from starter.cli_budget import register as register_budget
from starter.cli_commands import register
from starter.cli_deploy import register as register_deploy
from starter.cli_lifecycle import register as register_lifecycle
from starter.cli_payloads import register as register_payloads
from starter.cli_plan import register as register_plan
from starter.cli_promote import register as register_promote
from starter.cli_schedules import register as register_schedules
from starter.cli_secrets import register as register_secrets
from starter.cli_update import register as register_update

app = typer.Typer(help="Claude Code Bot: integration requests as durable Temporal workflows.",
                  no_args_is_help=True, add_completion=False)


def fail(message: str, code: int = 1) -> None:
    """One clear line on stderr, no traceback."""
    typer.echo(f"ccb: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def up(
    sample: Annotated[bool, typer.Option(help="send the sample request once the stack is up")]
    = False,
    once: Annotated[bool, typer.Option(help="stop again after the sample (for scripts)")]
    = False,
) -> None:
    """Start the embedded stack (Temporal dev server, worker, starter) in the foreground."""
    from infra.logging_setup import configure_logging
    from starter.stack import Stack, StackError

    settings = get_settings()
    configure_logging(settings.log_level, "console", process="ccb")
    stack = Stack(settings, say=lambda line: typer.echo(line))

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stack.start()
            return await _supervised(stack, stop, sample=sample, once=once)
        finally:
            typer.echo("ccb: stopping")
            stack.stop()
            typer.echo("ccb: stopped")

    try:
        code = asyncio.run(run())
    except StackError as exc:
        fail(str(exc), 2)
    except ConnectionError as exc:
        fail(str(exc), 1)
    raise typer.Exit(code)


async def _supervised(stack: Any, stop: asyncio.Event, *, sample: bool, once: bool) -> int:
    """Supervise the stack until ``stop`` or until it gives up; the sample, if asked for,
    runs meanwhile, so a child that dies during it is restarted too."""
    supervisor = asyncio.create_task(stack.supervise(stop))
    sending = asyncio.create_task(_run_sample(stack.embedded_settings)) if sample else None
    try:
        if sending is not None:
            await asyncio.wait({supervisor, sending}, return_when=asyncio.FIRST_COMPLETED)
            if sending.done() and (once or sending.result()):
                return sending.result()
        return await supervisor
    finally:
        stop.set()
        if sending is not None and not sending.done():
            sending.cancel()
        await asyncio.gather(supervisor, *([sending] if sending else []),
                             return_exceptions=True)


async def _run_sample(settings: Any) -> int:
    from temporalio.client import WorkflowFailureError

    from infra.temporal import connect
    from starter.sample import send_sample

    client = await connect(settings)
    typer.echo("ccb: sending the sample request (starter/sample_request.md)")
    try:
        result = await send_sample(client, settings, say=lambda line: typer.echo(line))
    except (WorkflowFailureError, TimeoutError) as exc:
        reason = exc.cause if isinstance(exc, WorkflowFailureError) else exc
        typer.echo(f"ccb: the sample request failed: {reason}", err=True)
        return 1
    if result is not None:
        typer.echo(f"ccb: sample request done: integration {result.slug!r} is {result.state}; "
                   f"pull request {result.pr_url} merged as {result.merged_sha[:7]}")
    typer.echo(f"ccb: every integration workflow in the Temporal UI: {settings.ui_url}"
               f"/namespaces/{settings.temporal_namespace}/workflows"
               "?query=CcbIntegrationSlug%20is%20not%20null")
    return 0


def _registry() -> Any:
    from registry.store import open_registry

    return open_registry(get_settings().registry_url)


@app.command("list")
def list_integrations(
    env: Annotated[str, typer.Option(help="environment whose live colour to show")]
    = "development",
) -> None:
    """Integrations: state, current version, the live colour in ENV and its health."""
    from activities.deploy.probes import check_health
    from registry.deployments import live_deployment

    registry = _registry()
    rows = registry.list_integrations()
    if not rows:
        typer.echo("no integrations yet")
        return
    typer.echo(f"{'SLUG':<28} {'STATE':<11} {'VERSION':<9} {'LIVE (' + env + ')':<24} "
               f"{'HEALTH':<10} ISSUE")
    for row in rows:
        live, health = live_deployment(registry, row.slug, env), "-"
        where = "-"
        if live is not None:
            where = f"{live.version} {live.color}"
            if live.endpoint:
                problem = check_health(int(live.endpoint.rpartition(":")[2]), "/health/ready")
                health = "ready" if not problem else "DOWN"
        issue = f"{row.repo}#{row.issue_number}" if row.issue_number else ""
        typer.echo(f"{row.slug:<28} {row.state:<11} {row.current_version or '-':<9} "
                   f"{where:<24} {health:<10} {issue}")


@app.command()
def transitions(slug: Annotated[str | None, typer.Argument()] = None) -> None:
    """Every recorded state transition (who, when, why, workflow id)."""
    for t in _registry().transitions(slug):
        typer.echo(f"{t.at}  {t.integration:<24} {t.from_state or '-':>10} -> {t.to_state:<10} "
                   f"by {t.actor}  ({t.reason})  [{t.workflow_id}]")


@app.command()
def events(slug: Annotated[str | None, typer.Argument()] = None) -> None:
    """The audit log."""
    for e in _registry().events(slug):
        typer.echo(f"{e.timestamp.isoformat()}  {e.type:<24} {e.id}  {e.payload}")


register(app)
register_deploy(app)
register_update(app)
register_secrets(app)
register_payloads(app)
register_schedules(app)
register_promote(app)
register_lifecycle(app)
register_plan(app)
register_budget(app)


def _guard(command: Callable[[], None]) -> int:
    """Run ``command``; known errors become one line, never a traceback."""
    from registry.store import RegistryError

    try:
        command()
    except SystemExit as exc:
        return int(exc.code or 0)
    except RegistryError as exc:
        typer.echo(f"ccb: {exc}", err=True)
        return 1
    return 0


def main() -> None:
    """Console entry point; ends with a flushed os._exit (temporalio's exit quirk)."""
    code = _guard(lambda: app(standalone_mode=True))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

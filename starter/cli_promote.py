"""``ccb promote`` and ``ccb promotion``: move a merged version to the next environment.

    ccb promote <slug> --to production [--version 1.2.0] [--commit abc1234] [--as NAME]
    ccb promotion <slug> [--version 1.2.0]      # where the version is, environment by env

The operator running the CLI is the approver (``--as`` names them otherwise, e.g. the person
who asked); the approval is bound to the version's commit (``--commit`` checks it is the one
you reviewed). The same as ``/promote production`` on the request issue.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from infra.settings import get_settings
from models.deployment import Environment
from starter.cli_commands import _fail, _one_line, _os_user, _print_outcome, _run

SLUG = Annotated[str, typer.Argument(help="the integration's slug")]
VERSION = Annotated[str, typer.Option("--version", help="a merged version (newest if empty)")]


def register(app: typer.Typer) -> None:
    @app.command()
    @_one_line
    def promote(slug: SLUG,
                to: Annotated[Environment, typer.Option("--to", help="the environment")],
                version: VERSION = "",
                commit: Annotated[str, typer.Option(help="the commit you approve")] = "",
                as_user: Annotated[str, typer.Option("--as", help="who approves")] = "",
                ) -> None:
        """Let a merged version into the next environment (its gates still apply)."""
        from pydantic import ValidationError

        from models.promotion import PromoteRequest
        from registry.store import open_registry
        from starter.promotions import promote as ask

        settings = get_settings()
        try:
            request = PromoteRequest(environment=to, approver=as_user or _os_user(),
                                     commit_sha=commit, source="cli")
        except ValidationError:
            _fail("--commit takes the commit's sha (7 to 40 hex digits)")
        registry = open_registry(settings.registry_url)
        registry.get(slug)  # an unknown slug is one line (RegistryError)
        outcome = _run(settings, lambda dispatcher: ask(
            dispatcher.client, registry, settings, slug=slug, request=request,
            version=version))
        _print_outcome(outcome, ok=("updated", "started"))

    @app.command()
    @_one_line
    def promotion(slug: SLUG, version: VERSION = "") -> None:
        """Where a version's promotion is: each environment's status and who approved."""
        from temporalio.service import RPCError

        from models.promotion import PromotionProgress, promotion_workflow_id
        from registry.store import open_registry
        from starter.deploy_requests import DeployRefused, merged_version

        settings = get_settings()
        try:
            found, _ = merged_version(open_registry(settings.registry_url), slug, version)
        except DeployRefused as exc:
            _fail(str(exc))

        async def read(client: Any) -> PromotionProgress | None:
            handle = client.get_workflow_handle(promotion_workflow_id(slug, found))
            try:
                progress: PromotionProgress | None = await handle.query(
                    "progress", result_type=PromotionProgress)
            except RPCError:
                return None
            return progress

        progress = _run(settings, lambda dispatcher: read(dispatcher.client))
        if progress is None:
            _fail(f"{slug} {found} has no promotion (its first deployment starts one, "
                  f"`ccb promote {slug} --to <environment>` another)")
        typer.echo(f"{slug} {found} ({progress.commit_sha[:7]})")
        for step in progress.environments:
            who = f"  approved by {step.approved_by}" if step.approved_by else ""
            typer.echo(f"  {step.environment.value:<12} {step.status.value:<10} "
                       f"{step.policy.value:<9} {step.detail}{who}")

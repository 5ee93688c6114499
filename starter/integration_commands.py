"""Comment commands that act on the integration a request issue created: ``/promote``,
``/pause``, ``/resume``, ``/deprecate`` (on the issue or on its pull request). The webhook
has checked the commenter may write."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from infra.settings import Settings
from models.deployment import Environment
from models.lifecycle_actions import LifecycleAction, LifecycleRequest
from models.promotion import PromoteRequest
from registry.queries import slug_of_issue
from registry.store import open_registry
from starter.commands import Command, CommandName
from starter.dispatch import Outcome
from starter.lifecycle_requests import start_lifecycle
from starter.promotions import promote

INTEGRATION_COMMANDS = frozenset({CommandName.PROMOTE, CommandName.PAUSE, CommandName.RESUME,
                                  CommandName.DEPRECATE})


async def integration_command(client: Client, settings: Settings, *, issue: int, actor: str,
                              command: Command) -> Outcome:
    """Run ``command`` from ``actor`` on the integration of request issue ``issue``."""
    registry = open_registry(settings.registry_url)
    slug = await asyncio.to_thread(slug_of_issue, registry, settings.github_repo, issue)
    if slug is None:
        return Outcome("rejected", f"#{issue} has no merged integration yet: nothing to "
                       f"{command.name.value}")
    if command.name is CommandName.PROMOTE:
        environment, _, sha = command.text.partition(" ")
        return await promote(client, registry, settings, slug=slug, request=PromoteRequest(
            environment=Environment(environment), approver=actor, commit_sha=sha,
            source="comment"))
    return await start_lifecycle(client, settings, LifecycleRequest(
        slug=slug, action=LifecycleAction(command.name.value), actor=actor,
        reason=command.text, source="comment"), wait=False)

"""``ccb pause``, ``ccb resume``, ``ccb deprecate``: an integration's lifecycle, in every
environment it is live in.

    ccb pause <slug> [--reason "..."] [--as NAME]     # out of the proxy, monitors stopped
    ccb resume <slug> [--as NAME]                       # healthy first, then traffic again
    ccb deprecate <slug> [--reason "..."] [--as NAME]  # instances and routes removed

Each is a recorded transition with who (the operator, or ``--as``) and why.
"""

from __future__ import annotations

from typing import Annotated

import typer

from infra.settings import get_settings
from models.lifecycle_actions import LifecycleAction
from starter.cli_commands import _one_line, _os_user, _print_outcome, _run

SLUG = Annotated[str, typer.Argument(help="the integration's slug")]
REASON = Annotated[str, typer.Option("--reason", help="why (recorded with the transition)")]
AS = Annotated[str, typer.Option("--as", help="who acts (default: you)")]


def _act(action: LifecycleAction, slug: str, reason: str, as_user: str) -> None:
    from models.lifecycle_actions import LifecycleRequest
    from registry.store import open_registry
    from starter.lifecycle_requests import start_lifecycle

    settings = get_settings()
    open_registry(settings.registry_url).get(slug)  # an unknown slug is one line
    request = LifecycleRequest(slug=slug, action=action, actor=as_user or _os_user(),
                               reason=reason[:500], source="cli")
    outcome = _run(settings, lambda dispatcher: start_lifecycle(
        dispatcher.client, settings, request, wait=True))
    _print_outcome(outcome, ok=("updated",))


def register(app: typer.Typer) -> None:
    @app.command()
    @_one_line
    def pause(slug: SLUG, reason: REASON = "", as_user: AS = "") -> None:
        """Take an ACTIVE integration out of traffic (its instances keep running)."""
        _act(LifecycleAction.PAUSE, slug, reason, as_user)

    @app.command()
    @_one_line
    def resume(slug: SLUG, reason: REASON = "", as_user: AS = "") -> None:
        """Bring a PAUSED integration back: healthy first, then traffic and monitors."""
        _act(LifecycleAction.RESUME, slug, reason, as_user)

    @app.command()
    @_one_line
    def deprecate(slug: SLUG, reason: REASON = "", as_user: AS = "") -> None:
        """Remove its instances and routes and free its proxy slot; code and history stay."""
        _act(LifecycleAction.DEPRECATE, slug, reason, as_user)

"""``ccb approve-plan`` and ``ccb revise-plan``: answer a plan-first request's plan from a
terminal, as ``/approve-plan`` and ``/revise-plan`` do on GitHub.

    ccb approve-plan <issue> --revision N       # code is written from revision N
    ccb revise-plan <issue> --revision N "..."  # the analysis runs again with the words

The revision is required: an answer is bound to the revision its author read.
"""

from __future__ import annotations

from typing import Annotated

import typer

from infra.settings import get_settings
from starter.cli_commands import _fail, _one_line, _os_user, _print_outcome, _run

ISSUE = Annotated[int, typer.Argument(help="the request's issue number")]
REVISION = Annotated[int, typer.Option("--revision", min=1,
                                       help="the plan revision you read (`ccb status`)")]
REPO = Annotated[str | None, typer.Option(help="owner/name (default: CCB_GITHUB_REPO)")]


def register(app: typer.Typer) -> None:
    @app.command("approve-plan")
    @_one_line
    def approve_plan(issue: ISSUE, revision: REVISION, repo: REPO = None) -> None:
        """Approve plan revision N: the code is written from it."""
        from models.plan import PlanApproval
        from starter.plan_dispatch import answer_plan

        settings = get_settings()
        answer = PlanApproval(reviewer=_os_user(), revision=revision, source="cli")
        outcome = _run(settings, lambda d: answer_plan(d, repo or settings.github_repo, issue,
                                                       answer))
        _print_outcome(outcome, ok=("updated",))

    @app.command("revise-plan")
    @_one_line
    def revise_plan(issue: ISSUE, revision: REVISION,
                    text: Annotated[str, typer.Argument(help="what to change in the plan")],
                    repo: REPO = None) -> None:
        """Ask for the next revision of plan revision N, with what to change."""
        from pydantic import ValidationError

        from models.plan import PlanRevision
        from starter.plan_dispatch import answer_plan

        settings = get_settings()
        try:
            answer = PlanRevision(reviewer=_os_user(), revision=revision, source="cli",
                                  text=text)
        except ValidationError:
            _fail("the text must be 1 to 20,000 characters", 2)
        outcome = _run(settings, lambda d: answer_plan(d, repo or settings.github_repo, issue,
                                                       answer))
        _print_outcome(outcome, ok=("updated",))

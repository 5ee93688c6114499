"""``ccb budget <issue> +N``: raise the dollar cap of a request waiting at it, as a writer's
``/budget +N`` comment does (the workflow's ``raise_budget`` update, audited by it).

    ccb budget 12 +2.50 [--as NAME] [--repo owner/name]
"""

from __future__ import annotations

from typing import Annotated

import typer

from infra.settings import get_settings
from starter.cli_commands import ISSUE, REPO, _fail, _one_line, _os_user, _print_outcome, _run
from starter.commands import Command, parse_command

AMOUNT = Annotated[str, typer.Argument(help="dollars to add, e.g. +2 or +2.50")]
AS = Annotated[str, typer.Option("--as", help="who raises it (default: you)")]


def register(app: typer.Typer) -> None:
    @app.command()
    @_one_line
    def budget(issue: ISSUE, amount: AMOUNT, as_user: AS = "", repo: REPO = None) -> None:
        """Raise a waiting request's dollar cap by AMOUNT (at most CCB_BUDGET_RAISE_MAX_USD)."""
        from models.spend import BudgetRaise
        from starter.budget_dispatch import raise_budget

        parsed = parse_command(f"/budget {amount}")
        if not isinstance(parsed, Command):
            _fail(getattr(parsed, "problem", "say how many dollars to add"), 2)
            return
        settings = get_settings()
        ask = BudgetRaise(actor=as_user or _os_user(), amount_usd=float(parsed.text),
                          source="cli")
        outcome = _run(settings, lambda d: raise_budget(d, repo or settings.github_repo,
                                                        issue, ask))
        _print_outcome(outcome, ok=("updated",))

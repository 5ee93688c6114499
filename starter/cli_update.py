"""``ccb update`` (open an integration-update issue and start its workflow) and
``ccb versions`` (an integration's versions and state transitions)."""

from __future__ import annotations

from typing import Annotated

import typer

from infra.settings import get_settings
from starter.cli_commands import REPO, CliError, _fail, _github, _github_call, _one_line, _run
from workflows import names


def update_body(slug: str, kind: str, change: str, endpoints: list[str]) -> str:
    """The integration-update form body (``### <Field>`` sections) the template renders."""
    sections = [("Integration", slug), ("Kind of change", kind), ("Change", change),
                ("Endpoints", "\n".join(endpoints) or "_No response_")]
    return "\n\n".join(f"### {label}\n\n{text.strip()}" for label, text in sections) + "\n"


def register(app: typer.Typer) -> None:
    """Add ``update`` and ``versions`` to ``app``."""

    @app.command("update")
    @_one_line
    def update(
        slug: Annotated[str, typer.Argument(help="the integration's slug (see `ccb list`)")],
        change: Annotated[str, typer.Option(help="what should change, and why; "
                                            "'rename <old> to <new>' renames a method")],
        kind: Annotated[str, typer.Option(help="feature, fix or breaking")] = "feature",
        endpoint: Annotated[list[str] | None, typer.Option(
            "--endpoint", help="'METHOD /path - what it does'; repeat for more")] = None,
        as_user: Annotated[str | None, typer.Option(
            "--as", help="a local forge user (e.g. alice) to open the issue as")] = None,
        repo: REPO = None,
    ) -> None:
        """Open an integration-update issue and start its update workflow."""
        from rules.issue_form import parse_update_form

        body = update_body(slug, kind, change, endpoint or [])
        parsed = parse_update_form(body)
        if not parsed.ok:
            _fail("the update would be rejected: " + "; ".join(map(str, parsed.problems)), 2)
        settings = get_settings()
        target = repo or settings.github_repo
        try:
            github = _github(settings, as_user)
            issue = _github_call("open the issue", lambda: github.get_repo(target).create_issue(
                title=f"[Integration update] {slug}", body=body, labels=[names.UPDATE_LABEL]))
        except CliError as exc:
            _fail(str(exc))
        typer.echo(f"opened issue #{issue.number} in {target}: {issue.html_url}")
        who = as_user or settings.bot_login
        outcome = _run(settings, lambda d: d.start_request(
            target, issue.number, who, issue.title, body, update=True))
        typer.echo(f"{outcome.message} [{outcome.workflow_id}]")

    @app.command("versions")
    @_one_line
    def versions(slug: Annotated[str, typer.Argument(help="the integration's slug")]) -> None:
        """An integration's versions (current one marked) and its state transitions."""
        from registry.store import RegistryError, open_registry

        registry = open_registry(get_settings().registry_url)
        try:
            row = registry.get(slug)
            rows = registry.versions(slug)
        except RegistryError as exc:
            _fail(str(exc))
        typer.echo(f"{slug}: {row.state}, current version {row.current_version or '-'}")
        for version in rows:
            mark = "*" if version.version == row.current_version else " "
            pr = f"PR #{version.pr_number}" if version.pr_number else ""
            typer.echo(f" {mark} {version.version:<10} {version.commit_sha[:7] or '-':<8} "
                       f"{pr:<9} {version.created_at:%Y-%m-%d %H:%M:%S}")
        for t in registry.transitions(slug):
            typer.echo(f"   {t.at}  {t.from_state or '-':>10} -> {t.to_state:<10} by {t.actor}"
                       f"  ({t.reason})")

"""`ccb request | approve | request-changes | retry | cancel | status`: the bot from a terminal.

``ccb request`` opens an integration-request issue on GitHub (or the local forge) as a person;
the webhook then starts the work, as for any issue. The other commands talk to the request's
workflow through Temporal, exactly as the comment commands do (``starter.dispatch``). Errors
are one line on stderr, never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import pwd
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from infra.settings import Settings, get_settings
from starter.issue_events import cancel_and_say
from workflows import names

T = TypeVar("T")

ISSUE = Annotated[int, typer.Argument(min=1, help="the request issue's number")]
REPO = Annotated[str | None, typer.Option("--repo", help="owner/name; default CCB_GITHUB_REPO")]


class CliError(Exception):
    """A failure the user can act on: its text is the one line printed."""


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"ccb: {message}", err=True)
    raise typer.Exit(code)


def _one_line(command: Callable[..., None]) -> Callable[..., None]:
    """Any failure the commands did not foresee still ends as one line, not a traceback."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
            _fail(f"unexpected {type(exc).__name__}: {str(exc)[:300]}")

    return guarded


def _os_user() -> str:
    """Who runs the CLI (recorded as the reviewer of CLI approvals)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Connect to Temporal, run ``work(dispatcher)``, turn known failures into one line."""
    from temporalio.service import RPCError

    from infra.temporal import connect
    from starter.dispatch import Dispatcher, TemporalUnavailable

    async def go() -> T:
        client = await connect(settings)
        return await work(Dispatcher(client, settings.task_queue,
                                    approval=settings.approval_times(),
                                    plan_first=settings.plan_first))

    try:
        return asyncio.run(go())
    except (ConnectionError, TemporalUnavailable, CliError) as exc:
        _fail(str(exc))
    except RPCError as exc:
        _fail(f"Temporal refused the call: {exc.message}")
    raise AssertionError("unreachable")


def _print_outcome(outcome: Any, *, ok: tuple[str, ...]) -> None:
    line = f"{outcome.message}" + (f" [{outcome.workflow_id}]" if outcome.workflow_id else "")
    if outcome.status in ok:
        typer.echo(line)
        return
    _fail(line)


# -- GitHub side (ccb request, ccb retry) ------------------------------------------------------

def _github(settings: Settings, as_user: str | None) -> Any:
    """A PyGithub client: the local forge's token for ``as_user``, else the configured one."""
    from activities.github_client import (
        GitHubNotConfigured,
        client_from_settings,
        forge_tokens_path,
        token_client,
    )

    if as_user:
        path = forge_tokens_path(settings)
        try:
            tokens = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise CliError(f"--as needs the local forge's tokens at {path}: start the forge "
                           "(`ccb up`) or drop --as to use GITHUB_TOKEN") from None
        token = tokens.get(as_user) if isinstance(tokens, dict) else None
        if not isinstance(token, str):
            raise CliError(f"the local forge has no user {as_user!r}; known: "
                           + ", ".join(sorted(tokens) if isinstance(tokens, dict) else []))
        return token_client(settings.github_base_url, token, paced=False)
    try:
        return client_from_settings(settings)
    except GitHubNotConfigured as exc:
        raise CliError(exc.message) from None


def _github_call(what: str, call: Callable[[], T]) -> T:
    from github import GithubException
    from requests import RequestException

    try:
        return call()
    except GithubException as exc:
        detail = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        raise CliError(f"GitHub refused to {what}: HTTP {exc.status} {detail or ''}".strip()) \
            from None
    except RequestException as exc:
        raise CliError(f"cannot reach GitHub to {what} ({type(exc).__name__}): check "
                       "CCB_GITHUB_API_URL, or start the local forge") from None


def request_body(*, service: str, integration_type: str, base_url: str, auth: str,
                 endpoints: list[str], requirements: str, example: str, slug: str = "") -> str:
    """The issue-form body (``### <Field>`` sections) the template would render."""
    from rules import issue_form as form

    def value(text: str) -> str:
        return text.strip() or form.NO_RESPONSE

    sections = [
        (form.SERVICE_NAME, service), (form.SLUG, slug),
        (form.INTEGRATION_TYPE, integration_type),
        (form.BASE_URL, base_url), (form.AUTHENTICATION, auth),
        (form.ENDPOINTS, "\n".join(endpoints)), (form.REQUIREMENTS, requirements),
        (form.EXAMPLE_USAGE, example),
    ]
    return "\n\n".join(f"### {label}\n\n{value(text)}" for label, text in sections) + "\n"


def register(app: typer.Typer) -> None:
    """Add the request and workflow-message commands to ``app``."""

    @app.command("request")
    @_one_line
    def request(
        file: Annotated[Path | None, typer.Option("--file", help="issue body (markdown) to "
                                                   "send as is")] = None,
        service: Annotated[str, typer.Option(help="Service name, in any script")] = "",
        slug: Annotated[str, typer.Option(help="identifier, e.g. acme-weather (default: "
                                               "derived from the service name)")] = "",
        integration_type: Annotated[str, typer.Option("--type", help="api-client, "
                                                      "webhook-receiver or sync-job")] = "",
        base_url: Annotated[str, typer.Option("--base-url")] = "",
        auth: Annotated[str, typer.Option(help="none, api-key, bearer or oauth2")] = "",
        endpoint: Annotated[list[str] | None, typer.Option(
            "--endpoint", help="'METHOD /path - what it does'; repeat for more")] = None,
        requirements: Annotated[str, typer.Option()] = "",
        example: Annotated[str, typer.Option(help="Example usage")] = "",
        title: Annotated[str, typer.Option(help="issue title")] = "",
        as_user: Annotated[str | None, typer.Option(
            "--as", help="a local forge user (e.g. alice) to open the issue as")] = None,
        check: Annotated[bool, typer.Option(help="refuse a body the bot would reject")] = True,
        plan_first: Annotated[bool, typer.Option(help="label it plan-first: the plan is "
                                                      "approved before code")] = False,
        repo: REPO = None,
    ) -> None:
        """Open an integration-request issue (label integration-request)."""
        from rules.issue_form import parse_issue_form

        settings = get_settings()
        if file is not None:
            try:
                body = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                _fail(f"cannot read {file}: {type(exc).__name__}", 2)
        elif service:
            body = request_body(service=service, integration_type=integration_type,
                                base_url=base_url, auth=auth, endpoints=endpoint or [],
                                requirements=requirements, example=example, slug=slug)
        else:
            _fail("give the request as --file body.md, or as --service/--type/--base-url/"
                  "--auth/--endpoint", 2)
        parsed = parse_issue_form(body)
        if check and not parsed.ok:
            _fail("the request would be rejected: " + "; ".join(map(str, parsed.problems))
                  + " (fix it, or pass --no-check)", 2)
        name = parsed.request.service_name if parsed.request else (service or "integration")
        issue_title = title or f"Integration request: {name}"
        target = repo or settings.github_repo
        try:
            github = _github(settings, as_user)
            issue = _github_call("open the issue", lambda: github.get_repo(target).create_issue(
                title=issue_title, body=body,
                labels=[names.REQUEST_LABEL, *(["plan-first"] if plan_first else [])]))
        except CliError as exc:
            _fail(str(exc))
        typer.echo(f"opened issue #{issue.number} in {target}: {issue.html_url}")

    @app.command("approve")
    @_one_line
    def approve(
        issue: ISSUE,
        comment: Annotated[str, typer.Option(help="a note kept with the approval")] = "",
        head: Annotated[str | None, typer.Option(
            help="the head commit you reviewed and approve (its first 7 characters at "
                 "least); asked for when omitted")] = None,
        repo: REPO = None,
    ) -> None:
        """Approve the request's PR at the head you reviewed (the workflow's `approve`
        update): accepted or not."""
        from models.creation import ApprovalDecision

        settings = get_settings()
        repo_name = repo or settings.github_repo
        if not head:
            target = _run(settings, lambda d: d.pull_request_head(repo_name, issue))
            if target is None:
                _fail(f"nothing to approve: no pull request of issue #{issue} waits for "
                      f"approval (see `ccb status {issue}`)")
                return
            number, sha = target
            if not sys.stdin.isatty():
                _fail(f"say which head you approve: pull request #{number} is at {sha[:7]}; "
                      f"run `ccb approve {issue} --head {sha[:7]}` once you reviewed it", 2)
            typer.echo(f"pull request #{number} is at {sha[:7]}; type those 7 characters to "
                       "approve that head: ", nl=False)
            head = input().strip()
        decision = ApprovalDecision(reviewer=_os_user(), source="cli", comment=comment,
                                    head_sha=head)
        outcome = _run(settings, lambda d: d.approve(repo_name, issue, decision))
        _print_outcome(outcome, ok=("updated",))

    @app.command("request-changes")
    @_one_line
    def request_changes(
        issue: ISSUE,
        text: Annotated[str, typer.Argument(help="what to change")],
        repo: REPO = None,
    ) -> None:
        """Send the request back to code generation with your comments."""
        from pydantic import ValidationError

        from models.creation import ChangeRequest

        settings = get_settings()
        try:
            change = ChangeRequest(reviewer=_os_user(), text=text, source="cli")
        except ValidationError:
            _fail("the text must be 1 to 20,000 characters", 2)
        outcome = _run(settings, lambda d: d.request_changes(repo or settings.github_repo,
                                                             issue, change))
        _print_outcome(outcome, ok=("signalled",))

    @app.command("retry")
    @_one_line
    def retry(issue: ISSUE, repo: REPO = None) -> None:
        """Start a failed request again (its issue's current text is read from GitHub)."""
        settings = get_settings()
        target = repo or settings.github_repo
        try:
            github = _github(settings, None)
            found = _github_call(f"read issue #{issue}",
                                 lambda: github.get_repo(target).get_issue(issue))
            title, body = _github_call(f"read issue #{issue}", lambda: (found.title, found.body))
        except CliError as exc:
            _fail(str(exc))
        outcome = _run(settings, lambda d: d.retry(target, issue, _os_user(), title, body))
        _print_outcome(outcome, ok=("started",))

    @app.command("cancel")
    @_one_line
    def cancel(issue: ISSUE, repo: REPO = None) -> None:
        """Cancel the request's workflow (it undoes what it did)."""
        settings = get_settings()
        outcome = _run(settings, lambda d: cancel_and_say(d, repo or settings.github_repo,
                                                          issue, _os_user()))
        _print_outcome(outcome, ok=("cancelled",))

    @app.command("status")
    @_one_line
    def status(issue: Annotated[int | None, typer.Argument(min=1)] = None,
               repo: REPO = None) -> None:
        """Progress of one request (workflow + registry), or of every open workflow."""
        settings = get_settings()
        target = repo or settings.github_repo
        if issue is not None:
            outcome = _run(settings, lambda d: d.progress(target, issue))
            _print_outcome(outcome, ok=("queried",))
            for row in _registry_rows(settings, target, issue):
                typer.echo(row)
            return
        running = _run(settings, lambda d: _open_workflows(d, settings.task_queue))
        typer.echo(f"{len(running)} open workflow(s) on task queue {settings.task_queue}")
        for line in running:
            typer.echo(f"  {line}")
        for row in _registry_rows(settings, target, None):
            typer.echo(row)


def _registry_rows(settings: Settings, repo: str, issue: int | None) -> list[str]:
    from registry.store import RegistryError, open_registry

    try:
        rows = open_registry(settings.registry_url).list_integrations()
    except RegistryError as exc:
        return [f"registry: {exc}"]
    except Exception as exc:  # noqa: BLE001 - a status command reports, it does not crash
        return [f"registry: unavailable ({type(exc).__name__})"]
    picked = [r for r in rows if issue is None or (r.repo == repo and r.issue_number == issue)]
    if not picked:
        return ["registry: no integration recorded" + (f" for #{issue}" if issue else "")]
    return [f"registry: {r.slug} is {r.state}, version {r.current_version or '-'}"
            + (f" (#{r.issue_number})" if r.issue_number else "") for r in picked]


async def _open_workflows(dispatcher: Any, task_queue: str) -> list[str]:
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    lines: list[str] = []
    async for execution in dispatcher.client.list_workflows(query, limit=200):
        lines.append(f"{execution.id}  {execution.workflow_type}  since "
                     f"{execution.start_time:%Y-%m-%d %H:%M:%S}")
    return lines

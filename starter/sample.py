"""The sample request `ccb up --sample` sends through everything that exists.

With the local forge (no GitHub token) it plays the people's parts through the same code path
as real GitHub: alice opens an integration-request issue (the forge's webhook starts the
creation workflow), and when the workflow waits for a human, alice approves the pull request
with a review (whose webhook reaches the workflow's approve handler). Against real GitHub it
only opens the issue and says where to approve.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from github import Auth, Github
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from infra.settings import Settings
from models.creation import CreationResult, Progress
from workflows.names import creation_workflow_id

SAMPLE_BODY = (Path(__file__).parent / "sample_request.md").read_text()
SAMPLE_TITLE = "Integration request: Acme Weather"
SAMPLE_SLUG = "acme-weather"
WAIT_FOR_WORKFLOW = 60.0
WAIT_FOR_APPROVAL_STEP = 600.0


def _github_as(settings: Settings, user: str) -> Github:
    tokens = json.loads((settings.data_dir / "forge" / "tokens.json").read_text())
    return Github(base_url=settings.forge_api_url, auth=Auth.Token(tokens[user]), retry=None,
                  timeout=30, seconds_between_requests=None, seconds_between_writes=None)


async def _await_workflow(client: Client, workflow_id: str) -> WorkflowHandle:
    handle = client.get_workflow_handle(workflow_id, result_type=CreationResult)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_WORKFLOW
    while True:
        try:
            await handle.describe()
            return handle
        except RPCError:
            if loop.time() > deadline:
                raise TimeoutError(f"no workflow {workflow_id} started within "
                                   f"{WAIT_FOR_WORKFLOW:.0f}s: see .data/logs/starter.log "
                                   "and forge.log") from None
            await asyncio.sleep(0.5)


async def _await_approval_step(handle: WorkflowHandle, say: Callable[[str], None]) -> Progress:
    loop = asyncio.get_running_loop()
    deadline, seen = loop.time() + WAIT_FOR_APPROVAL_STEP, ""
    while True:
        progress: Progress = await handle.query("progress", result_type=Progress)
        if progress.current_step != seen:
            seen = progress.current_step
            say(f"ccb:   step: {seen} (state {progress.state})")
        if progress.waiting_for_approval or progress.error:
            return progress
        if loop.time() > deadline:
            raise TimeoutError("the sample did not reach the approval step in time")
        await asyncio.sleep(0.5)


# The sample's service is fictional: its container needs the credential set, not a real one.
SAMPLE_CREDENTIALS = {"ACME_WEATHER_API_KEY": "placeholder-for-the-fictional-sample-service"}


def _store_sample_credentials(say: Callable[[str], None]) -> None:
    """As an operator would (``ccb secrets set``): the sample's credential in its store, for
    each environment it is promoted through."""
    from infra.secrets import secret_store
    from infra.settings import get_settings

    store = secret_store()
    for env in get_settings().environment_order:
        for name, value in SAMPLE_CREDENTIALS.items():
            if name not in store.names(SAMPLE_SLUG, env.value):
                store.set(SAMPLE_SLUG, name, value, env.value)
                say(f"ccb: stored the sample's placeholder {name} in its secret store for "
                    f"{env} (what `ccb secrets set {SAMPLE_SLUG} {name} --env {env}` does)")


async def send_sample(client: Client, settings: Settings,
                      say: Callable[[str], None]) -> CreationResult | None:
    """Open the sample issue; in forge mode also approve its PR and wait for the result."""
    if not settings.uses_forge:
        say("ccb: a GitHub token is set: open an issue with the integration-request form "
            "(the sample body is starter/sample_request.md); the sample does not act for you "
            "on real GitHub")
        return None
    from registry.store import open_registry

    existing = open_registry(settings.registry_url).find(SAMPLE_SLUG)
    if existing is not None and existing.state != "FAILED":
        say(f"ccb: the sample integration {SAMPLE_SLUG!r} exists already (issue "
            f"#{existing.issue_number}, state {existing.state}); not opening another request. "
            f"Its workflow: {settings.workflow_ui_url(existing.workflow_id)}")
        return None
    _store_sample_credentials(say)
    alice = _github_as(settings, "alice").get_repo(settings.github_repo)
    issue = await asyncio.to_thread(alice.create_issue, title=SAMPLE_TITLE, body=SAMPLE_BODY,
                                    labels=["integration-request"])
    say(f"ccb: alice opened issue #{issue.number} ({issue.html_url})")
    workflow_id = creation_workflow_id(settings.github_repo, issue.number)
    handle = await _await_workflow(client, workflow_id)
    say(f"ccb: the webhook started {workflow_id}: {settings.workflow_ui_url(workflow_id)}")
    progress = await _await_approval_step(handle, say)
    if progress.waiting_for_approval and progress.pr_number:
        pull = await asyncio.to_thread(alice.get_pull, progress.pr_number)
        await asyncio.to_thread(pull.create_review, body="Looks good (the sample's approval).",
                                event="APPROVE")
        say(f"ccb: alice approved pull request #{progress.pr_number} with a review")
    return await handle.result()

"""Helpers of the update and review tests: a live integration in the forge and the registry,
commits pushed to branches as a person would, and pull requests opened on them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from github import InputGitTreeElement
from github.GithubException import GithubException
from github.Repository import Repository
from temporalio.client import Client, WorkflowHandle

from activities.codegen import offline_generator
from activities.lifecycle import record_version
from models.codegen import AnalyzeInput, GenerateInput
from models.events import EventType
from models.lifecycle import VersionCommand
from models.request import IntegrationRequest
from models.states import IntegrationState
from models.update import UpdateResult
from registry.store import Registry
from rules.issue_form import parse_issue_form
from tests.conftest import REPO_ROOT, running_worker
from tests.creation_helpers import World

SLUG = "acme-weather"
ROOT = f"integrations/{SLUG}"


def sample_request() -> IntegrationRequest:
    body = (REPO_ROOT / "starter" / "sample_request.md").read_text()
    parsed = parse_issue_form(body)
    assert parsed.request is not None
    return parsed.request


def base_files(version: str = "0.1.0") -> dict[str, str]:
    """The files the offline generator writes for the sample request."""
    request = sample_request()
    spec = offline_generator.analyze(AnalyzeInput(request=request, integration_key="t")).spec
    return offline_generator.generate(GenerateInput(request=request, spec=spec, version=version,
                                                    integration_key="t")).files


def push(repo: Repository, branch: str, files: dict[str, str], message: str,
         delete: tuple[str, ...] = ()) -> str:
    """One commit on ``branch`` (created from main when missing) writing ``files``."""
    try:
        ref = repo.get_git_ref(f"heads/{branch}")
    except GithubException:
        main = repo.get_git_ref("heads/main").object.sha
        ref = repo.create_git_ref(f"refs/heads/{branch}", main)
    parent = repo.get_git_commit(ref.object.sha)
    elements = [InputGitTreeElement(path, "100644", "blob", content=text)
                for path, text in files.items()]
    elements += [InputGitTreeElement(path, "100644", "blob", sha=None) for path in delete]
    tree = repo.create_git_tree(elements, parent.tree)
    commit = repo.create_git_commit(message, tree, [parent])
    ref.edit(commit.sha)
    return commit.sha


def seed_integration(world: World, registry: Registry) -> dict[str, str]:
    """acme-weather 0.1.0 merged on main and recorded (APPROVED, version 0.1.0) as creation
    leaves it when auto-deployment is off."""
    files = base_files()
    push(world.as_user("alice"), "main", files, "Add acme-weather 0.1.0")
    request = sample_request()
    registry.record_request(slug=SLUG, name=request.service_name,
                            integration_type=request.integration_type.value,
                            request=request.model_dump(mode="json"), repo=world.repo,
                            issue_number=1, actor="alice", workflow_id="seed", key="seed/req")
    for index, state in enumerate(["ANALYZING", "GENERATING", "TESTING", "REVIEWING",
                                   "APPROVED"]):
        registry.transition(SLUG, IntegrationState(state), actor="seed", reason="seed",
                            workflow_id="seed", key=f"seed/{index}")
    record_version(VersionCommand(slug=SLUG, version="0.1.0", commit_sha="0" * 40))
    registry.add_event("seed/tests", EventType.TESTS_COMPLETED, slug=SLUG,
                       payload={"passed": True, "security_scan": "passed"})
    registry.add_event("seed/review", EventType.REVIEW_COMPLETED, slug=SLUG,
                       payload={"approved_by": "alice"})
    return files


def open_pull(world: World, branch: str, title: str = "Change acme-weather") -> int:
    pull = world.as_user("alice").create_pull(title=title, body="A change by hand.",
                                              head=branch, base="main")
    return pull.number


def statuses(world: World, sha: str) -> list[tuple[str, str]]:
    """(state, description) of the ccb/review statuses of ``sha``, newest first."""
    commit = world.as_user("alice").get_commit(sha)
    return [(s.state, s.description) for s in commit.get_statuses() if s.context == "ccb/review"]


def bot_reviews(world: World, number: int) -> list[str]:
    pull = world.as_user("alice").get_pull(number)
    return [r.body for r in pull.get_reviews() if r.user.login == "ccb-bot"]


def bot_inline_comments(world: World, number: int) -> list[tuple[str, int, str]]:
    pull = world.as_user("alice").get_pull(number)
    return [(c.path, c.line, c.body) for c in pull.get_review_comments()
            if c.user.login == "ccb-bot"]


async def wait_until(handle: WorkflowHandle, stage: str, timeout: float = 120) -> None:
    """Poll a workflow's ``progress`` query (bounded) until it reports ``stage``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await handle.query("progress")) != stage:
        if loop.time() > deadline:
            raise AssertionError(f"{handle.id} never reached {stage!r}")
        await asyncio.sleep(0.1)


def update_body(slug: str, kind: str, change: str, endpoints: str = "") -> str:
    """An integration-update issue body as GitHub renders the form."""
    return (f"### Integration\n\n{slug}\n\n### Kind of change\n\n{kind}\n\n"
            f"### Change\n\n{change}\n\n### Endpoints\n\n{endpoints or '_No response_'}\n")


def new_update_issue(world: World, body: str) -> int:
    issue = world.as_user("alice").create_issue(title="[Integration update] acme-weather",
                                                body=body, labels=["integration-update"])
    return issue.number


MARKER_POLLS = 300  # at most 300 x 0.1 s for a paused step to be reached


async def killed_mid_step(client: Client, task_queue: str, temporal_address: str,
                          data_dir: Path, point: str,
                          start: Callable[[], Awaitable[WorkflowHandle]],
                          then: Callable[[WorkflowHandle], Awaitable[object]] | None = None,
                          ) -> object:
    """Start a workflow on a worker *process* paused at ``point``, SIGKILL that worker once the
    point is reached, and finish the workflow on a fresh worker in this process (``then``,
    e.g. a person's approval, done on the way)."""
    env = {**os.environ, "CCB_TEMPORAL_ADDRESS": temporal_address, "CCB_TASK_QUEUE": task_queue,
           "CCB_FAULT_PAUSE": f"{point}=60", "CCB_LOG_FORMAT": "json"}
    marker = data_dir / "faults" / f"{point}.reached"
    log = data_dir / "worker-1.log"
    first = subprocess.Popen([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env,
                             stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    try:
        handle = await start()
        for _ in range(MARKER_POLLS):
            if marker.exists():
                break
            await asyncio.sleep(0.1)
        assert marker.exists(), log.read_text()[-2000:]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        async with running_worker(client, task_queue):  # the restarted worker, unpaused
            if then is not None:
                await then(handle)
            result = await handle.result()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
    assert marker.read_text().count("\n") == 1  # paused once, on the killed worker
    return result


async def approved_update(client: Client, inp: object, workflow_id: str,
                          task_queue: str) -> UpdateResult:
    """Run an update to its end, approving its pull request when it asks (a person approves
    every merge)."""
    handle = await client.start_workflow("IntegrationUpdateWorkflow", inp, id=workflow_id,
                                         task_queue=task_queue, result_type=UpdateResult)
    await approve_when_asked(handle)
    result: UpdateResult = await handle.result()
    return result


async def approve_when_asked(handle: WorkflowHandle) -> None:
    from tests.creation_helpers import approve, wait_for_approval_wait

    await wait_for_approval_wait(handle)
    await approve(handle)

"""A bot world for creation-workflow tests: the forge, settings pointing at it, a worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from github.Repository import Repository
from temporalio.client import Client, WorkflowHandle

from activities.github_client import reset_github_client
from forge.testing import ForgeHandle, running_forge
from infra.secrets import secret_store
from infra.settings import get_settings
from models.creation import ApprovalAnswer, ApprovalDecision, CreationInput, Progress
from tests.conftest import REPO_ROOT

SAMPLE_BODY = (REPO_ROOT / "starter" / "sample_request.md").read_text()
GITHUB_ENV = ("GITHUB_TOKEN", "CCB_GITHUB_TOKEN", "CCB_GITHUB_APP_ID", "ANTHROPIC_API_KEY",
              "CCB_ANTHROPIC_API_KEY")


@dataclass
class World:
    forge: ForgeHandle
    data_dir: Path

    @property
    def repo(self) -> str:
        return self.forge.full_name

    def as_user(self, user: str) -> Repository:
        return self.forge.github(user).get_repo(self.repo)

    def new_issue(self, body: str = SAMPLE_BODY, title: str = "Integration request") -> int:
        issue = self.as_user("alice").create_issue(title=title, body=body,
                                                   labels=["integration-request"])
        return issue.number

    def creation_input(self, issue: int, body: str = SAMPLE_BODY, **extra: object) -> CreationInput:
        return CreationInput(repo=self.repo, issue_number=issue, requested_by="alice",
                             body=body, **extra)  # type: ignore[arg-type]

    def bot_comments(self, issue: int) -> list[str]:
        comments = self.as_user("alice").get_issue(issue).get_comments()
        return [c.body for c in comments if c.user.login == "ccb-bot"]

    def progress_comment(self, issue: int) -> str:
        """The bot's one progress comment (edited in place as the run goes)."""
        [comment] = [c for c in self.bot_comments(issue) if "<!-- ccb:progress -->" in c]
        return comment

    def ending_comment(self, issue: int) -> str:
        """The one new comment that ended the run (``rules/endings.py``)."""
        [comment] = [c for c in self.bot_comments(issue) if "<!-- ccb:ending/" in c]
        return comment

    def branches(self) -> list[str]:
        return [b.name for b in self.as_user("alice").get_branches()]

    def pulls(self, state: str = "all") -> list:
        return list(self.as_user("alice").get_pulls(state=state))


@pytest.fixture(name="world")
def world_fixture(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The forge in forge mode (no token), its files under <data_dir>/forge, as in production;
    auto-deployment off (the deploying world below turns it on)."""
    monkeypatch.setenv("CCB_FEATURE_FLAGS", json.dumps({"development": {
        "auto_deployment": False}}))
    with _forge_world(data_dir, monkeypatch) as world:
        yield world


@pytest.fixture(name="deploying_world")
def deploying_world_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The forge world with blue-green deployment on: a short data dir (HAProxy's socket),
    the proxy on a free port, and afterwards every proxy and container removed."""
    from tests.deploy_helpers import deploy_environment, quick_environment_tuning

    monkeypatch.setenv("CCB_DEPLOY_TUNING", quick_environment_tuning())
    with deploy_environment(monkeypatch) as data, _forge_world(data, monkeypatch) as world:
        yield world


@contextlib.contextmanager
def _forge_world(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with running_forge(data_dir / "forge") as forge:
        for var in GITHUB_ENV:
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("CCB_GITHUB_API_URL", forge.api_url)
        monkeypatch.setenv("CCB_GITHUB_REPO", forge.full_name)
        get_settings.cache_clear()
        reset_github_client()
        store_sample_credential()
        try:
            yield World(forge=forge, data_dir=data_dir)
        finally:
            reset_github_client()
            get_settings.cache_clear()


def store_sample_credential() -> None:
    """What an operator does once for the sample (`ccb secrets set acme-weather
    ACME_WEATHER_API_KEY`): without it a request waits for it before its merge."""
    secret_store().set("acme-weather", "ACME_WEATHER_API_KEY", "test-placeholder-key")


async def wait_for_approval_wait(handle: WorkflowHandle, timeout: float = 240) -> Progress:
    """Poll the progress query (bounded) until the workflow waits for a human decision."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    from temporalio.service import RPCError, RPCStatusCode

    while True:
        try:
            progress = await handle.query("progress", result_type=Progress)
        except RPCError as exc:
            # Right after a start the workers may not have polled the queue yet: the server
            # answers "no poller seen for task queue recently" (FAILED_PRECONDITION).
            if exc.status != RPCStatusCode.FAILED_PRECONDITION or loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)
            continue
        if progress.waiting_for_approval:
            return progress
        if loop.time() > deadline:
            raise AssertionError(f"never waited for approval; at {progress.current_step}: "
                                 f"{progress.error}")
        await asyncio.sleep(0.2)


async def start_creation(client: Client, world: World, issue: int, task_queue: str,
                         **extra: object) -> WorkflowHandle:
    from models.creation import CreationResult

    return await client.start_workflow(
        "IntegrationCreationWorkflow", world.creation_input(issue, **extra),
        id=f"integration-{world.repo.replace('/', '-')}-{issue}-{task_queue}",
        task_queue=task_queue, result_type=CreationResult)


async def approve(handle: WorkflowHandle, reviewer: str = "alice",
                  source: str = "cli") -> ApprovalAnswer:
    """A person's approval of the run's pull request at its current head (what a review on
    GitHub, `/approve` on the pull request or `ccb approve --head` sends)."""
    progress = await handle.query("progress", result_type=Progress)
    answer: ApprovalAnswer = await handle.execute_update(
        "approve", ApprovalDecision(reviewer=reviewer, source=source,
                                    head_sha=progress.head_sha, pr_number=progress.pr_number),
        result_type=ApprovalAnswer)
    return answer

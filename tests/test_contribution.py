"""Issue 13 item 3, the last event: a person's own pull request that changes an integration,
merged on GitHub (the forge's signed webhooks to the starter). The merge is recorded as a
version bound to its commit, with the sandbox's tests and scan for that sha and the merger
as approver; a version whose tests failed is recorded but neither deployed nor current; one
comment on the pull request says so; a redelivered webhook records nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from infra.settings import get_settings
from models.contribution import ContributionResult
from models.deployment import Environment
from models.events import EventType
from models.manifest import SEMVER_PATTERN
from models.promotion import PromotionProgress, PromotionResult, promotion_workflow_id
from models.states import IntegrationState
from models.webhooks import PullRequestEvent
from registry.deployments import live_deployment
from registry.store import open_registry
from rules.contribution import contributed_version
from starter.routing import ContributionMerged, Ignored, route
from tests.conftest import running_worker
from tests.creation_helpers import wait_for_approval_wait
from tests.creation_recording import replays_and_is_kept
from tests.deploy_helpers import QUICK_TUNING, deploy_environment
from tests.figures import figure
from tests.webhook_flow import WebhookWorld, skip_issue_numbers, wait_for_run, webhook_world
from tests.webhook_helpers import deliver
from workflows import names

SECRET = "contribution-secret"
FIXTURES = Path(__file__).parents[2] / "shared" / "fixtures" / "github-webhooks" / "pull_request"
VERSIONS = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(
    lambda t: ".".join(map(str, t)))
SHAS = st.text("0123456789abcdef", min_size=40, max_size=40)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("-")[0].split("+")[0].split("."))


@given(st.lists(st.tuples(VERSIONS, SHAS), max_size=8, unique_by=lambda r: r[0]),
       st.one_of(VERSIONS, st.text(max_size=12), st.just("")), SHAS)
def test_a_contributed_version_is_the_manifests_when_new_and_stable_for_its_commit(
        recorded: list[tuple[str, str]], manifest: str, sha: str) -> None:
    version, why = contributed_version(recorded, manifest, sha)
    mine = [v for v, s in recorded if s == sha]
    if mine:  # a retried run: the commit keeps the version it was recorded as
        assert (version, why) == (mine[0], "")
        return
    above = re.fullmatch(SEMVER_PATTERN, manifest.strip()) and all(
        _key(manifest.strip()) > _key(v) for v, _ in recorded)
    if above:  # the person's bump, taken as written
        assert (version, why) == (manifest.strip(), "")
    else:  # nothing recorded, and what to bump it to
        assert version == "" and "manifest.json" in why and "new pull request" in why
        if recorded:
            highest = max((v for v, _ in recorded), key=_key)
            assert f"not above the recorded {highest}" in why


def _closed_payload(*, merged: bool, body: str | None, head_ref: str, base_ref: str) -> dict:
    payload = json.loads((FIXTURES / "closed.payload.json").read_text())
    pull = payload["pull_request"]
    pull.update(merged=merged, body=body, merge_commit_sha="c4295bd74fb0f4fda03689c3df3f28"
                                                           "03b658fd85")
    pull["head"]["ref"], pull["base"]["ref"] = head_ref, base_ref
    return payload


def test_a_persons_merged_pull_request_into_main_is_a_contribution_and_nothing_else_is() -> None:
    def routed(**kw: object) -> object:
        return route("pull_request", PullRequestEvent.model_validate(_closed_payload(**kw)))

    action = routed(merged=True, body="Tidy the client", head_ref="fix", base_ref="main")
    assert isinstance(action, ContributionMerged)
    assert action.merge_sha.startswith("c4295bd") and action.pr_number == 2
    assert isinstance(routed(merged=False, body="x", head_ref="fix", base_ref="main"), Ignored)
    assert isinstance(routed(merged=True, body="x", head_ref="fix", base_ref="release"),
                      Ignored)
    bots = routed(merged=True, body="Closes #4", head_ref="integration/acme", base_ref="main")
    assert not isinstance(bots, ContributionMerged)  # the bot's own PR: its workflow's


@pytest.fixture(name="hooked")
def hooked_fixture(data_dir: Path, monkeypatch: pytest.MonkeyPatch, temporal_address: str,
                   task_queue: str) -> Iterator[WebhookWorld]:
    with webhook_world(data_dir, monkeypatch, temporal_address=temporal_address,
                       task_queue=task_queue, secret=SECRET) as world:
        yield world


async def _replays(client: Client, workflow_id: str, name: str) -> None:
    """The run's history replays on today's code (kept as a fixture when recording)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    await replays_and_is_kept(history, name)


async def _result(client: Client, workflow_id: str) -> ContributionResult:
    handle = await wait_for_run(client, workflow_id, timeout=120)
    return await client.get_workflow_handle(
        workflow_id, run_id=handle.run_id, result_type=ContributionResult).result()


def _change(world: WebhookWorld, branch: str, edits: dict[str, Callable[[str], str]],
            message: str) -> int:
    """carol (write access) pushes one commit per edited file to a new branch and opens a
    pull request."""
    repo = world.as_user("carol")
    repo.create_git_ref(f"refs/heads/{branch}", repo.get_branch("main").commit.sha)
    for path, edit in edits.items():
        found = repo.get_contents(path, ref=branch)
        repo.update_file(path, message, edit(found.decoded_content.decode()), found.sha,
                         branch=branch)
    return repo.create_pull(title=message, body="A change by hand.", head=branch,
                            base="main").number


def _version(version: str) -> Callable[[str], str]:
    return lambda text: json.dumps({**json.loads(text), "version": version}, indent=2)


async def test_a_persons_merged_change_is_recorded_as_a_version_and_a_failing_one_is_not_current(
        client: Client, task_queue: str, hooked: WebhookWorld) -> None:
    world = hooked
    skip_issue_numbers(world, 240)
    root = "integrations/acme-weather/"
    async with running_worker(client, task_queue):
        issue = world.new_issue()
        run = await wait_for_run(client, world.request_handle(client, issue).id)
        waiting = await wait_for_approval_wait(run)
        world.as_user("carol").get_pull(waiting.pr_number or 0).merge(merge_method="squash")
        created = await run.result()
        assert created.slug == "acme-weather"

        # carol bumps the manifest to 1.1.0 by hand, and merges her own pull request
        bump = _change(world, "carol/timeout", {f"{root}manifest.json": _version("1.1.0")},
                       "Bump acme-weather to 1.1.0")
        merged = world.as_user("carol").get_pull(bump).merge(merge_method="merge")
        wid = names.contribution_workflow_id(world.repo, bump, merged.sha)
        result = await _result(client, wid)

        # then a change that breaks its tests, bumped to 1.1.1
        broken = _change(world, "carol/broken", {
            f"{root}tests/test_client.py":
                lambda t: t + "\n\ndef test_carol_broke_it():\n    assert 1 == 2\n",
            f"{root}manifest.json": _version("1.1.1")}, "A test that fails")
        bad_merge = world.as_user("carol").get_pull(broken).merge(merge_method="squash")
        bad = await _result(client, names.contribution_workflow_id(world.repo, broken,
                                                                   bad_merge.sha))
        # and a README change whose manifest still says 1.1.1: no version to record
        docs = _change(world, "carol/docs", {f"{root}README.md": lambda t: t + "\nMore.\n"},
                       "README: more")
        docs_merge = world.as_user("carol").get_pull(docs).merge(merge_method="squash")
        unbumped = await _result(client, names.contribution_workflow_id(world.repo, docs,
                                                                        docs_merge.sha))
        # the merge's webhook delivered again (GitHub redelivers) starts nothing new
        [closed] = [d["payload"] for d in world.forge.deliveries()
                    if (d["event"], d["action"]) == ("pull_request", "closed")
                    and d["payload"]["pull_request"]["number"] == bump]
        async with httpx.AsyncClient(base_url=world.starter_url, trust_env=False) as http:
            again = await deliver(http, "pull_request", closed, secret=SECRET)
        assert again.status_code == 202 and again.json()["status"] == "exists", again.text
        await _replays(client, wid, "contribution_recorded")
    [one] = result.integrations
    assert (one.slug, one.version, one.outcome) == ("acme-weather", "1.1.0", "recorded")
    [two] = bad.integrations
    assert (two.version, two.outcome) == ("1.1.1", "not_deployed")
    [three] = unbumped.integrations
    assert (three.version, three.outcome) == ("", "not_recorded")
    assert "not above the recorded 1.1.1: bump `version`" in three.line
    assert "1.1.2 for a fix, 1.2.0 for a feature" in three.line
    registry = open_registry(get_settings().registry_url)
    rows = {v.version: v for v in registry.versions("acme-weather")}
    assert rows["1.1.0"].commit_sha == merged.sha and rows["1.1.0"].pr_number == bump
    assert rows["1.1.1"].commit_sha == bad_merge.sha and set(rows) == {"0.1.0", "1.1.0",
                                                                       "1.1.1"}
    assert registry.get("acme-weather").current_version == "1.1.0"  # the failing one is not
    gates = {e.payload["version"]: e.payload for e in registry.events("acme-weather")
             if e.type == EventType.VERSION_RECORDED}
    assert gates["1.1.0"]["tests_passed"] is True and gates["1.1.0"]["approved_by"] == "carol"
    assert gates["1.1.0"]["security_scan"] == "passed"
    assert gates["1.1.1"]["tests_passed"] is False  # so its promotion's gate fails
    said = [c for c in world.bot_comments(bump) if "merged this pull request" in c]
    assert len(said) == 1 and said[0].startswith(f"@carol merged this pull request as "
                                                 f"{merged.sha[:7]}")
    assert "`acme-weather` 0.1.0 -> 1.1.0 is recorded" in said[0], said[0]  # the first: 0.1.0
    assert "auto-deployment is off in development" in said[0]
    [bad_said] = [c for c in world.bot_comments(broken) if "merged this pull request" in c]
    assert "`acme-weather` 1.1.0 -> 1.1.1" in bad_said
    assert "is recorded but not deployed: its tests failed" in bad_said
    assert "cannot be promoted" in bad_said
    desc = await client.get_workflow_handle(wid).describe()
    assert desc.status == WorkflowExecutionStatus.COMPLETED


@pytest.mark.slow
async def test_a_persons_merged_change_is_deployed_blue_green_where_the_flags_allow(
        client: Client, temporal_address: str, task_queue: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """...and its promotion supersedes the older version's, which waited for a person."""
    with contextlib.ExitStack() as stack:
        data = stack.enter_context(deploy_environment(monkeypatch))
        monkeypatch.setenv("CCB_ENVIRONMENTS", "development,production")  # before the starter
        monkeypatch.setenv("CCB_DEPLOY_TUNING", json.dumps({
            "development": QUICK_TUNING, "production": QUICK_TUNING}))
        world = stack.enter_context(webhook_world(
            data, monkeypatch, temporal_address=temporal_address, task_queue=task_queue,
            secret=SECRET, deploy=True))
        skip_issue_numbers(world, 260)
        older = client.get_workflow_handle(promotion_workflow_id("acme-weather", "0.1.0"),
                                           result_type=PromotionResult)
        newer = client.get_workflow_handle(promotion_workflow_id("acme-weather", "0.2.0"))
        async with running_worker(client, task_queue), _ended(older, newer):
            issue = world.new_issue()
            run = await wait_for_run(client, world.request_handle(client, issue).id)
            waiting = await wait_for_approval_wait(run)
            world.as_user("alice").get_pull(waiting.pr_number or 0).create_review(
                body="Looks good.", event="APPROVE")
            created = await run.result()
            assert created.state == IntegrationState.ACTIVE
            first = live_deployment(open_registry(get_settings().registry_url),
                                    "acme-weather", "development")
            assert first is not None and first.version == "0.1.0"
            await _waits_for_production(older)
            number = _change(world, "carol/minor", {
                "integrations/acme-weather/manifest.json": _version("0.2.0")},
                "acme-weather 0.2.0")
            merged = world.as_user("carol").get_pull(number).merge(merge_method="squash")
            wid = names.contribution_workflow_id(world.repo, number, merged.sha)
            result = await _result(client, wid)
            await _replays(client, wid, "contribution_deployed")
            superseded = await older.result()  # 0.1.0 no longer waits for a person
        assert superseded.reached == Environment.DEVELOPMENT
        assert superseded.stopped.startswith("superseded: 0.2.0 was merged after it")
        [one] = result.integrations
        assert (one.outcome, one.version) == ("deployed", "0.2.0"), one.line
        registry = open_registry(get_settings().registry_url)
        live = live_deployment(registry, "acme-weather", "development")
        assert live is not None and live.version == "0.2.0" and live.color != first.color
        assert registry.get("acme-weather").current_version == "0.2.0"
        [said] = [c for c in world.bot_comments(number) if "merged this pull request" in c]
        assert "0.1.0 -> 0.2.0 is recorded" in said and "live in development" in said
        assert f"`/promote <environment>` on #{issue}" in said  # its request issue
        figure(f"contribution #{number} by carol: acme-weather 0.1.0 ({first.color}) -> "
               f"0.2.0 ({live.color}) live, merge {merged.sha[:7]}")


async def _waits_for_production(handle: WorkflowHandle) -> None:
    progress = None
    for _ in range(400):  # bounded: 0.1.0's live checks in development, then the wait
        with contextlib.suppress(RPCError):
            progress = await handle.query("progress", result_type=PromotionProgress)
            if progress is not None and progress.waiting_for == Environment.PRODUCTION:
                return
        await asyncio.sleep(0.5)
    raise AssertionError(f"the promotion of 0.1.0 never waited for production: {progress}")


@contextlib.asynccontextmanager
async def _ended(*handles: WorkflowHandle) -> AsyncIterator[None]:
    """Promotions this test started end with it (their ids are the slug's and version's)."""
    try:
        yield
    finally:
        for handle in handles:
            with contextlib.suppress(RPCError):
                await handle.terminate("the test is over")

"""Issue 12, item 3: integration credentials have their own store, never the worker's
environment; the bot's own names can never be configured for an integration; a request
whose credential is missing waits before its merge and goes on once it is set."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.client import Client

from activities.checks.layout import manifest_findings
from activities.code_checks import check_code
from activities.codegen.offline_generator import analyze, generate
from activities.deploy.containers import INTEGRATION_NETWORK
from activities.deploy.naming import LABEL_SLUG
from activities.sandbox.docker_runner import docker_client
from infra.secrets import SecretStore, SecretStoreError, secret_store
from infra.settings import get_settings
from models.codegen import AnalyzeInput, GenerateInput
from models.creation import Progress
from models.request import AuthType
from models.states import IntegrationState
from registry.store import open_registry
from rules.credentials import BOT_NAMES, BOT_PREFIXES, problem_with
from starter.dispatch import Dispatcher
from tests.codegen_samples import WEATHER
from tests.conftest import REPO_ROOT, running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixtures `world`, `deploying_world`
    World,
    approve,
    deploying_world_fixture,
    start_creation,
    wait_for_approval_wait,
    world_fixture,
)

SLUG = "acme-weather"
KEY = "ACME_WEATHER_API_KEY"


# -- names ----------------------------------------------------------------------------------


@given(st.one_of(st.sampled_from(sorted(BOT_NAMES)),
                 st.builds(lambda p, rest: p + rest, st.sampled_from(BOT_PREFIXES),
                           st.from_regex(r"[A-Z0-9_]{0,20}", fullmatch=True))))
def test_the_bots_own_names_are_never_an_integrations(name: str) -> None:
    problem = problem_with(name)
    assert problem is not None and "bot's own names" in problem


def test_a_manifest_naming_a_bot_secret_gets_a_blocking_finding() -> None:
    files = generate(GenerateInput(request=WEATHER, spec=analyze(AnalyzeInput(
        request=WEATHER, integration_key="k")).spec, integration_key="k")).files
    path = f"integrations/{SLUG}/manifest.json"
    for name in ("GITHUB_TOKEN", "CCB_WEBHOOK_SECRET", "ANTHROPIC_API_KEY"):
        bad = {**files, path: files[path].replace(f'"{KEY}"', f'"{name}"')}
        [finding] = [f for f in manifest_findings(bad, SLUG) if f.code == "bot-credential"]
        assert finding.severity == "error" and name in finding.message
    assert not [f for f in check_code(files, SLUG) if f.severity == "error"]


def test_a_github_integration_is_given_a_name_of_its_own() -> None:
    """The generator used to name a "GitHub" bearer integration's credential GITHUB_TOKEN."""
    request = WEATHER.model_copy(update={"service_name": "GitHub", "slug": "github",
                                         "auth": AuthType.BEARER})
    files = generate(GenerateInput(request=request, spec=analyze(AnalyzeInput(
        request=request, integration_key="k")).spec, integration_key="k")).files
    manifest = files["integrations/github/manifest.json"]
    assert "INTEGRATION_GITHUB_TOKEN" in manifest and '"GITHUB_TOKEN"' not in manifest
    assert not [f for f in check_code(files, "github") if f.severity == "error"]


# -- the store ---------------------------------------------------------------------------------


def test_the_store_keeps_values_private_and_refuses_bot_names(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    store.set(SLUG, KEY, "v1")
    store.set(SLUG, KEY, "v2", environment="production")
    file = tmp_path / "secrets" / SLUG / "development.json"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    assert store.names(SLUG) == [KEY] and store.environments(SLUG) == [
        "development", "production"]
    assert store.values(SLUG, "production", [KEY, "OTHER"]) == {KEY: "v2"}
    for bad in ("GITHUB_TOKEN", "CCB_X", "lower", "../x"):
        with pytest.raises(SecretStoreError):
            store.set(SLUG, bad, "x")
    with pytest.raises(SecretStoreError, match="slug"):
        store.set("../etc", KEY, "x")


def test_ccb_secrets_set_reads_stdin_and_list_prints_names_only(tmp_path: Path) -> None:
    env = {**os.environ, "CCB_DATA_DIR": str(tmp_path),
           "CCB_TEMPORAL_ADDRESS": "127.0.0.1:1"}  # nothing waits: nobody to tell
    ccb = [str(Path(sys.executable).with_name("ccb"))]
    secret = "s3cr3t-value-from-stdin"
    done = subprocess.run([*ccb, "secrets", "set", SLUG, KEY], input=secret + "\n",
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=60,
                          check=False)
    assert done.returncode == 0 and f"{KEY} stored for {SLUG} in development" in done.stdout
    listed = subprocess.run([*ccb, "secrets", "list", SLUG], capture_output=True, text=True,
                            env=env, cwd=REPO_ROOT, timeout=60, check=False)
    assert listed.returncode == 0 and listed.stdout.split() == ["development", KEY]
    assert secret not in done.stdout + done.stderr + listed.stdout + listed.stderr
    refused = subprocess.run([*ccb, "secrets", "set", SLUG, "GITHUB_TOKEN"], input="x",
                             capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                             timeout=60, check=False)
    assert refused.returncode == 1 and "bot's own names" in refused.stderr
    assert "Traceback" not in refused.stderr


# -- a request that needs a credential ---------------------------------------------------------


async def test_a_missing_credential_waits_before_the_merge_and_set_lets_it_go_on(
        client: Client, task_queue: str, deploying_world: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    world = deploying_world
    secret_store().unset(SLUG, KEY)  # the deploying world stores it: take it away
    monkeypatch.setenv(KEY, "from-the-worker-environment")  # must never reach the container
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_worker_own_token_never_handed_on")
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        await wait_for_approval_wait(handle)
        await approve(handle)
        for _ in range(600):  # bounded: the merge step is reached within a minute
            progress = await handle.query("progress", result_type=Progress)
            if progress.waiting_for_credentials:
                break
            await asyncio.sleep(0.1)
        assert progress.waiting_for_credentials == [KEY]
        [asked] = [c for c in world.bot_comments(issue) if "needs 1 credential" in c]
        assert "@alice" in asked and f"ccb secrets set {SLUG} {KEY} --env development" in asked
        pull = world.as_user("alice").get_pull(progress.pr_number or 0)
        assert not pull.merged  # nothing merged while it waits

        secret_store().set(SLUG, KEY, "the-operators-value")
        dispatcher = Dispatcher(client, task_queue)
        assert await dispatcher.credentials_set(SLUG, "development", [KEY]) == [handle.id]
        result = await handle.result()

    assert result.state == IntegrationState.ACTIVE
    assert open_registry(get_settings().registry_url).get(SLUG).state == IntegrationState.ACTIVE
    assert [p.title for p in world.pulls() if p.title.startswith("Revert")] == []
    engine = docker_client()
    assert engine is not None
    [container] = engine.containers.list(filters={"label": f"{LABEL_SLUG}={SLUG}"})
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    assert env[KEY] == "the-operators-value"  # from the store, not the worker
    assert not {k for k in env if k.startswith(("CCB_", "GITHUB_", "ANTHROPIC_"))}
    assert "ghp_worker_own_token_never_handed_on" not in str(container.attrs)
    # item 5: on the integrations' network (inter-container traffic off), never as root
    assert container.attrs["HostConfig"]["NetworkMode"] == INTEGRATION_NETWORK
    user = container.attrs["Config"]["User"] or container.image.attrs["Config"]["User"]
    assert user and user.split(":")[0] not in ("", "0", "root")

"""Issue 12, item 1: the code checks never import, run or take configuration from the tree
they check. The tree is hostile here: files that shadow a module the tools import, a mypy
plugin named in ``pyproject.toml``, start-up hooks and tool configuration files. Each would
write a marker file (with the process's environment) if any of it ran on the host.

The control case runs mypy the way the checks did before (working directory in the tree,
default configuration): the same files do run there, so the markers are a real signal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowFailureError

from activities.code_checks import run_checks
from models.review import ReviewOptions, ReviewOutcome, ReviewRun
from models.update import UpdateInput
from registry.store import Registry
from tests.claude_scripts import files_answer, good_files, spec_answer
from tests.codegen_samples import WEATHER, generated, write_files
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    start_creation,
    world_fixture,
)
from tests.messages_api_server import claude_api
from tests.update_helpers import (
    bot_inline_comments,
    bot_reviews,
    new_update_issue,
    open_pull,
    push,
    seed_integration,
    statuses,
    update_body,
)

ROOT = f"integrations/{WEATHER.slug}"
PKG = WEATHER.slug.replace("-", "_")
# Modules mypy or bandit import at start (or are): a file of that name on sys.path wins.
SHADOWED = ("mypy", "bandit", "typing_extensions", "tomli", "yaml", "stevedore", "mypy_extensions",
            "pathspec", "rich")
PLACES = (ROOT, f"{ROOT}/{PKG}")


def _payload(marker_dir: Path, name: str) -> str:
    """Python that leaves ``<marker_dir>/<name>`` holding the environment it could read."""
    return (f"import os as _os\n"
            f"_os.makedirs({str(marker_dir)!r}, exist_ok=True)\n"
            f"with open(_os.path.join({str(marker_dir)!r}, {name!r}), 'w') as _f:\n"
            f"    _f.write(repr(dict(_os.environ)))\n")


def hostile_files(marker_dir: Path, base: dict[str, str], shadow: str = "mypy",
                  place: str = ROOT) -> dict[str, str]:
    """``base`` (an integration's files) with every way in added."""
    files = dict(base)
    files[f"{place}/{shadow}.py"] = _payload(marker_dir, f"shadow-{shadow}")
    files[f"{ROOT}/evil_plugin.py"] = _payload(marker_dir, "mypy-plugin") + (
        "def plugin(version):\n    from mypy.plugin import Plugin\n    return Plugin\n")
    files[f"{ROOT}/pyproject.toml"] = (files.get(f"{ROOT}/pyproject.toml", "")
                                       + '\n[tool.mypy]\nplugins = ["evil_plugin"]\n')
    files[f"{ROOT}/sitecustomize.py"] = _payload(marker_dir, "sitecustomize")
    files[f"{ROOT}/usercustomize.py"] = _payload(marker_dir, "usercustomize")
    files[f"{ROOT}/{PKG}/evil.pth"] = "import os; exec(" + repr(_payload(marker_dir, "pth")) + ")\n"
    files[f"{ROOT}/mypy.ini"] = "[mypy]\nplugins = evil_plugin\n"
    files[f"{ROOT}/setup.cfg"] = "[mypy]\nplugins = evil_plugin\n"
    return files


def _hostile_tree(marker_dir: Path, shadow: str, place: str) -> dict[str, str]:
    return hostile_files(marker_dir, generated("weather").files, shadow, place)


@settings(max_examples=int(os.environ.get("CCB_HOSTILE_TREE_EXAMPLES", "6")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shadow=st.sampled_from(SHADOWED), place=st.sampled_from(PLACES))
def test_nothing_in_a_checked_tree_runs_on_the_host(tmp_path_factory, shadow: str,
                                                   place: str) -> None:
    marker_dir = tmp_path_factory.mktemp("markers") / "ran"
    files = _hostile_tree(marker_dir, shadow, place)
    report = run_checks(files, WEATHER.slug)
    assert not marker_dir.exists(), sorted(p.name for p in marker_dir.iterdir())
    refused = {(f.code, f.path.rsplit("/", 1)[-1]) for f in report.findings}
    assert {("startup-hook", "sitecustomize.py"), ("startup-hook", "usercustomize.py"),
            ("startup-hook", "evil.pth"), ("tool-config", "mypy.ini"),
            ("tool-config", "setup.cfg")} <= refused
    # The tools did run (and read the files): mypy and bandit reported on the shadow file.
    assert report.seconds.get("mypy") is not None and report.seconds.get("bandit") is not None


def test_the_same_tree_runs_code_under_the_old_invocation(tmp_path: Path) -> None:
    """The control: ``python -m mypy`` from inside the tree with its default configuration
    (how the checks ran before) imports the shadow module and loads the plugin."""
    marker_dir = tmp_path / "ran"
    files = _hostile_tree(marker_dir, "mypy_extensions", ROOT)
    tree = tmp_path / "tree"
    write_files(files, tree)
    subprocess.run([sys.executable, "-m", "mypy", PKG], cwd=tree / ROOT, capture_output=True,
                   timeout=300, check=False, env={"PATH": os.defpath, "HOME": str(tmp_path)})
    assert marker_dir.exists() and {p.name for p in marker_dir.iterdir()} & {
        "shadow-mypy_extensions", "mypy-plugin"}


# -- the ways in, through the workflows ---------------------------------------------------------


async def test_a_persons_pull_request_with_hostile_files_runs_nothing_on_the_host(
        client: Client, task_queue: str, world: World, registry: Registry,
        tmp_path: Path) -> None:
    """A person with write access opens a PR carrying every way in; the review workflow
    checks it (and tests it in the sandbox): nothing ran on the host, the merge is blocked
    and the status says why."""
    seed_integration(world, registry)
    marker_dir = tmp_path / "ran"
    repo = world.as_user("alice")
    existing = {f"{ROOT}/pyproject.toml":
                repo.get_contents(f"{ROOT}/pyproject.toml").decoded_content.decode()}
    additions = hostile_files(marker_dir, existing)
    sha = push(repo, "helpers", additions, "Add helpers")
    number = open_pull(world, "helpers")
    run = ReviewRun(repo=world.repo, pr_number=number, head_ref="helpers", head_sha=sha,
                    requested_by="alice", options=ReviewOptions())
    async with running_worker(client, task_queue):
        outcome = await client.execute_workflow(
            "CodeReviewWorkflow", run, id=f"review-{task_queue}-hostile",
            task_queue=task_queue, result_type=ReviewOutcome)
    assert not marker_dir.exists(), sorted(p.name for p in marker_dir.iterdir())
    assert outcome.status == "completed" and not outcome.gate_passed
    [(state, _), *_] = statuses(world, sha)
    assert state == "failure"
    comments = " ".join(body for _, _, body in bot_inline_comments(world, number))
    reviews = " ".join(bot_reviews(world, number))
    assert "startup-hook" in comments + reviews or "sitecustomize" in comments + reviews


async def test_a_model_answer_with_hostile_files_runs_nothing_on_the_host(
        client: Client, task_queue: str, world: World, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """Claude (the local Messages API) answers every round with the ways in: the creation's
    checks refuse them round after round and the run ends; nothing ran on the host."""
    marker_dir = tmp_path / "ran"
    with claude_api(monkeypatch, "sk-ant-test-dummy-key") as server:
        server.reply_tool_use(spec_answer())
        for _ in range(3):  # the default bound of fix rounds (round 2 repeats: it stops)
            server.reply_tool_use(files_answer(hostile_files(marker_dir, good_files())))
        issue = world.new_issue()
        async with running_worker(client, task_queue):
            handle = await start_creation(client, world, issue, task_queue)
            with pytest.raises(WorkflowFailureError) as failed:
                await handle.result()
    assert not marker_dir.exists(), sorted(p.name for p in marker_dir.iterdir())
    assert "internal error" in str(failed.value.cause)
    assert "would run as code when a Python interpreter starts" in str(failed.value.cause)
    assert world.pulls() == []


async def test_an_update_answer_with_hostile_files_runs_nothing_on_the_host(
        client: Client, task_queue: str, world: World, registry: Registry,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The update workflow's way in: Claude answers the update with the live files plus
    every way in; its checks refuse them and the run ends; nothing ran on the host."""
    marker_dir = tmp_path / "ran"
    files = seed_integration(world, registry)
    body = update_body("acme-weather", "feature", "Add hourly forecasts.",
                       "GET /forecast/{city}/hourly - the hourly forecast")
    issue = new_update_issue(world, body)
    with claude_api(monkeypatch, "sk-ant-test-dummy-key") as server:
        for _ in range(3):
            server.reply_tool_use(files_answer(hostile_files(marker_dir, files)))
        async with running_worker(client, task_queue):
            with pytest.raises(WorkflowFailureError):
                await client.execute_workflow(
                    "IntegrationUpdateWorkflow",
                    UpdateInput(repo=world.repo, issue_number=issue, requested_by="alice",
                                body=body),
                    id=f"update-{task_queue}-hostile", task_queue=task_queue)
    assert not marker_dir.exists(), sorted(p.name for p in marker_dir.iterdir())
    [comment] = [c for c in world.bot_comments(issue) if "<!-- ccb:update-result/" in c]
    assert "would run as code when a Python interpreter starts" in comment
    assert world.branches() == ["main"]

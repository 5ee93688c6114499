"""Issue 4 item 4: `ccb request | approve | request-changes | retry | cancel | status`, run as
the real console script against the test's Temporal server and GitHub-shaped server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import Client

from models.intake import intake_workflow_id
from starter.sample import SAMPLE_BODY
from tests.conftest import REPO_ROOT
from tests.webhook_helpers import deliver, load, ours, webhook_stack
from workflows import names

CCB = str(Path(sys.executable).parent / "ccb")


def ccb(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `ccb` with this test's settings (the environment webhook_stack set)."""
    return subprocess.run([CCB, *args], capture_output=True, text=True, env=dict(os.environ),
                          cwd=REPO_ROOT, timeout=60, check=False)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccb: "), result.stderr
    return lines[0]


async def test_the_cli_requests_and_talks_to_workflows(
        client: Client, task_queue: str, data_dir: Path,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    async with webhook_stack(client, task_queue, monkeypatch, creation="none") as stack:
        body = tmp_path / "body.md"
        body.write_text(SAMPLE_BODY)
        opened = ccb("request", "--file", str(body))
        assert opened.returncode == 0, opened.stderr
        assert opened.stdout.startswith(f"opened issue #1 in {stack.repo}")
        issue = stack.github.issues[0]
        assert issue["labels"] == [{"name": names.REQUEST_LABEL}]
        assert issue["title"] == "Integration request: Acme Weather"

        from_flags = ccb("request", "--service", "Acme Maps", "--type", "api-client",
                         "--base-url", "https://maps.acme.example", "--auth", "bearer",
                         "--endpoint", "GET /tiles/{z} - a tile")
        assert from_flags.returncode == 0, from_flags.stderr
        assert "### Endpoints\n\nGET /tiles/{z} - a tile" in stack.github.issues[1]["body"]
        assert "Base URL" in one_line_error(ccb("request", "--service", "Acme Maps"))

        # GitHub would now deliver issues.opened; the webhook starts the request.
        payload = ours(load("issues/opened.payload.json"))
        payload["issue"].update(number=1, body=SAMPLE_BODY, labels=issue["labels"])
        started = (await deliver(stack.http, "issues", payload)).json()
        assert started["workflow_id"] == intake_workflow_id(stack.repo, 1)
        assert (await client.get_workflow_handle(started["workflow_id"]).result())["accepted"]

        status = ccb("status", "1")
        assert status.returncode == 0, status.stderr
        assert f"{names.INTAKE_WORKFLOW} {intake_workflow_id(stack.repo, 1)} is completed" \
            in status.stdout
        assert "registry: acme-weather is REQUESTED" in status.stdout
        everything = ccb("status")
        assert everything.returncode == 0 and "acme-weather" in everything.stdout

        assert "nothing to approve" in one_line_error(ccb("approve", "1"))
        assert "takes no change requests" in one_line_error(ccb("request-changes", "1", "x"))
        assert "nothing to cancel" in one_line_error(ccb("cancel", "1"))
        assert "no workflow is working on #9" in one_line_error(ccb("cancel", "9"))
        assert "cannot read" in one_line_error(ccb("request", "--file", "/nonexistent.md"))


def test_cli_errors_are_one_line_without_temporal(data_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCB_TEMPORAL_ADDRESS", "127.0.0.1:9")
    for args in (["approve", "3"], ["status", "3"], ["cancel", "3"], ["request-changes", "3",
                                                                       "x"]):
        assert "cannot reach Temporal" in one_line_error(ccb(*args))

"""Issue 12, item 2: the sandbox fails closed, and what leaves a test run is scrubbed.

"No Docker engine" is made by pointing ``DOCKER_HOST`` at a unix socket that does not exist
(nothing is sent anywhere). Without the opt-in the tests refuse with one sentence and no
generated code runs; with it, the weaker runner never runs code as root (here, where uid
65534 cannot run this interpreter, it refuses); failure text reaching the issue has no
secrets and no environment dump in it, whatever the hostile test printed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.sandbox import NO_ENGINE, SandboxUnavailable, run_sandboxed_tests
from activities.sandbox.adapter import run_tests_for_workflow, to_test_report
from activities.sandbox.local_runner import ROOT_REFUSED, can_drop_to_nobody
from infra.settings import get_settings
from models.creation import Progress
from models.sandbox import SandboxReport, SandboxRequest, TestFailure
from models.verify import TestRequest as VerifyRequest
from rules.scrub import SCRUBBED, scrub
from tests.conftest import running_worker
from tests.creation_helpers import (  # noqa: F401 - the fixture `world`
    World,
    start_creation,
    world_fixture,
)

FAKE_SECRETS = ("ghp_fakeFAKEfake0123456789abcdefXYZ", "sk-ant-api03-fakefakefake-0123456789",
                "AKIAFAKEFAKEFAKE1234", "hunter2-fake-password")


@pytest.fixture(name="no_engine")
def no_engine_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")


def _marking_suite(marker: Path) -> dict[str, str]:
    """A suite that leaves ``marker`` when any of it runs (at import, in a test)."""
    write = f"open({str(marker)!r}, 'w').write('ran')\n"
    return {"conftest.py": write, "mod.py": write + "def one():\n    return 1\n",
            "tests/test_mod.py": "from mod import one\n\n\ndef test_one():\n"
                                 f"    {write}    assert one() == 1\n"}


def test_without_an_engine_the_tests_refuse_and_nothing_runs(
        no_engine: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCB_SANDBOX_ALLOW_LOCAL", raising=False)
    get_settings.cache_clear()
    marker = tmp_path / "ran"
    with pytest.raises(SandboxUnavailable, match="no Docker engine answers"):
        run_sandboxed_tests(SandboxRequest(files=_marking_suite(marker)))
    assert not marker.exists()
    # As the activity says it: the bot's set-up, not retried, not the request's fault.
    with pytest.raises(ApplicationError) as refused:
        run_tests_for_workflow(VerifyRequest(slug="calc", files={
            f"integrations/calc/{p}": t for p, t in _marking_suite(marker).items()}))
    assert refused.value.non_retryable and refused.value.type == "InternalSandboxUnavailable"
    assert NO_ENGINE in refused.value.message and not marker.exists()


UID_SUITE = {"mod.py": "def one():\n    return 1\n",
             "tests/test_uid.py": ("import os\n\nfrom mod import one\n\n\n"
                                   "def test_not_root():\n    assert one() == 1\n"
                                   "    assert os.geteuid() != 0, os.geteuid()\n")}


def test_the_opted_in_runner_never_runs_code_as_root(no_engine: None) -> None:
    """With the opt-in: the test process is not uid 0 (checked from inside); where uid
    65534 cannot run any interpreter with pytest, the runner refuses instead."""
    if os.geteuid() == 0 and not can_drop_to_nobody():
        with pytest.raises(SandboxUnavailable) as refused:
            run_sandboxed_tests(SandboxRequest(files=UID_SUITE), allow_local=True)
        assert str(refused.value) == ROOT_REFUSED
        return
    report = run_sandboxed_tests(SandboxRequest(files=UID_SUITE), allow_local=True)
    assert report.isolation.startswith("local") and report.ok and report.passed == 1, report


LEAKY_SUITE = {"mod.py": "def one():\n    return 1\n",
               "tests/test_leak.py": (
                   "import os\n\n\ndef test_leaks():\n"
                   f"    print({FAKE_SECRETS[0]!r}, 'GITHUB_TOKEN=' + {FAKE_SECRETS[1]!r})\n"
                   "    print(dict(os.environ))\n"
                   f"    assert False, 'token ' + {FAKE_SECRETS[2]!r} + ' ' + repr(os.environ)\n")}


def test_a_test_printing_secrets_and_its_environment_reaches_the_issue_without_them(
        no_engine: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real run in the opted-in runner of a test that prints fake secrets and dumps its
    environment: what the workflow gets (and the issue shows) holds none of it."""
    monkeypatch.setenv("CCB_SANDBOX_ALLOW_LOCAL", "1")
    monkeypatch.setenv("CCB_FAKE_WORKER_SECRET", FAKE_SECRETS[3])  # the worker's, never seen
    get_settings.cache_clear()
    report = run_tests_for_workflow(VerifyRequest(slug="calc", files={
        f"integrations/calc/{p}": t for p, t in LEAKY_SUITE.items()}))
    assert not report.passed and report.failures == 1 and report.findings
    shown = " ".join([*(f.message for f in report.findings), report.output_tail,
                      report.reason, report.summary])
    assert "test_leaks" in shown  # the failure itself is still reported
    assert not [s for s in FAKE_SECRETS if s in shown], shown
    assert "'PATH':" not in shown and "'HOME':" not in shown


async def test_without_an_engine_a_creation_fails_with_the_sentence_and_no_pull_request(
        client: Client, task_queue: str, world: World, no_engine: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCB_SANDBOX_ALLOW_LOCAL", raising=False)
    get_settings.cache_clear()
    issue = world.new_issue()
    async with running_worker(client, task_queue):
        handle = await start_creation(client, world, issue, task_queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        progress = await handle.query("progress", result_type=Progress)
    assert NO_ENGINE in str(failed.value.cause)
    assert progress.error_category == "internal"
    assert world.pulls() == [] and world.branches() == ["main"]
    comment = world.progress_comment(issue)
    assert NO_ENGINE in comment and "**Failed**" in comment
    assert world.ending_comment(issue).startswith(
        "@alice The integration request stopped because of an error in the bot itself")


# -- what leaves a test run ---------------------------------------------------------------------

_PRINTED = st.sampled_from([
    "token={s}", "GITHUB_TOKEN={s}", "{{'ANTHROPIC_API_KEY': '{s}'}}", "password: {s}",
    "environ({{'PATH': '/usr/bin', 'HOME': '/root', 'SECRET': '{s}'}})",
    "{{'HOME': '/root', 'X': '{s}'", "environ({{'LANG': 'C', 'Y': '{s}'",  # cut off
    "PATH=/usr/bin HOME=/root GH={s} LANG=C", "Authorization: Bearer {s}",
    "-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----"])


@settings(max_examples=60, deadline=None)
@given(template=_PRINTED, secret=st.sampled_from(FAKE_SECRETS),
       noise=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_failure_text_reaching_the_issue_holds_no_secret(template: str, secret: str,
                                                         noise: str) -> None:
    printed = noise + "\n" + template.format(s=secret) + "\n" + noise
    report = SandboxReport(ok=False, exit_code=1, isolation="docker", tests=1, failures=1,
                           failed_tests=[TestFailure(name="test_leak", kind="failure",
                                                     message=printed, details=printed)],
                           stdout_tail=printed)
    test_report = to_test_report(report, VerifyRequest(slug="calc", files={}))
    shown = " ".join([*(f.message for f in test_report.findings), test_report.output_tail,
                      test_report.summary])
    assert secret not in shown
    assert all(len(f.message) <= 1_000 for f in test_report.findings)


def test_scrub_keeps_what_a_failure_says() -> None:
    text = "AssertionError: assert double(2) == 4\n  where 6 = double(2)"
    assert scrub(text) == text
    assert scrub("x" * 5_000).endswith("(cut)") and len(scrub("x" * 5_000)) <= 1_000
    assert SCRUBBED in scrub("GITHUB_TOKEN=abc")

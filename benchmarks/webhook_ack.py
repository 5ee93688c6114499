"""Webhook ACK latency and throughput: the real starter beside a bare 202 endpoint.

Starts a Temporal dev server (the ``temporal`` binary in this venv), a GitHub-shaped
permission server, the starter (``python -m starter.app`` on 127.0.0.1) and a bare uvicorn
app that only answers 202, then sends the same bounded number of signed ``issues.opened``
deliveries (each a new integration request, so each starts a workflow) to each at a fixed
rate, open loop. Prints p50 / p99 latency, throughput and the starter/bare ratio.

    .venv/bin/python benchmarks/webhook_ack.py [--requests 400] [--rate 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starter.signature import sign  # noqa: E402
from tests.webhook_helpers import BOT, REPO, GitHubDouble, load, ours, serving  # noqa: E402

SECRET = "benchmark-secret"
BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def ack(request):
    await request.body()
    return JSONResponse({"status": "ignored"}, status_code=202)

app = Starlette(routes=[Route("/webhooks/github", ack, methods=["POST"])])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit(f"{url} exited with {process.returncode} before answering")
            try:
                await http.get(url, timeout=1)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer in 30 s")


def deliveries(count: int, first: int = 1) -> list[tuple[bytes, dict[str, str]]]:
    """``count`` signed issues.opened deliveries, each a new integration request."""
    base = ours(load("issues/opened.payload.json"), sender="carol")
    out = []
    for number in range(first, first + count):
        base["issue"].update(number=100_000 + number, labels=[{"name": "integration-request"}])
        body = json.dumps(base).encode()
        out.append((body, {"X-GitHub-Event": "issues", "X-GitHub-Delivery": f"bench-{number}",
                           "X-Hub-Signature-256": sign(SECRET, body),
                           "Content-Type": "application/json"}))
    return out


async def load_test(url: str, requests: list[tuple[bytes, dict[str, str]]],
                    rate: float) -> dict[str, float]:
    """Send ``requests`` at ``rate`` per second (open loop); latency from the planned send."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        # warm-up (not measured): connection, Temporal client, permission cache
        body, headers = deliveries(1, first=0)[0]
        await http.post("/webhooks/github", content=body, headers=headers)
        start = time.perf_counter()

        async def one(index: int, body: bytes, headers: dict[str, str]) -> None:
            nonlocal failures
            planned = start + index / rate
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            answer = await http.post("/webhooks/github", content=body, headers=headers)
            latencies.append(time.perf_counter() - planned)
            if answer.status_code != 202:
                failures += 1

        await asyncio.gather(*(one(i, b, h) for i, (b, h) in enumerate(requests)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {"p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            "throughput": len(latencies) / elapsed, "failures": failures}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    args = parser.parse_args()
    count = max(1, min(args.requests, 5_000))

    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        ui=False, dev_server_log_level="error")
    processes: list[subprocess.Popen[bytes]] = []
    github = GitHubDouble()
    try:
        with tempfile.TemporaryDirectory() as data, serving(github.app()) as github_url:
            starter_port, bare_port = free_port(), free_port()
            environment = {
                **os.environ, "CCB_DATA_DIR": data, "CCB_STARTER_PORT": str(starter_port),
                "CCB_STARTER_HOST": "127.0.0.1", "CCB_WEBHOOK_SECRET": SECRET,
                "CCB_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                "CCB_TASK_QUEUE": "webhook-ack-benchmark", "CCB_GITHUB_REPO": REPO,
                "CCB_GITHUB_API_URL": f"{github_url}/api/v3", "GITHUB_TOKEN": github.tokens[BOT],
                "CCB_LOG_LEVEL": "WARNING",
            }
            environment.pop("CCB_DATABASE_URL", None)
            processes.append(subprocess.Popen([sys.executable, "-m", "starter.app"], cwd=ROOT,
                                              env=environment, stderr=subprocess.DEVNULL))
            processes.append(subprocess.Popen(
                [sys.executable, "-c", BARE_APP + "\nimport uvicorn\nuvicorn.run(app, "
                 f"host='127.0.0.1', port={bare_port}, log_level='error')"],
                stderr=subprocess.DEVNULL))
            starter_url = f"http://127.0.0.1:{starter_port}"
            bare_url = f"http://127.0.0.1:{bare_port}"
            await wait_ready(f"{starter_url}/health/live", processes[0])
            await wait_ready(bare_url + "/webhooks/github", processes[1])

            bare = await load_test(bare_url, deliveries(count), args.rate)
            real = await load_test(starter_url, deliveries(count), args.rate)
            started = 0
            for _ in range(50):  # visibility catches up within moments
                started = 0
                async for _ in env.client.list_workflows("TaskQueue = 'webhook-ack-benchmark'"):
                    started += 1
                if started >= count + 1:
                    break
                await asyncio.sleep(0.1)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        await env.shutdown()

    print(f"{count} requests at {args.rate:g}/s, 2-core machine, all on 127.0.0.1")
    for name, figures in (("bare 202 endpoint", bare), ("starter (verify+start)", real)):
        print(f"{name:<24} p50 {figures['p50_ms']:7.2f} ms   p99 {figures['p99_ms']:7.2f} ms   "
              f"throughput {figures['throughput']:7.1f}/s   non-202 {figures['failures']:.0f}")
    print(f"ratio starter/bare      p50 x{real['p50_ms'] / bare['p50_ms']:.1f}   "
          f"p99 x{real['p99_ms'] / bare['p99_ms']:.1f}")
    print(f"workflows started by the starter: {started} (expected {count} + 1 warm-up)")


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)  # temporalio can abort at interpreter exit

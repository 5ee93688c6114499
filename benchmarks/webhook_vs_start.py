"""Webhook ACK at saturation against bare ``client.start_workflow`` calls on the same server.

Starts one Temporal dev server (the ``temporal`` binary in this venv), the GitHub-shaped
permission double and the starter (``python -m starter.app`` on 127.0.0.1) the way
``benchmarks/webhook_ack.py`` does, with a fresh ``CCB_DATA_DIR`` under a temporary directory.
Then, closed loop at rising concurrency (each level a fixed number of requests), it measures:

- *webhook*: signed ``issues.opened`` deliveries POSTed to the starter (each starts a new
  creation workflow; only 200/202 count as success);
- *start (bot codec)*: asyncio tasks each calling ``client.start_workflow`` in a loop, with
  the starter's workflow type, id scheme, input and options, on a client from
  ``infra.temporal.connect`` with the same settings and data directory (so it pays the same
  payload codec: claim-check over ``CCB_PAYLOAD_CLAIM_BYTES``, encryption when
  ``CCB_PAYLOAD_KEYS`` is set);
- *start (plain)*: the same, on a client with the plain pydantic converter (for reference);
- *bare 202 app*: the same deliveries to an app that only answers 202 (``webhook_ack.py``'s):
  the load generator's own ceiling, for reference.

Each concurrent client is an asyncio task (the HTTP ones with their own httpx client and one
keep-alive connection); the order of the series rotates from level to level.

No worker runs: workflows are only started. Prints per level throughput and p50 / p99 latency
of each, the ratio webhook / start (bot codec), then the saturation throughput (the maximum
over levels) of each and their ratio against the goal of 0.9x (issue 16, item 6).

    .venv/bin/python benchmarks/webhook_vs_start.py [--requests 300] [--levels 1,4,16,32,64] \
        [--issue-body starter/sample_request.md]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.webhook_ack import (  # noqa: E402
    BARE_APP,
    SECRET,
    deliveries,
    free_port,
    wait_ready,
)
from starter.signature import sign  # noqa: E402
from tests.webhook_helpers import BOT, REPO, GitHubDouble, serving  # noqa: E402

TASK_QUEUE = "webhook-vs-start-benchmark"
GOAL = 0.9
MAX_REQUESTS = 5_000
MAX_LEVELS = 8
MAX_CONCURRENCY = 256
# issue numbers of each series start here (deliveries() adds 100_000): never the same id
WEBHOOK_FIRST, CODEC_FIRST, PLAIN_FIRST = 1, 200_001, 500_001

Delivery = tuple[bytes, dict[str, str]]


@dataclasses.dataclass
class Figures:
    """One series at one level."""

    done: int = 0
    errors: int = 0
    not_started: int = 0  # 2xx, but not the status expected ("started" from the starter)
    elapsed: float = 0.0
    latencies: list[float] = dataclasses.field(default_factory=list)
    first_error: str = ""
    cpu_ms: dict[str, float] = dataclasses.field(default_factory=dict)  # per request, by process

    @property
    def throughput(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    def error(self, text: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or text[:160]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far; nan if unknown."""
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dev_server_pid() -> int | None:
    """The ``temporal`` child of this process (the dev server), if /proc tells."""
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            comm, rest = (entry / "stat").read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if comm.split("(", 1)[-1] == "temporal" and int(rest.split()[1]) == os.getpid():
            return int(entry.name)
    return None


@contextlib.contextmanager
def stopping(processes: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Terminate ``processes`` (then kill what is left after 10 s) on the way out."""
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def with_body(batch: list[Delivery], text: str | None) -> list[Delivery]:
    """``batch`` with every issue's body replaced by ``text`` (signed again)."""
    if text is None:
        return batch
    out = []
    for body, headers in batch:
        data = json.loads(body)
        data["issue"]["body"] = text
        raw = json.dumps(data).encode()
        out.append((raw, {**headers, "X-Hub-Signature-256": sign(SECRET, raw)}))
    return out


async def closed_loop(count: int, concurrency: int,
                      one: Callable[[int, Figures], Awaitable[None]],
                      pids: dict[str, int | None]) -> Figures:
    """``concurrency`` clients share ``count`` requests, each sending its next one as soon as
    its previous one is answered; with the CPU time each process of ``pids`` spent meanwhile,
    per request."""
    figures = Figures()
    indexes: Iterator[int] = iter(range(count))

    async def client() -> None:
        for index in indexes:  # shared: each index is taken by exactly one client
            began = time.perf_counter()
            await one(index, figures)
            # failures too: a closed loop waits for them as for any answer
            figures.latencies.append(time.perf_counter() - began)

    cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    figures.elapsed = time.perf_counter() - began
    figures.cpu_ms = {name: (cpu_seconds(pid) - cpu[name]) * 1000 / count
                      for name, pid in pids.items()}
    return figures


async def webhook_level(url: str, batch: list[Delivery], concurrency: int,
                        pids: dict[str, int | None], expect: str = "started") -> Figures:
    """Each client its own ``httpx.AsyncClient`` with one keep-alive connection: one client
    whose pool holds ``concurrency`` connections slows down as they grow (here a bare 202
    endpoint fell from ~500/s at 4 to ~40/s at 64), which would measure httpx, not the
    server. They share one TLS context (unused on http://, but each client would build one)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = ssl.create_default_context()
    clients = [httpx.AsyncClient(base_url=url, limits=limits, timeout=30, verify=tls)
               for _ in range(concurrency)]
    try:
        # open the level's connections before the clock starts
        await asyncio.gather(*(http.get("/health/live") for http in clients))
        free = list(clients)

        async def one(index: int, figures: Figures) -> None:
            body, headers = batch[index]
            http = free.pop()
            try:
                answer = await http.post("/webhooks/github", content=body, headers=headers)
            except httpx.HTTPError as exc:
                figures.error(f"{type(exc).__name__}: {exc}")
                return
            finally:
                free.append(http)
            if answer.status_code not in (200, 202):
                figures.error(f"HTTP {answer.status_code}: {answer.text}")
                return
            figures.done += 1
            if answer.json().get("status") != expect:
                figures.not_started += 1

        return await closed_loop(len(batch), concurrency, one, pids)
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))


async def start_level(client: Any, starts: list[tuple[str, str, Any]], concurrency: int,
                      pids: dict[str, int | None]) -> Figures:
    """Bare ``client.start_workflow`` calls, with the options ``starter.dispatch`` uses."""
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

    from starter.dispatch import RPC_TIMEOUT

    async def one(index: int, figures: Figures) -> None:
        kind, workflow_id, arg = starts[index]
        try:
            await client.start_workflow(
                kind, arg, id=workflow_id, task_queue=TASK_QUEUE,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                rpc_timeout=RPC_TIMEOUT)
        except Exception as exc:
            figures.error(f"{type(exc).__name__}: {exc}")
            return
        figures.done += 1

    return await closed_loop(len(starts), concurrency, one, pids)


def start_arguments(dispatcher: Any, batch: list[Delivery]) -> list[tuple[str, str, Any]]:
    """(type, id, input) the starter would start for each delivery of ``batch``."""
    out = []
    for body, _ in batch:
        data = json.loads(body)
        issue = data["issue"]
        kind, workflow_id = dispatcher.request_workflow(REPO, issue["number"])
        arg = dispatcher.request_input(REPO, issue["number"], data["sender"]["login"],
                                       issue["title"], issue["body"])
        out.append((kind, workflow_id, arg))
    return out


def parse_levels(text: str) -> list[int]:
    levels = sorted({max(1, min(int(p), MAX_CONCURRENCY)) for p in text.split(",") if p.strip()})
    return levels[:MAX_LEVELS] or [1]


def row(name: str, figures: Figures) -> str:
    extra = f"   errors {figures.errors}" if figures.errors else ""
    if figures.not_started:
        extra += f"   unexpected status {figures.not_started}"
    cpu = " ".join(f"{who} {ms:4.1f}" for who, ms in figures.cpu_ms.items())
    return (f"  {name:<19} {figures.throughput:6.1f}/s  p50 {figures.p50:7.2f} ms  "
            f"p99 {figures.p99:7.2f} ms  cpu ms/req: {cpu}{extra}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per level and series")
    parser.add_argument("--levels", default="1,4,16,32,64", help="concurrent clients per level")
    parser.add_argument("--issue-body", type=Path, default=None,
                        help="a file whose text replaces the fixture issue's body (a larger "
                             "body is claim-checked to the registry)")
    args = parser.parse_args()
    count = max(1, min(args.requests, MAX_REQUESTS))
    levels = parse_levels(args.levels)
    issue_body = args.issue_body.read_text(encoding="utf-8") if args.issue_body else None

    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from infra.claim_check import ENCODING
    from infra.payload_codec import keyring_of
    from infra.settings import get_settings
    from infra.temporal import connect
    from starter.dispatch import Dispatcher

    load_before = os.getloadavg()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        ui=False, dev_server_log_level="error")
    processes: list[subprocess.Popen[bytes]] = []
    github = GitHubDouble()
    results: list[tuple[int, dict[str, Figures]]] = []
    try:
        with (tempfile.TemporaryDirectory() as data, serving(github.app()) as github_url,
              stopping(processes)):  # stopped before the data directory goes
            starter_port, bare_port = free_port(), free_port()
            target = env.client.service_client.config.target_host
            environment = {
                "CCB_DATA_DIR": data, "CCB_STARTER_PORT": str(starter_port),
                "CCB_STARTER_HOST": "127.0.0.1", "CCB_WEBHOOK_SECRET": SECRET,
                "CCB_TEMPORAL_ADDRESS": target, "CCB_TASK_QUEUE": TASK_QUEUE,
                "CCB_GITHUB_REPO": REPO, "CCB_GITHUB_API_URL": f"{github_url}/api/v3",
                "GITHUB_TOKEN": github.tokens[BOT], "CCB_LOG_LEVEL": "WARNING",
            }
            os.environ.update(environment)  # this process's settings and codec: the starter's
            os.environ.pop("CCB_DATABASE_URL", None)
            get_settings.cache_clear()
            settings = get_settings()
            processes.append(subprocess.Popen([sys.executable, "-m", "starter.app"], cwd=ROOT,
                                              env=dict(os.environ), stderr=subprocess.DEVNULL))
            processes.append(subprocess.Popen(
                [sys.executable, "-c", BARE_APP + "\nimport uvicorn\nuvicorn.run(app, "
                 f"host='127.0.0.1', port={bare_port}, log_level='error')"],
                stderr=subprocess.DEVNULL))
            starter_url = f"http://127.0.0.1:{starter_port}"
            bare_url = f"http://127.0.0.1:{bare_port}"
            await wait_ready(f"{starter_url}/health/live", processes[0])
            await wait_ready(f"{bare_url}/webhooks/github", processes[1])

            codec_client = await connect(settings)
            plain_client = await Client.connect(target, namespace=settings.temporal_namespace,
                                                data_converter=pydantic_data_converter)
            dispatcher = Dispatcher(codec_client, settings.task_queue,
                                    approval=settings.approval_times())

            # warm-up (not measured): connections, the starter's Temporal client, the
            # permission cache, the registry's table of payloads
            async with httpx.AsyncClient(base_url=starter_url, timeout=30) as http:
                body, headers = with_body(deliveries(1, first=0), issue_body)[0]
                began = time.perf_counter()
                warm = await http.post("/webhooks/github", content=body, headers=headers)
                first_ms = (time.perf_counter() - began) * 1000
            if warm.status_code != 202 or warm.json().get("status") != "started":
                raise SystemExit(f"the starter's warm-up answer: {warm.status_code} {warm.text}")
            sample = start_arguments(dispatcher, with_body(deliveries(2, first=CODEC_FIRST - 2),
                                                           issue_body))
            await start_level(codec_client, sample[:1], 1, {})
            await start_level(plain_client, sample[1:], 1, {})
            kind, _, arg = sample[0]
            plain = pydantic_data_converter.payload_converter.to_payloads([arg])[0]
            codec = codec_client.data_converter.payload_codec
            encoded = (await codec.encode([plain]))[0] if codec else plain
            claim_checked = encoded.metadata.get("encoding") == ENCODING
            encrypted = keyring_of(settings) is not None

            server = {"server": dev_server_pid(), "bench": os.getpid()}
            pids: dict[str, dict[str, int | None]] = {
                "webhook": {"starter": processes[0].pid, **server},
                "bare": {"bare app": processes[1].pid, **server},
                "codec": server, "plain": server}
            firsts = {"webhook": WEBHOOK_FIRST, "codec": CODEC_FIRST, "plain": PLAIN_FIRST}
            for position, level in enumerate(levels):
                batches = {name: with_body(deliveries(count, first=first), issue_body)
                           for name, first in firsts.items()}
                firsts = {name: first + count for name, first in firsts.items()}
                batches["bare"] = batches["webhook"]  # the bare app starts nothing
                order = list(batches)
                order = order[position % 4:] + order[:position % 4]  # no series always first
                figures = {}
                for name in order:
                    if name == "webhook":
                        figures[name] = await webhook_level(starter_url, batches[name], level,
                                                            pids[name])
                    elif name == "bare":
                        figures[name] = await webhook_level(bare_url, batches[name], level,
                                                            pids[name], expect="ignored")
                    else:
                        figures[name] = await start_level(
                            codec_client if name == "codec" else plain_client,
                            start_arguments(dispatcher, batches[name]), level, pids[name])
                results.append((level, figures))

            expected = 1 + 2 + 3 * count * len(levels)
            started = 0
            for _ in range(50):  # visibility catches up within moments
                started = (await env.client.count_workflows(
                    f"TaskQueue = '{TASK_QUEUE}'")).count
                if started >= expected:
                    break
                await asyncio.sleep(0.2)
    finally:
        await env.shutdown()  # the started workflows go with the dev server

    print(f"closed loop, {count} requests per level and series, levels {levels} concurrent "
          f"clients; {os.cpu_count()} cores, all on 127.0.0.1; load average "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"one Temporal dev server; no worker runs: workflows are only started "
          f"({kind}, one new id per request, the starter's options)")
    print(f"input payload {plain.ByteSize()} bytes -> bot codec: "
          f"{'claim-checked to the registry' if claim_checked else 'kept inline'} "
          f"(threshold {settings.payload_claim_bytes}), "
          f"{'encrypted' if encrypted else 'not encrypted (no CCB_PAYLOAD_KEYS)'}")
    print(f"first delivery after the starter came up (warm-up, not in the table): "
          f"{first_ms:.0f} ms")
    print("cpu ms/req: CPU time per request, while the series ran, of the app served (the "
          "starter, the bare app), the dev server and this process (load generator, baseline "
          "clients, GitHub double)")
    names = {"webhook": "webhook (starter)", "codec": "start (bot codec)",
             "plain": "start (plain conv.)", "bare": "bare 202 app"}
    for level, figures in results:
        ratio = figures["webhook"].throughput / (figures["codec"].throughput or float("nan"))
        print(f"{level} concurrent clients: webhook/start throughput x{ratio:.2f}, "
              f"p50 x{figures['webhook'].p50 / figures['codec'].p50:.2f}")
        for name in names:
            print(row(names[name], figures[name]))
            if figures[name].first_error:
                print(f"    first error: {figures[name].first_error}")
    print("saturation (max throughput over levels):")
    saturation: dict[str, float] = {}
    for name in names:
        level, top = max(((lv, f[name].throughput) for lv, f in results), key=lambda x: x[1])
        saturation[name] = top
        print(f"  {names[name]:<20} {top:8.1f}/s   at {level} clients")
    ratio = saturation["webhook"] / (saturation["codec"] or float("nan"))
    verdict = "meets" if ratio >= GOAL else "below"
    print(f"ratio webhook/start (bot codec) at saturation: x{ratio:.2f} "
          f"(goal >= x{GOAL}: {verdict}); start (bot codec)/start (plain): "
          f"x{saturation['codec'] / (saturation['plain'] or float('nan')):.2f}")
    print(f"workflows started: {started} (expected {expected}: 3 warm-ups + 3 series x "
          f"{len(levels)} levels x {count})")


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)  # temporalio can abort at interpreter exit

"""A blue -> green switch and a rollback under steady keep-alive load, through a real HAProxy.

    .venv/bin/python benchmarks/switch_under_load.py [--rate 450] [--duration 30]

Starts the project's HAProxy for a throwaway environment, a blue and a green versioned server
(tests/traffic_helpers.py), and the load client (benchmarks/load_client.py) as its own process.
While the load runs: slow requests (2 s) start on blue, traffic shifts 10 -> 50 -> 100 % to
green, blue drains; then a rollback routes blue again, shifts 100 % back and drains green.
Prints what the clients saw: totals, failures, drops, flaps, slow requests, durations and the
proxy hop's latency against calling the backend directly in the same run. Loopback only.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from activities.traffic import haproxy_process, switch  # noqa: E402
from models.deployment import Color  # noqa: E402
from models.traffic import ProxySpec  # noqa: E402
from tests.traffic_helpers import LoadClient, free_port, start_version_server  # noqa: E402

SLUG = "bench-demo"
STEPS = (10, 50, 100)
DRAIN_TIMEOUT_S = 30.0


def timed(action: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """The action's value and how long it took, in milliseconds."""
    began = time.perf_counter()
    value = action(*args)
    return value, (time.perf_counter() - began) * 1000


def run(rate: float, duration: float, connections: int, slow: int) -> int:
    if not shutil.which("haproxy"):
        print("haproxy is not installed: run scripts/ensure-haproxy.sh", file=sys.stderr)
        return 2
    data_dir = Path(tempfile.mkdtemp(prefix="ccb-bench-", dir="/tmp"))
    proxy = ProxySpec(environment="bench", port=free_port(), data_dir=data_dir, slots=4)
    blue, green = start_version_server("blue"), start_version_server("green")
    client: LoadClient | None = None
    ops: dict[str, float] = {}
    try:
        switch.ensure_proxy(proxy)
        switch.ensure_backend(proxy, SLUG)
        switch.route_to(proxy, SLUG, Color.BLUE, "127.0.0.1", blue.port)
        switch.route_to(proxy, SLUG, Color.GREEN, "127.0.0.1", green.port)
        client = LoadClient([
            "--port", str(proxy.port), "--host-header", SLUG, "--rate", str(rate),
            "--connections", str(connections), "--duration", str(duration),
            "--direct-port", str(blue.port), "--direct-connections", "4", "--initial", "blue",
        ])
        started = time.time()
        time.sleep(duration * 0.15)

        client.send(f"slow {slow} 2")  # in flight on blue when the switch starts
        time.sleep(0.3)
        client.send("mark switch blue green")
        switch_started = time.time()
        for step in STEPS:
            if step == 100:  # more slow ones, in flight on whichever colour when blue drains
                client.send(f"slow {slow} 2")
                time.sleep(0.3)
            _, ops[f"shift green {step}%"] = timed(switch.shift, proxy, SLUG, Color.GREEN, step)
            if step < 100:
                time.sleep(duration * 0.08)
        all_green = time.time()
        drain_blue, ops["drain blue"] = timed(switch.drain, proxy, SLUG, Color.BLUE,
                                              DRAIN_TIMEOUT_S)
        time.sleep(duration * 0.15)

        client.send("mark rollback green blue")
        rollback_started = time.time()
        _, ops["route_to blue"] = timed(switch.route_to, proxy, SLUG, Color.BLUE, "127.0.0.1",
                                        blue.port)
        _, ops["shift blue 100%"] = timed(switch.shift, proxy, SLUG, Color.BLUE, 100)
        all_blue = time.time()
        drain_green, ops["drain green"] = timed(switch.drain, proxy, SLUG, Color.GREEN,
                                                DRAIN_TIMEOUT_S)
        summary = client.result(timeout_s=duration + 60)
        ended = time.time()
    finally:
        if client is not None:
            client.kill()
        haproxy_process.stop(proxy, graceful=False)
        blue.stop()
        green.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    first = dict(summary["first_response_at"])
    first_green = float(first.get("green", all_green))
    ratio = (float(summary["proxy_p50_ms"]) / float(summary["direct_p50_ms"])
             if summary["direct_p50_ms"] else 0.0)
    ratio99 = (float(summary["proxy_p99_ms"]) / float(summary["direct_p99_ms"])
               if summary["direct_p99_ms"] else 0.0)
    total = int(summary["requests"]) + int(summary["direct_requests"])
    print(f"HAProxy {haproxy_version()} on 127.0.0.1, {connections} keep-alive clients "
          f"+ 4 direct, target {rate:.0f} req/s, {summary['duration_s']} s of load, "
          f"wall {ended - started:.1f} s")
    print(f"requests total (proxied + direct): {total}")
    print(f"proxied requests:                  {summary['requests']}")
    print(f"failed (non-200):                  {summary['failed']}")
    print(f"dropped (transport errors):        {summary['dropped']} {summary['errors_sample']}")
    print(f"proxied req/s:                     {summary['req_per_s']}")
    print(f"responses by version:              {summary['versions']}")
    print(f"per-client version flaps:          {summary['flaps']} "
          f"(over {summary['connections']} connections; {summary['connections_changed']} "
          "announced changes, at most one per connection per phase)")
    print(f"slow 2 s requests completed (fired before the switch and before 100%): "
          f"{summary['slow_completed']}/"
          f"{summary['slow_started']}\n    versions={summary['slow_versions']} "
          f"latency_ms={summary['slow_latency_ms']}")
    print(f"switch: first green response after {1000 * (first_green - switch_started):.1f} ms,"
          f" 100% green after {1000 * (all_green - switch_started):.1f} ms "
          f"(holds of {duration * 0.08:.1f} s between steps)")
    print(f"switch duration (first green response -> 100% green): "
          f"{1000 * (all_green - first_green):.1f} ms")
    print(f"blue drained: {drain_blue.drained} after {drain_blue.waited_s * 1000:.0f} ms "
          "(waits for the slow requests on blue started 0.3 s before 100%)")
    print(f"rollback duration (decision -> 100% blue): "
          f"{1000 * (all_blue - rollback_started):.1f} ms; green drained: "
          f"{drain_green.drained} after {drain_green.waited_s * 1000:.0f} ms")
    print("runtime API operations (ms): "
          + ", ".join(f"{name} {ms:.1f}" for name, ms in ops.items()))
    print(f"latency via proxy p50/p99: {summary['proxy_p50_ms']}/{summary['proxy_p99_ms']} ms;"
          f" direct p50/p99: {summary['direct_p50_ms']}/{summary['direct_p99_ms']} ms; "
          f"ratio p50 {ratio:.2f}x, p99 {ratio99:.2f}x; hop p50 "
          f"{float(summary['proxy_p50_ms']) - float(summary['direct_p50_ms']):.3f} ms")
    print(f"proxied latency by version p50/p99 (direct calls go to blue): "
          f"{summary['proxy_by_version_p50_p99_ms']}")
    zero_loss = (summary["failed"] == 0 and summary["dropped"] == 0 and summary["flaps"] == 0
                 and summary["slow_completed"] == summary["slow_started"])
    print("RESULT: " + ("zero loss, no flapping" if zero_loss else "LOSS OR FLAPPING SEEN"))
    return 0 if zero_loss else 1


def haproxy_version() -> str:
    out = subprocess.run(["haproxy", "-v"], capture_output=True, text=True, check=False).stdout
    return out.split()[2] if len(out.split()) > 2 else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=450.0, help="target requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--slow", type=int, default=8,
                        help="2 s requests fired before the switch and before its last step")
    args = parser.parse_args()
    sys.exit(run(args.rate, args.duration, args.connections, args.slow))


if __name__ == "__main__":
    main()

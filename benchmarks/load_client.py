"""Steady keep-alive HTTP load through the proxy, as its own process, recording every request.

    python benchmarks/load_client.py --port 8500 --host-header demo --rate 400 \
        --connections 32 --duration 30 [--direct-port 9001 --direct-connections 4]

N keep-alive connections (raw asyncio streams, loopback only) share a fixed target rate; each
request records status, error, latency and the ``X-Version`` it saw. Optional direct
connections to a backend measure the proxy hop in the same run. Control lines on stdin:

    mark <name> <from> <to>   from now on, expect connections to move from <from> to <to>
    slow <count> <seconds>    fire <count> requests to /slow?s=<seconds> on fresh connections
    stop                      finish now

At the end one JSON summary line goes to stdout (``--records`` also writes every request).
A *flap* is a connection that answers with ``<from>`` again after it saw ``<to>`` within one
marked phase (or any other version change not announced by a mark).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field

REQUEST_TIMEOUT_S = 15.0
LOOPBACK = "127.0.0.1"


@dataclass
class Record:
    conn: str  # connection id: "p<i>.<generation>" proxied, "d<i>..." direct, "s<i>" slow
    kind: str  # "proxy" | "direct" | "slow"
    sent: float  # wall clock, seconds
    latency_ms: float
    status: int = 0
    version: str = ""
    error: str = ""


@dataclass
class Phase:
    name: str
    start: float
    source: str
    target: str


@dataclass
class State:
    records: list[Record] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    slow_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   host_header: str, path: str) -> tuple[int, str, bool]:
    """One request on an open connection: (status, X-Version, whether the server closes)."""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: ccb-load\r\n\r\n".encode()
    )
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed before a response")
    status = int(status_line.split()[1])
    length, version, close = 0, "", False
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        key = name.strip().lower()
        if key == "content-length":
            length = int(value.strip())
        elif key == "x-version":
            version = value.strip()
        elif key == "connection" and "close" in value.lower():
            close = True
    if length:
        await reader.readexactly(length)
    return status, version, close


async def _one(state: State, kind: str, conn: str, port: int, host_header: str, path: str,
               streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
               ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """One request (opening the connection if needed); the streams to reuse, or None."""
    sent = time.time()
    began = time.perf_counter()
    record = Record(conn=conn, kind=kind, sent=sent, latency_ms=0.0)
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            if streams is None:
                streams = await asyncio.open_connection(LOOPBACK, port)
            record.status, record.version, close = await _request(*streams, host_header, path)
        if close:  # the server ends this connection after the response: open a new one
            _close(streams)
            streams = None
    except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError,
            ValueError, IndexError) as exc:
        record.error = f"{type(exc).__name__}: {exc}"
        _close(streams)
        streams = None
    record.latency_ms = (time.perf_counter() - began) * 1000
    state.records.append(record)
    return streams


def _close(streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if streams is not None:
        streams[1].close()
    return None


async def _connection_loop(state: State, kind: str, index: int, port: int, host_header: str,
                           interval_s: float, deadline: float, budget: list[int]) -> None:
    """One keep-alive connection sending a request every ``interval_s`` (paced, no bursts)."""
    generation = 0
    streams = None
    next_at = time.perf_counter() + interval_s * (index % 97) / 97
    while not state.stop.is_set() and time.perf_counter() < deadline and budget[0] > 0:
        delay = next_at - time.perf_counter()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.stop.wait(), delay)
            if state.stop.is_set() or budget[0] <= 0:
                break
        next_at = max(next_at + interval_s, time.perf_counter())
        budget[0] -= 1
        if streams is None:
            generation += 1
        streams = await _one(state, kind, f"{kind[0]}{index}.{generation}", port,
                             host_header, "/", streams)
    _close(streams)


async def _slow(state: State, index: int, port: int, host_header: str, seconds: float) -> None:
    await _one(state, "slow", f"s{index}", port, host_header, f"/slow?s={seconds}", None)


async def _control(state: State, args: argparse.Namespace) -> None:
    """Read control lines from stdin until EOF or ``stop``."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    slow_index = 0
    while line := (await reader.readline()).decode().split():
        if line[0] == "mark" and len(line) == 4:
            state.phases.append(Phase(line[1], time.time(), line[2], line[3]))
        elif line[0] == "slow" and len(line) == 3:
            for _ in range(int(line[1])):
                slow_index += 1
                state.slow_tasks.append(asyncio.create_task(
                    _slow(state, slow_index, args.port, args.host_header, float(line[2]))))
        elif line[0] == "stop":
            state.stop.set()
            return
        else:
            print(f"load_client: ignored control line {line!r}", file=sys.stderr)
        print(f"ack {line[0]}", flush=True)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _phase_of(phases: list[Phase], sent: float) -> Phase | None:
    current = None
    for phase in phases:
        if phase.start <= sent:
            current = phase
    return current


def analyse_versions(records: list[Record], phases: list[Phase]) -> dict[str, int]:
    """Per-connection version sequences checked against the marked phases."""
    by_conn: dict[str, list[Record]] = {}
    for record in records:
        if record.kind == "proxy" and record.status == 200 and not record.error:
            by_conn.setdefault(record.conn, []).append(record)
    flaps = changed = 0
    for conn_records in by_conn.values():
        conn_records.sort(key=lambda r: r.sent)
        previous = None
        seen_target: set[str] = set()
        for record in conn_records:
            phase = _phase_of(phases, record.sent)
            if phase is None or previous is None or record.version == previous.version:
                previous = record
                if phase and record.version == phase.target:
                    seen_target.add(phase.name)
                continue
            expected = (previous.version, record.version) == (phase.source, phase.target)
            if expected and phase.name not in seen_target:
                changed += 1
            else:
                flaps += 1
            if record.version == phase.target:
                seen_target.add(phase.name)
            previous = record
    return {"connections": len(by_conn), "connections_changed": changed, "flaps": flaps}


def summarise(state: State, started: float, ended: float) -> dict[str, object]:
    proxied = [r for r in state.records if r.kind == "proxy"]
    direct = [r for r in state.records if r.kind == "direct"]
    slow = [r for r in state.records if r.kind == "slow"]
    ok = [r for r in proxied if r.status == 200 and not r.error]
    versions: dict[str, int] = {}
    for record in ok:
        versions[record.version] = versions.get(record.version, 0) + 1
    proxy_lat = [r.latency_ms for r in ok]
    direct_lat = [r.latency_ms for r in direct if r.status == 200 and not r.error]
    first_seen: dict[str, float] = {}
    for record in sorted(ok, key=lambda r: r.sent):
        first_seen.setdefault(record.version, record.sent + record.latency_ms / 1000)
    return {
        "requests": len(proxied),
        "failed": sum(1 for r in proxied if r.status != 200 and not r.error),
        "dropped": sum(1 for r in proxied if r.error),
        "errors_sample": sorted({r.error for r in proxied if r.error})[:5],
        "duration_s": round(ended - started, 3),
        "req_per_s": round(len(proxied) / max(ended - started, 1e-9), 1),
        "versions": versions,
        **analyse_versions(state.records, state.phases),
        "phases": [asdict(p) for p in state.phases],
        "first_response_at": first_seen,
        "slow_started": len(slow),
        "slow_completed": sum(1 for r in slow if r.status == 200 and not r.error),
        "slow_versions": sorted(r.version for r in slow),
        "slow_latency_ms": [round(r.latency_ms) for r in slow],
        "direct_requests": len(direct),
        "direct_failed": sum(1 for r in direct if r.status != 200 or r.error),
        "proxy_p50_ms": round(_percentile(proxy_lat, 0.50), 3),
        "proxy_p99_ms": round(_percentile(proxy_lat, 0.99), 3),
        "direct_p50_ms": round(_percentile(direct_lat, 0.50), 3),
        "direct_p99_ms": round(_percentile(direct_lat, 0.99), 3),
        "proxy_by_version_p50_p99_ms": {
            version: [round(_percentile(lat, 0.50), 3), round(_percentile(lat, 0.99), 3)]
            for version in versions
            for lat in [[r.latency_ms for r in ok if r.version == version]]
        },
        "proxy_mean_ms": round(statistics.fmean(proxy_lat), 3) if proxy_lat else 0.0,
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    state = State()
    if args.initial:
        state.phases.append(Phase("initial", 0.0, args.initial, args.initial))
    total_connections = args.connections + args.direct_connections
    interval_s = total_connections / args.rate
    deadline = time.perf_counter() + args.duration
    budget = [args.max_requests]
    started = time.time()
    control = asyncio.create_task(_control(state, args)) if not args.no_control else None
    loops = [
        _connection_loop(state, "proxy", i, args.port, args.host_header, interval_s, deadline,
                         budget)
        for i in range(args.connections)
    ]
    if args.direct_port:
        loops += [
            _connection_loop(state, "direct", i, args.direct_port, "direct", interval_s,
                             deadline, budget)
            for i in range(args.direct_connections)
        ]
    print("ready", flush=True)
    await asyncio.gather(*loops)
    ended = time.time()
    if state.slow_tasks:
        await asyncio.gather(*state.slow_tasks)
    if control is not None:
        control.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await control
    if args.records:
        with open(args.records, "w") as out:
            for record in state.records:
                out.write(json.dumps(asdict(record)) + "\n")
    return summarise(state, started, ended)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="the proxy's port on 127.0.0.1")
    parser.add_argument("--host-header", required=True, help="the integration's slug")
    parser.add_argument("--rate", type=float, default=400.0, help="target requests per second")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds, at most")
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--direct-port", type=int, default=0, help="a backend, for the hop")
    parser.add_argument("--direct-connections", type=int, default=0)
    parser.add_argument("--initial", default="", help="the version every client starts on")
    parser.add_argument("--records", default="", help="write every request here (JSON lines)")
    parser.add_argument("--no-control", action="store_true", help="do not read stdin")
    args = parser.parse_args()
    if args.rate <= 0 or args.connections <= 0 or args.duration <= 0:
        parser.error("--rate, --connections and --duration must be positive")
    summary = asyncio.run(run(args))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()

"""Helpers for the traffic-switch tests and benchmark: a tiny versioned HTTP server (run as its
own process: ``python -m tests.traffic_helpers serve --version blue``), plus small clients.

The server answers every path with ``X-Version: <version>`` and the version as body, keeps
connections alive, and knows ``/slow?s=<seconds>`` (answers after that many seconds, at most
30) and ``/health/live`` / ``/health/ready``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_SLOW_S = 30.0
LOAD_CLIENT = REPO_ROOT / "benchmarks" / "load_client.py"


# -- the versioned server (runs in its own process) -----------------------------------------------

async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  version: str) -> None:
    body = version.encode()
    try:
        while True:
            request_line = await reader.readline()
            if not request_line:
                return
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
                elif name.strip().lower() == "connection" and "close" in value.lower():
                    close = True
            if length:
                await reader.readexactly(length)
            parts = request_line.decode("latin-1").split()
            target = urlsplit(parts[1] if len(parts) > 1 else "/")
            if target.path == "/slow":
                seconds = float(parse_qs(target.query).get("s", ["1"])[0])
                await asyncio.sleep(min(max(seconds, 0.0), MAX_SLOW_S))
            head = (
                "HTTP/1.1 200 OK\r\n"
                f"X-Version: {version}\r\n"
                "Content-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\n"
                + ("Connection: close\r\n" if close else "")
                + "\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
            if close:
                return
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(version: str, host: str, port: int) -> None:
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, version), host, port, backlog=1024
    )
    print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


@dataclass
class VersionServer:
    """A running versioned server process."""

    version: str
    port: int
    process: subprocess.Popen[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()


def start_version_server(version: str) -> VersionServer:
    """Start ``version``'s server on an ephemeral loopback port; it prints the port it got."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.traffic_helpers", "serve", "--version", version],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("LISTENING "):
        process.kill()
        raise RuntimeError(f"the {version} server did not start: {line!r}")
    return VersionServer(version=version, port=int(line.split()[1]), process=process)


# -- small clients --------------------------------------------------------------------------------

def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, host_header: str, path: str = "/", timeout_s: float = 10.0
        ) -> tuple[int, str, str]:
    """One request on a fresh connection: (status, X-Version, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", path, headers={"Host": host_header})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        return response.status, response.getheader("X-Version") or "", body
    finally:
        conn.close()


def count_versions(port: int, host_header: str, requests: int) -> Counter[str]:
    """Versions answering ``requests`` fresh connections (each hashed anew by the proxy)."""
    seen: Counter[str] = Counter()
    for _ in range(requests):
        status, version, _ = get(port, host_header)
        seen[version if status == 200 else f"status {status}"] += 1
    return seen


class LoadClient:
    """The load client process and its line protocol on stdin/stdout."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(LOAD_CLIENT), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        self._expect("ready")

    def _expect(self, word: str) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != word:
            raise RuntimeError(f"load client said {line!r}, expected {word!r}")

    def send(self, line: str) -> None:
        """A control line (``mark``, ``slow``, ``stop``), once the client acknowledged it."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        self._expect(f"ack {line.split()[0]}")

    def result(self, timeout_s: float) -> dict[str, Any]:
        """Wait for the run to end; its JSON summary."""
        assert self.process.stdout is not None and self.process.stdin is not None
        out, _ = self.process.communicate(timeout=timeout_s)
        return dict(json.loads(out.strip().splitlines()[-1]))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run a versioned HTTP server")
    serve_cmd.add_argument("--version", required=True)
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.version, args.host, args.port))


if __name__ == "__main__":
    main()

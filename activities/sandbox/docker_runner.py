"""Runs an integration's tests in a locked-down container of the base image.

The container has no network (``network_mode="none"``), a read-only root, size-limited tmpfs
for /work and /tmp, memory without swap, one CPU, a pids limit, a non-root user, no
capabilities, no-new-privileges and a wall-clock timeout. The files come in through a
read-only bind mount of a host temp dir (a tmpfs cannot be filled by put_archive before
start), the driver copies them into /work; the report comes back as the driver's framed
stdout line. The container is always removed, whatever happened — and when the worker dies
before it can remove it, the container ends itself at its deadline (the driver's
``--deadline-seconds``) and the next sandbox run or sandbox worker start removes it
(``reap_stale_sandboxes``: its owner process is gone, or its deadline has passed).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time

import docker
import requests
from docker.models.containers import Container
from docker.types import LogConfig, Ulimit

from activities.sandbox.base_image import LogCallback, ensure_base_image
from activities.sandbox.reports import build_report
from activities.sandbox.staging import stage
from models.sandbox import SandboxReport, SandboxRequest

log = logging.getLogger(__name__)

SANDBOX_LABEL = "ccb.sandbox"  # every sandbox container carries it: `docker ps -a -f label=...`
STAGE_MOUNT = "/ccb"
CONTAINER_TMP = "/tmp"  # noqa: S108 - the container's own private tmpfs, not the host's
KILL_GRACE_SECONDS = 10
OWNER_LABEL = f"{SANDBOX_LABEL}.owner"  # host:pid of the worker process that runs it
EXPIRES_LABEL = f"{SANDBOX_LABEL}.expires"  # epoch seconds after which nobody waits for it
SELF_DEADLINE_SLACK = 5  # seconds the container outlives the worker's own wall-clock kill


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _stale(labels: dict[str, str], now: float, host: str) -> str | None:
    """Why a sandbox container is nobody's any more, or None while its run may still want it."""
    try:
        expires = float(labels.get(EXPIRES_LABEL, "0"))
    except ValueError:
        expires = 0.0
    if expires <= now:
        return "its deadline has passed" if expires else "it carries no deadline"
    owner_host, _, owner_pid = labels.get(OWNER_LABEL, "").rpartition(":")
    if owner_host == host and owner_pid.isdigit() and not _process_alive(int(owner_pid)):
        return f"the worker process {owner_pid} that ran it is gone"
    return None


def reap_stale_sandboxes(client: docker.DockerClient, now: float | None = None) -> list[str]:
    """Removes sandbox containers left by workers that died mid-run (killed, host rebooted):
    those whose owner process on this host is gone or whose deadline has passed. Returns
    their names. Others' live runs are never touched; errors leave a container for later."""
    now = time.time() if now is None else now
    host, removed = socket.gethostname(), []
    try:
        containers = client.containers.list(all=True, filters={"label": SANDBOX_LABEL})
    except docker.errors.APIError as exc:
        log.warning("sandbox: could not list sandbox containers to clean up: %s", exc)
        return removed
    for container in containers:
        reason = _stale(container.labels or {}, now, host)
        if reason is None:
            continue
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            continue  # removed by its own run or another reaper meanwhile
        except docker.errors.APIError as exc:
            log.warning("sandbox: could not remove stale container %s: %s", container.name, exc)
            continue
        log.warning("sandbox: removed stale container %s (%s)", container.name, reason)
        removed.append(container.name)
    return removed


def docker_client(timeout: float = 5.0) -> docker.DockerClient | None:
    """A client of the local engine when one answers, else None."""
    try:
        client = docker.from_env(version="auto", timeout=int(max(timeout, 1)))
        client.ping()
    except (docker.errors.DockerException, requests.RequestException, OSError):
        return None
    return client


def _container_command(request: SandboxRequest) -> list[str]:
    packages = ["--package", request.package] if request.package else []
    return ["python3", f"{STAGE_MOUNT}/driver.py", "--input", f"{STAGE_MOUNT}/input",
            "--work", "/work", "--reports", f"{CONTAINER_TMP}/ccb-reports", "--cgroup-stats",
            "--deadline-seconds", str(request.limits.timeout_seconds + SELF_DEADLINE_SLACK),
            *packages, "--", *request.pytest_args]


def _create(client: docker.DockerClient, image: str, request: SandboxRequest,
            stage_dir: str) -> Container:
    limits = request.limits
    return client.containers.create(
        image,
        command=_container_command(request),
        volumes={stage_dir: {"bind": STAGE_MOUNT, "mode": "ro"}},
        network_mode="none",
        read_only=True,
        tmpfs={"/work": f"size={limits.work_mb}m,mode=1777",
               CONTAINER_TMP: f"size={limits.tmp_mb}m,mode=1777"},
        mem_limit=f"{limits.memory_mb}m",
        memswap_limit=f"{limits.memory_mb}m",
        nano_cpus=int(limits.cpus * 1e9),
        pids_limit=limits.pids,
        user="65534:65534",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        ulimits=[Ulimit(name="nofile", soft=1024, hard=1024), Ulimit(name="core", soft=0, hard=0)],
        shm_size="16m",
        working_dir="/work",
        environment={"HOME": CONTAINER_TMP, "TMPDIR": CONTAINER_TMP,
                     "PYTHONDONTWRITEBYTECODE": "1"},
        labels={SANDBOX_LABEL: "1", f"{SANDBOX_LABEL}.label": request.label,
                OWNER_LABEL: _owner(),
                EXPIRES_LABEL: str(int(time.time() + limits.timeout_seconds
                                       + 2 * SELF_DEADLINE_SLACK + 60))},
        log_config=LogConfig(type="json-file", config={"max-size": "5m", "max-file": "1"}),
        stdin_open=False,
        tty=False,
    )


def _wait(container: Container, timeout: float) -> bool:
    """Waits for the container to end; kills it at ``timeout``. True when it was killed."""
    try:
        container.wait(timeout=timeout)
        return False
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        log.info("sandbox %s: wall-clock limit of %.0f s reached, killing", container.short_id,
                 timeout)
    try:
        container.kill()
    except docker.errors.APIError:
        pass  # it ended by itself in the meantime
    container.wait(timeout=KILL_GRACE_SECONDS)
    return True


def run_tests_in_docker(request: SandboxRequest, client: docker.DockerClient | None = None,
                        on_log: LogCallback | None = None) -> SandboxReport:
    """Runs the request's tests in a fresh sandbox container and reports what happened.

    Idempotent: every call uses a new container and temp dir and leaves neither behind."""
    client = client or docker.from_env(version="auto")
    image = ensure_base_image(client, on_log)
    reap_stale_sandboxes(client)
    stage_dir = stage(request)
    container: Container | None = None
    started = time.monotonic()
    try:
        container = _create(client, image, request, str(stage_dir))
        started = time.monotonic()
        container.start()
        timed_out = _wait(container, request.limits.timeout_seconds)
        duration = time.monotonic() - started
        container.reload()
        state = container.attrs.get("State", {})
        output = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        stderr = container.logs(stdout=False, stderr=True, tail=200).decode("utf-8", "replace")
        report = build_report(
            isolation="docker", limits=request.limits, output=output, stderr=stderr,
            duration=duration, timed_out=timed_out,
            extra_hits=["memory"] if state.get("OOMKilled") else [], image=image)
        log.info("sandbox %s (%s): %d tests, %d failed, reason=%s", container.short_id,
                 request.label or "-", report.tests, report.failures + report.errors,
                 report.reason)
        return report
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass
        shutil.rmtree(stage_dir, ignore_errors=True)

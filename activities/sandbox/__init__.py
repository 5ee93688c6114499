"""The test sandbox: generated code's tests run in a locked-down container. Without a Docker
engine the sandbox fails closed (``SandboxUnavailable``), unless the operator opted in to the
weaker local subprocess runner (``CCB_SANDBOX_ALLOW_LOCAL``). ``run_sandboxed_tests``
chooses."""

from __future__ import annotations

import logging

from activities.sandbox.base_image import LogCallback
from models.sandbox import SandboxReport, SandboxRequest

log = logging.getLogger(__name__)

NO_ENGINE = ("no Docker engine answers, so the generated code has nowhere safe to run: start "
             "one (scripts/ensure-docker.sh), or set CCB_SANDBOX_ALLOW_LOCAL=1 to accept the "
             "weaker local runner")


class SandboxUnavailable(RuntimeError):
    """Nowhere safe to run generated code: no engine, and the weaker runner is not allowed
    (or would run as root)."""


def local_runner_allowed() -> bool:
    from infra.settings import get_settings

    return get_settings().sandbox_allow_local


def run_sandboxed_tests(request: SandboxRequest, on_log: LogCallback | None = None,
                        allow_local: bool | None = None) -> SandboxReport:
    """Runs the request's tests in Docker when an engine answers; else in the local runner
    when allowed (``allow_local``, default the setting), else refuses."""
    from activities.sandbox.docker_runner import docker_client, run_tests_in_docker
    from activities.sandbox.local_runner import run_tests_locally

    client = docker_client()
    if client is not None:
        log.info("sandbox: running %s in docker", request.label or "tests")
        try:
            return run_tests_in_docker(request, client=client, on_log=on_log)
        finally:
            client.close()
    if not (local_runner_allowed() if allow_local is None else allow_local):
        raise SandboxUnavailable(NO_ENGINE)
    log.warning("sandbox: no Docker engine answers; running %s in the WEAKER local sandbox "
                "(CCB_SANDBOX_ALLOW_LOCAL is set)", request.label or "tests")
    return run_tests_locally(request)


def reap_after_dead_workers() -> list[str]:
    """At a sandbox worker's start: remove the sandbox containers earlier workers on this
    host left when they died mid-run (see ``docker_runner.reap_stale_sandboxes``)."""
    from activities.sandbox.docker_runner import docker_client, reap_stale_sandboxes

    client = docker_client()
    if client is None:
        return []
    try:
        return reap_stale_sandboxes(client)
    finally:
        client.close()

"""The test sandbox: generated code's tests run in a locked-down container (or, without a
Docker engine, in a weaker local subprocess sandbox). ``run_sandboxed_tests`` chooses."""

from __future__ import annotations

import logging

from activities.sandbox.base_image import LogCallback
from models.sandbox import SandboxReport, SandboxRequest

log = logging.getLogger(__name__)


def run_sandboxed_tests(request: SandboxRequest,
                        on_log: LogCallback | None = None) -> SandboxReport:
    """Runs the request's tests in Docker when an engine answers, else in the local runner."""
    from activities.sandbox.docker_runner import docker_client, run_tests_in_docker
    from activities.sandbox.local_runner import run_tests_locally

    client = docker_client()
    if client is not None:
        log.info("sandbox: running %s in docker", request.label or "tests")
        try:
            return run_tests_in_docker(request, client=client, on_log=on_log)
        finally:
            client.close()
    log.warning("sandbox: no Docker engine answers; running %s in the WEAKER local sandbox "
                "(start one with scripts/ensure-docker.sh)", request.label or "tests")
    return run_tests_locally(request)

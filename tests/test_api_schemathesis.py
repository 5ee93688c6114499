"""Issue 14, item 1: schemathesis, run against the OpenAPI document a live starter serves
(`python -m starter.app` on 127.0.0.1, a real Temporal dev server behind it), with a read and
an operate token, finds no 5xx and no answer outside the documented schemas."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from registry.store import Registry
from tests.api_helpers import OPERATE_TOKEN, READ_TOKEN, TOKENS, seed
from tests.conftest import REPO_ROOT, bin_path
from tests.figures import figure

CHECKS = "not_a_server_error,response_schema_conformance"
MAX_EXAMPLES = "8"
RUN_TIMEOUT = 150


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_starter(registry: Registry, data_dir: Path, temporal_address: str,
                 task_queue: str) -> Iterator[str]:
    """The starter process serving the API; its base URL."""
    seed(registry)
    port = _free_port()
    env = dict(os.environ, CCB_DATA_DIR=str(data_dir), CCB_TEMPORAL_ADDRESS=temporal_address,
               CCB_TASK_QUEUE=task_queue, CCB_API_TOKENS=TOKENS, CCB_STARTER_PORT=str(port),
               CCB_STARTER_HOST="127.0.0.1", CCB_LOG_FORMAT="json",
               # No worker serves this queue: a promotion it started would never answer its
               # update (503, the right answer, but a 5xx); with one environment every
               # promote is refused (409) before Temporal. tests/test_promotion.py promotes.
               CCB_ENVIRONMENTS="development")
    env.pop("CCB_DATABASE_URL", None)
    log = (data_dir / "starter.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "starter.app"], cwd=REPO_ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the starter did not come up: "
                                     + (data_dir / "starter.log").read_text()[-2000:])
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.mark.parametrize(("role", "token"), [("read", READ_TOKEN), ("operate", OPERATE_TOKEN)])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
        live_starter: str, role: str, token: str) -> None:
    command = [bin_path("st"), "run", f"{live_starter}/api/v1/openapi.json",
               "--checks", CHECKS, "--header", f"Authorization: Bearer {token}",
               "--max-examples", MAX_EXAMPLES, "--seed", "14", "--workers", "1",
               "--phases", "examples,coverage,fuzzing", "--no-color"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                         check=False)
    summary = run.stdout[run.stdout.find("SUMMARY"):] if "SUMMARY" in run.stdout else run.stdout
    print(f"\nschemathesis with the {role} token:\n{summary[-3000:]}")
    counts = [line.strip() for line in summary.splitlines()
              if "generated" in line or "passed" in line.lower()]
    figure(f"schemathesis ({role} token): " + " | ".join(counts[:4]))
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]

"""`ccb up`: the embedded stack from the README's run command, restarts, and clear port errors."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client

from infra.payload_codec import data_converter
from infra.settings import get_settings
from tests.conftest import REPO_ROOT
from tests.deploy_helpers import cleanup, quick_environment_tuning
from tests.figures import figure
from tests.visibility import listed as visible

CCB = str(Path(sys.executable).parent / "ccb")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT_SETTINGS = ("CCB_TEMPORAL_PORT", "CCB_TEMPORAL_UI_PORT", "CCB_STARTER_PORT",
                 "CCB_FORGE_PORT", "CCB_CODEC_PORT", "CCB_WORKER_METRICS_PORT")


def _free_ports(count: int) -> list[int]:
    """``count`` different free ports: each socket is held until all are chosen (closed
    one at a time, the kernel may hand the same port out twice)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def _stack_env(data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CCB_DATA_DIR"] = str(data)
    env.update(zip(PORT_SETTINGS, map(str, _free_ports(len(PORT_SETTINGS))), strict=True))
    for var in ("CCB_DATABASE_URL", "GITHUB_TOKEN", "CCB_GITHUB_TOKEN", "CCB_GITHUB_APP_ID",
                "ANTHROPIC_API_KEY", "CCB_ANTHROPIC_API_KEY", "CCB_GITHUB_API_URL"):
        env.pop(var, None)
    env.pop("CCB_FAULT_PAUSE", None)
    return env


def test_port_in_use_names_the_setting_to_change(tmp_path: Path) -> None:
    env = _stack_env(tmp_path / "data")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        env["CCB_TEMPORAL_PORT"] = str(holder.getsockname()[1])
        done = subprocess.run([CCB, "up"], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "is already in use: set CCB_TEMPORAL_PORT to a free port" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_one_port_for_two_settings_is_one_line_naming_both(tmp_path: Path) -> None:
    env = _stack_env(tmp_path / "data")
    env["CCB_FORGE_PORT"] = env["CCB_TEMPORAL_UI_PORT"]
    done = subprocess.run([CCB, "up"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"ccb: CCB_TEMPORAL_UI_PORT and CCB_FORGE_PORT are both {env['CCB_FORGE_PORT']}: give "
        "each its own port"], done.stderr


@pytest.mark.slow
async def test_run_command_then_restart_keeps_completed_workflows(tmp_path: Path) -> None:
    # A short data dir: HAProxy's runtime socket lives in it (unix socket paths are short).
    data = Path(tempfile.mkdtemp(prefix="ccb-up-", dir="/tmp"))
    env = _stack_env(data)
    env["CCB_PROXY_PORTS"] = json.dumps({"development": _free_port(), "staging": _free_port()})
    env["CCB_DEPLOY_TUNING"] = quick_environment_tuning()  # the window need not last 30 s
    try:
        await _run_then_restart(tmp_path, data, env)
    finally:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CCB_DATA_DIR", str(data))
            get_settings.cache_clear()
            cleanup(data)  # the deployment's proxy and containers outlive `ccb up`
        get_settings.cache_clear()


async def _run_then_restart(tmp_path: Path, data: Path, env: dict[str, str]) -> None:
    # 1. The run command's job: stack up, the sample request through it, stack down.
    first = subprocess.run([CCB, "up", "--sample", "--once"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=240)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "alice opened issue #1" in out
    ui = f"http://localhost:{env['CCB_TEMPORAL_UI_PORT']}/namespaces/default/workflows/"
    assert f"the webhook started create-demo-integrations-1: {ui}create-demo-integrations-1" in out
    assert "alice approved pull request #2 with a review" in out
    assert "sample request done: integration 'acme-weather' is ACTIVE" in out
    assert "merged as " in out
    worker_metrics = f"http://127.0.0.1:{env['CCB_WORKER_METRICS_PORT']}/metrics"
    assert f"ccb: metrics: the worker's at {worker_metrics}, the starter's at " in out
    assert "ccb: stopped" in first.stdout

    # 2. Up again on the same data: the completed workflow is still listed, with its
    #    search attributes, by the server and by the Web UI's HTTP API.
    second = subprocess.Popen([CCB, "up"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        starter = f"http://127.0.0.1:{env['CCB_STARTER_PORT']}/health/ready"
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                assert second.poll() is None, second.stdout.read() if second.stdout else ""
                assert time.monotonic() < deadline, "the stack did not come up again"
                try:
                    if (await http.get(starter)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.5)
            client = await Client.connect(f"127.0.0.1:{env['CCB_TEMPORAL_PORT']}",
                                          data_converter=data_converter())
            query = ('CcbIntegrationSlug = "acme-weather" AND CcbState = "ACTIVE" '
                     'AND ExecutionStatus = "Completed"')
            listed = await visible(client, query, expect=1)
            assert [w.id for w in listed] == ["create-demo-integrations-1"]
            assert listed[0].typed_search_attributes  # slug and state are on it

            api = (f"http://127.0.0.1:{env['CCB_TEMPORAL_UI_PORT']}/api/v1/namespaces/default/"
                   "workflows")
            answer = await http.get(api, params={"query": query})
            assert answer.status_code == 200, answer.text
            assert [e["execution"]["workflowId"] for e in answer.json()["executions"]] == [
                "create-demo-integrations-1"]

            # The Web UI decodes through the stack's codec server: its settings name it, and
            # the payloads history holds (encrypted, claim-checked) come back readable.
            codec = f"http://127.0.0.1:{env['CCB_CODEC_PORT']}"
            ui_settings = await http.get(
                f"http://127.0.0.1:{env['CCB_TEMPORAL_UI_PORT']}/api/v1/settings")
            assert ui_settings.json()["Codec"]["Endpoint"] == codec, ui_settings.text
            raw = await Client.connect(f"127.0.0.1:{env['CCB_TEMPORAL_PORT']}")
            started = (await raw.get_workflow_handle("create-demo-integrations-1")
                       .fetch_history()).events[0].workflow_execution_started_event_attributes
            assert started.input.payloads[0].metadata["encoding"] == b"claim-check/sha256"
            decoded = await http.post(f"{codec}/decode",
                                      content=json_format.MessageToJson(started.input),
                                      headers={"Content-Type": "application/json"})
            assert decoded.status_code == 200, decoded.text
            [payload] = json_format.Parse(decoded.text, Payloads()).payloads
            assert b"Acme Weather" in payload.data

            # The status page after the sample, rendered in headless Chromium.
            page = await http.get(f"http://127.0.0.1:{env['CCB_STARTER_PORT']}/")
            assert page.status_code == 200, page.text
            dom = _render_in_chromium(page.text, data)
            assert 'class="ACTIVE">ACTIVE' in dom and "acme-weather" in dom
            assert "development: 0.1.0 (blue)" in dom and "healthy" in dom
            links = {text: html.unescape(url) for url, text in
                     re.findall(r'<a href="([^"]+)">([^<]+)</a>', dom)}
            assert {"issue", "pull request", "workflows"} <= set(links), links
            for text in ("issue", "pull request", "workflows"):
                assert (await http.get(links[text])).status_code == 200, (text, links[text])
            # Prometheus scrapes the worker (the SDK's metrics) and the starter.
            assert "temporal_num_pollers" in (await http.get(worker_metrics)).text
            assert (await http.get(starter.replace("/health/ready", "/metrics"))).is_success
    finally:
        second.send_signal(signal.SIGINT)
        output, _ = second.communicate(timeout=60)
    assert second.returncode == 0, output
    assert "ccb: stopped" in output
    assert list(data.glob("logs/*.log"))


def _render_in_chromium(page: str, data: Path) -> str:
    """The page as headless Chromium lays it out (its DOM), and a phone-sized screenshot
    kept under ``.data/artifacts/``. Chromium runs in a network namespace with only
    loopback: the page needs nothing from anywhere."""
    source = data / "status.html"
    source.write_text(page)
    artifacts = REPO_ROOT / ".data" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "status-page.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--disable-component-update", "--disable-sync",
             "--window-size=412,900"]
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: run scripts/ensure-chromium.sh"
    isolated = ["unshare", "--net", chromium, *flags]
    subprocess.run([*isolated, f"--screenshot={shot}", source.as_uri()], check=True,
                   capture_output=True, timeout=120)
    dom = subprocess.run([*isolated, "--dump-dom", source.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    assert shot.stat().st_size > 1000
    figure(f"status page screenshot: {shot}")
    return dom


def test_compose_file_is_valid() -> None:
    """`docker compose -f docker-compose.temporal.yml config` passes where compose exists."""
    if shutil.which("docker") and subprocess.run(
        ["docker", "compose", "version"], capture_output=True).returncode == 0:
        argv = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        argv = ["docker-compose"]
    else:
        pytest.skip("no docker compose here (`make test` installs Debian's docker-compose)")
    done = subprocess.run([*argv, "-f", "docker-compose.temporal.yml", "config"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for service in ("postgresql", "temporal", "temporal-ui"):
        assert f"  {service}:" in done.stdout

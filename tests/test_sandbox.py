"""Acceptance of the test sandbox (issue 5 item 4, issue 6): the real Docker engine that
scripts/ensure-docker.sh starts, the offline-built base image, and hostile generated tests
that each fail INSIDE the sandbox with the reason reported while the host stays unaffected.
The local fallback runner gets the same kind of checks on the cases it can bound."""

from __future__ import annotations

import os
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from activities.sandbox import run_sandboxed_tests
from activities.sandbox.base_image import base_image_tag, ensure_base_image
from activities.sandbox.docker_runner import SANDBOX_LABEL, docker_client, run_tests_in_docker
from activities.sandbox.local_runner import run_tests_locally
from activities.sandbox.staging import SandboxInputError, request_files
from models.sandbox import Limits, SandboxReport, SandboxRequest

REPO = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "sandbox_cases"
PASSING = CASES / "passing"


def hostile(name: str, **replace: str) -> dict[str, str]:
    """One hostile case as the single test file of a generated integration."""
    text = (CASES / "hostile" / f"{name}.py").read_text()
    for key, value in replace.items():
        text = text.replace(key, value)
    return {"test_generated.py": text}


def host_process_count() -> int:
    return sum(1 for entry in os.listdir("/proc") if entry.isdigit())


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    """The real engine, started by scripts/ensure-docker.sh when none answers."""
    started = subprocess.run(["bash", str(REPO / "scripts" / "ensure-docker.sh")],
                             capture_output=True, text=True, timeout=600, check=False)
    print(started.stdout.strip(), started.stderr.strip())
    client = docker_client()
    if client is None:
        pytest.fail("NO DOCKER ENGINE could be started (scripts/ensure-docker.sh: "
                    f"{started.stderr.strip()}); the local-runner tests below still run")
    yield client
    client.close()


@pytest.fixture(scope="module")
def base_image(engine: docker.DockerClient) -> str:
    """The base image, built offline when this machine lacks it (printed: how long it took)."""
    started = time.monotonic()
    lines: list[str] = []
    tag = ensure_base_image(engine, on_log=lines.append)
    print(f"base image {tag}: ready in {time.monotonic() - started:.1f} s "
          f"({'built, ' + str(len(lines)) + ' log lines' if lines else 'cached'})")
    return tag


@pytest.fixture
def no_leftovers(engine: docker.DockerClient) -> Iterator[None]:
    """After the test: no sandbox container is left, running or stopped."""
    yield
    left = engine.containers.list(all=True, filters={"label": SANDBOX_LABEL})
    assert left == [], f"sandbox containers left behind: {[c.name for c in left]}"


class _Banner(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.accepted += 1  # type: ignore[attr-defined]
        self.request.sendall(b"HOST-SERVER\n")


@pytest.fixture
def host_server() -> Iterator[socketserver.ThreadingTCPServer]:
    """A server on the HOST's loopback that the sandbox must not reach."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Banner)
    server.accepted = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def assert_host_server_answers(server: socketserver.ThreadingTCPServer) -> None:
    with socket.create_connection(server.server_address, timeout=5) as conn:
        assert conn.recv(100).startswith(b"HOST-SERVER")


def failure_text(report: SandboxReport) -> str:
    return "\n".join(f"{f.name}: {f.message}\n{f.details}" for f in report.failed_tests)


# -- the base image ------------------------------------------------------------------------------

def test_base_image_is_built_offline_once_and_then_cached(
        engine: docker.DockerClient, base_image: str) -> None:
    assert base_image == base_image_tag()
    image = engine.images.get(base_image)
    assert image.id == engine.images.get("ccb-base:latest").id
    assert image.labels.get("ccb.image") == "base"
    # The layers under it come from our own imported rootfs, never from a registry.
    assert not image.attrs.get("RepoDigests"), "the base image must not come from a registry"
    assert ensure_base_image(engine, on_log=pytest.fail) == base_image  # cached: no build


# -- a passing suite -----------------------------------------------------------------------------

def test_passing_suite_reports_passed_count_and_coverage(base_image: str,
                                                         no_leftovers: None) -> None:
    report = run_tests_in_docker(SandboxRequest(source_dir=str(PASSING), label="calc"))
    assert report.isolation == "docker"
    assert report.image == base_image
    assert (report.ok, report.exit_code, report.reason) == (True, 0, None)
    assert (report.tests, report.passed, report.failures, report.errors) == (3, 3, 0, 0)
    assert report.coverage_percent == pytest.approx(70.0)  # one branch function left untested
    assert "3 passed" in report.stdout_tail


def test_one_entry_chooses_docker_when_an_engine_answers(base_image: str,
                                                         no_leftovers: None) -> None:
    files = {str(p.relative_to(PASSING)): p.read_text() for p in PASSING.rglob("*.py")}
    report = run_sandboxed_tests(SandboxRequest(files=files, package="calc"))
    assert (report.isolation, report.ok, report.passed) == ("docker", True, 3)


def test_failing_test_is_reported_with_its_message(base_image: str, no_leftovers: None) -> None:
    files = {"mod.py": "def double(x):\n    return x * 3\n",
             "tests/test_mod.py": "from mod import double\n\n"
                                  "def test_double():\n    assert double(2) == 4, 'double(2)'\n"}
    report = run_tests_in_docker(SandboxRequest(files=files))
    assert (report.ok, report.exit_code, report.tests, report.failures) == (False, 1, 1, 1)
    assert report.failed_tests[0].name.endswith("test_double")
    assert "double(2)" in report.failed_tests[0].message
    assert report.coverage_percent == pytest.approx(100.0)
    assert report.limits_hit == []
    assert report.reason == "1 test(s) failed, 0 errored; first: tests.test_mod::test_double: " \
        "AssertionError: double(2)"


# -- hostile generated tests: each fails inside, the host is unaffected ----------------------------

def test_socket_to_a_host_loopback_server_fails_inside(
        base_image: str, host_server: socketserver.ThreadingTCPServer,
        no_leftovers: None) -> None:
    port = str(host_server.server_address[1])
    report = run_tests_in_docker(SandboxRequest(files=hostile("socket_to_host",
                                                              __HOST_PORT__=port)))
    assert (report.ok, report.failures) == (False, 1)
    assert "ConnectionRefusedError" in failure_text(report)
    assert "Connection refused" in (report.reason or "")
    assert host_server.accepted == 0  # type: ignore[attr-defined]
    assert_host_server_answers(host_server)


def test_sandbox_sees_no_network_interface_but_lo(base_image: str, no_leftovers: None) -> None:
    report = run_tests_in_docker(SandboxRequest(files=hostile("net_interfaces")))
    assert (report.ok, report.failures) == (False, 1)
    assert "interfaces seen: ['lo'], /proc/net/dev: ['lo']" in failure_text(report)


def test_fork_bomb_is_bounded_by_the_pids_limit(base_image: str, no_leftovers: None) -> None:
    before = host_process_count()
    report = run_tests_in_docker(SandboxRequest(files=hostile("fork_bomb"),
                                                limits=Limits(pids=64, timeout_seconds=60)))
    assert not report.ok
    assert "pids" in report.limits_hit and "timeout" not in report.limits_hit
    assert "process limit of 64 reached" in (report.reason or "")
    assert "BlockingIOError" in failure_text(report)
    assert host_process_count() < before + 50  # nothing of the bomb is left on the host


def test_allocating_4gb_is_stopped_by_the_memory_limit(base_image: str,
                                                       no_leftovers: None) -> None:
    report = run_tests_in_docker(SandboxRequest(files=hostile("allocate_4gb"),
                                                limits=Limits(memory_mb=256)))
    assert not report.ok and report.passed == 0
    assert "memory" in report.limits_hit
    assert "memory limit of 256 MB reached" in (report.reason or "")


def test_endless_loop_is_killed_at_the_wall_clock_limit(base_image: str,
                                                        no_leftovers: None) -> None:
    report = run_tests_in_docker(SandboxRequest(files=hostile("loop_forever"),
                                                limits=Limits(timeout_seconds=4)))
    assert (report.ok, report.exit_code) == (False, None)
    assert report.limits_hit == ["timeout"]
    assert "wall-clock limit of 4 s" in (report.reason or "")


def test_a_sandbox_whose_worker_died_ends_itself_at_its_deadline(base_image: str,
                                                                 engine: docker.DockerClient,
                                                                 no_leftovers: None) -> None:
    """Nobody waits for or kills this container (as when the worker is SIGKILLed mid-run):
    the driver inside kills the endless test at the timeout plus a small slack and ends."""
    from activities.sandbox.docker_runner import SELF_DEADLINE_SLACK, _create
    from activities.sandbox.sandbox_driver import DEADLINE_STATUS
    from activities.sandbox.staging import stage

    request = SandboxRequest(files=hostile("loop_forever"), limits=Limits(timeout_seconds=1))
    stage_dir = stage(request)
    container = _create(engine, base_image, request, str(stage_dir))
    try:
        container.start()
        ended = container.wait(timeout=60 + SELF_DEADLINE_SLACK)  # bounded; ends by itself
        output = container.logs(stdout=True, stderr=False).decode()
    finally:
        container.remove(force=True)
        import shutil

        shutil.rmtree(stage_dir, ignore_errors=True)
    assert ended["StatusCode"] == 0  # the driver reported and exited; pytest was killed
    assert f'"exit_code": {DEADLINE_STATUS}' in base64_frame(output)


def base64_frame(output: str) -> str:
    import base64

    from activities.sandbox.sandbox_driver import FRAME_MARKER

    [frame] = [line[len(FRAME_MARKER):] for line in output.splitlines()
               if line.startswith(FRAME_MARKER)]
    return base64.b64decode(frame).decode()


def test_containers_of_dead_workers_are_reaped_and_live_runs_are_not(
        base_image: str, engine: docker.DockerClient) -> None:
    """Four sandbox containers as workers leave them; the reaper removes exactly the two
    that nobody will come back for."""
    from activities.sandbox.docker_runner import (
        EXPIRES_LABEL,
        OWNER_LABEL,
        reap_stale_sandboxes,
    )

    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that was a process of this host and is no more
    host, now = socket.gethostname(), time.time()
    later, earlier = str(int(now + 600)), str(int(now - 1))
    cases = {
        "dead-owner": ({OWNER_LABEL: f"{host}:{gone.pid}", EXPIRES_LABEL: later}, True),
        "expired": ({OWNER_LABEL: f"{host}:{os.getpid()}", EXPIRES_LABEL: earlier}, True),
        "live-run": ({OWNER_LABEL: f"{host}:{os.getpid()}", EXPIRES_LABEL: later}, False),
        "other-host": ({OWNER_LABEL: f"elsewhere:{gone.pid}", EXPIRES_LABEL: later}, False),
    }
    created = {name: engine.containers.create(
        base_image, command=["true"], network_mode="none",
        labels={SANDBOX_LABEL: "1", f"{SANDBOX_LABEL}.label": f"reap-{name}", **labels})
        for name, (labels, _) in cases.items()}
    try:
        removed = reap_stale_sandboxes(engine)
        left = {c.name for c in engine.containers.list(all=True,
                                                         filters={"label": SANDBOX_LABEL})}
    finally:
        for container in created.values():
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass
    for name, (_, stale) in cases.items():
        assert (created[name].name in removed) == stale, name
        assert (created[name].name in left) != stale, name


@given(labels=st.dictionaries(st.sampled_from(["ccb.sandbox.owner", "ccb.sandbox.expires",
                                               "ccb.sandbox.label"]),
                              st.text(max_size=30)),
       now=st.floats(min_value=0, max_value=4e9))
def test_any_labels_give_a_reason_or_none_and_never_raise(labels: dict[str, str],
                                                          now: float) -> None:
    """Labels on a container are anyone's text (a container made by hand or another tool):
    the reaper's rule reads them without failing, and a future deadline of a live owner
    on this host always keeps the container."""
    from activities.sandbox.docker_runner import EXPIRES_LABEL, OWNER_LABEL, _stale

    reason = _stale(labels, now, socket.gethostname())
    assert reason is None or isinstance(reason, str)
    alive = {**labels, OWNER_LABEL: f"{socket.gethostname()}:{os.getpid()}",
             EXPIRES_LABEL: str(now + 60)}
    assert _stale(alive, now, socket.gethostname()) is None


def test_writes_outside_the_work_dir_are_refused(base_image: str, no_leftovers: None) -> None:
    report = run_tests_in_docker(SandboxRequest(files=hostile("write_outside")))
    assert (report.ok, report.tests, report.failures) == (False, 2, 2)
    assert all("Read-only file system" in f.message for f in report.failed_tests), \
        failure_text(report)
    assert "Read-only file system" in (report.reason or "")
    assert not Path("/var/tmp/ccb-escape").exists()


# -- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "says"), [
    ({"files": {"../escape.py": ""}}, "must be relative"),
    ({"files": {"/etc/passwd": ""}}, "must be relative"),
    ({"files": {"a.py": ""}, "source_dir": "x"}, "exactly one of"),
    ({}, "exactly one of"),
    ({"files": {"a.py": ""}, "package": "not-a-name"}, "package"),
])
def test_bad_requests_are_refused_with_a_clear_message(kwargs: dict[str, object],
                                                       says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        SandboxRequest.model_validate(kwargs)


def test_missing_source_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxInputError, match="is not a directory"):
        request_files(SandboxRequest(source_dir=str(tmp_path / "nope")))


# -- the local fallback (weaker) -----------------------------------------------------------------

def test_local_runner_runs_a_passing_suite_and_says_it_is_weaker() -> None:
    report = run_tests_locally(SandboxRequest(source_dir=str(PASSING)))
    assert report.isolation.startswith("local (weaker: ")
    assert (report.ok, report.passed, report.coverage_percent) == (True, 3, pytest.approx(70.0))


def test_local_runner_cuts_off_the_network_and_the_clock(
        host_server: socketserver.ThreadingTCPServer) -> None:
    port = str(host_server.server_address[1])
    report = run_tests_locally(SandboxRequest(files=hostile("socket_to_host",
                                                            __HOST_PORT__=port)))
    if os.geteuid() == 0:  # only root gets its own network namespace
        assert (report.ok, report.failures) == (False, 1)
        assert host_server.accepted == 0  # type: ignore[attr-defined]
    assert_host_server_answers(host_server)
    report = run_tests_locally(SandboxRequest(files=hostile("loop_forever"),
                                              limits=Limits(timeout_seconds=3)))
    assert (report.ok, report.limits_hit) == (False, ["timeout"])


def test_local_runner_bounds_a_fork_bomb_and_memory() -> None:
    before = host_process_count()
    report = run_tests_locally(SandboxRequest(files=hostile("fork_bomb"),
                                              limits=Limits(pids=64, timeout_seconds=30)))
    assert not report.ok and "pids" in report.limits_hit, report
    assert host_process_count() < before + 50
    report = run_tests_locally(SandboxRequest(files=hostile("allocate_4gb"),
                                              limits=Limits(memory_mb=256)))
    assert not report.ok and "memory" in report.limits_hit, report

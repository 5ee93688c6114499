"""The blue-green switch on a real HAProxy (loopback): config, runtime API, traffic moved by
route/shift/drain as counted per version, drain with a request in flight, restore after a
crash, and a short load run across a switch and a rollback without loss or flapping."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.traffic import haproxy_process, switch
from activities.traffic.haproxy_config import slot_name
from activities.traffic.haproxy_process import HaproxyError, check_config, write_config
from activities.traffic.runtime_api import ProxyUnreachableError, RuntimeApi, RuntimeApiError
from activities.traffic.switch import SwitchError
from models.deployment import Color
from models.traffic import DesiredRoute, DrainResult, ProxySpec, ServerAdminState
from tests.traffic_helpers import (
    LoadClient,
    VersionServer,
    count_versions,
    free_port,
    get,
    start_version_server,
)

BLUE, GREEN = Color.BLUE, Color.GREEN
LOCAL = "127.0.0.1"
POLL_LIMIT = 200  # bounded waits: at most this many polls of 50 ms


@pytest.fixture(scope="module", autouse=True)
def haproxy_installed() -> None:
    if not shutil.which("haproxy"):
        raise RuntimeError("haproxy is not installed: run scripts/ensure-haproxy.sh")


@pytest.fixture(scope="module")
def blue() -> Iterator[VersionServer]:
    server = start_version_server("blue")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def green() -> Iterator[VersionServer]:
    server = start_version_server("green")
    yield server
    server.stop()


@pytest.fixture
def proxy() -> Iterator[ProxySpec]:
    """A proxy spec with its own short data dir (unix socket paths are short); stopped after."""
    data_dir = Path(tempfile.mkdtemp(prefix="ccb-hx-", dir="/tmp"))
    spec = ProxySpec(environment="test", port=free_port(), data_dir=data_dir, slots=4)
    yield spec
    haproxy_process.stop(spec, graceful=False)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def running(proxy: ProxySpec) -> ProxySpec:
    switch.ensure_proxy(proxy)
    return proxy


def test_ensure_haproxy_script_does_nothing_when_haproxy_is_there() -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "ensure-haproxy.sh"
    result = subprocess.run([str(script)], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ensure-haproxy: nothing to do, HAProxy version 2.")
    assert len(result.stdout.splitlines()) == 1


def test_rendered_config_passes_haproxy_check_and_a_broken_one_is_explained(
        proxy: ProxySpec) -> None:
    path = write_config(proxy)
    check_config(path)
    text = path.read_text()
    assert f"stats socket {proxy.socket_path} mode 600 level admin expose-fd listeners" in text
    assert "http-server-close" not in text  # keep-alive to clients
    assert "retry-on conn-failure empty-response" in text
    for index in range(proxy.slots):
        assert f"backend {slot_name(index)}" in text
    assert text.count("weight 100 disabled") == 2 * proxy.slots  # real weights, not 0
    broken = path.with_name("broken.cfg")
    broken.write_text(text.replace("balance hash", "balance no-such-algorithm"))
    with pytest.raises(HaproxyError, match=r"rejects .*broken\.cfg: .*balance only supports"):
        check_config(broken)


def test_start_is_idempotent_and_stop_ends_the_process(proxy: ProxySpec) -> None:
    assert not haproxy_process.is_running(proxy)
    pid = switch.ensure_proxy(proxy)
    assert switch.ensure_proxy(proxy) == pid  # no second process, no reload
    assert haproxy_process.is_running(proxy)
    assert haproxy_process.stop(proxy) is True
    assert not haproxy_process.is_running(proxy)
    assert haproxy_process.stop(proxy) is False


def test_runtime_api_dynamic_servers_and_clear_errors(running: ProxySpec,
                                                      blue: VersionServer) -> None:
    api = RuntimeApi(running.socket_path)
    backend = slot_name(1)
    api.add_server(backend, "canary", LOCAL, blue.port, weight=100)
    canary = {s.name: s for s in api.server_states(backend)}["canary"]
    assert canary.admin_state == ServerAdminState.MAINT  # added servers start in maintenance
    assert (canary.addr, canary.port, canary.weight) == (LOCAL, blue.port, 100)
    api.enable_server(backend, "canary")
    api.set_weight(backend, "canary", 40)
    canary = {s.name: s for s in api.server_states(backend)}["canary"]
    assert (canary.admin_state, canary.weight) == (ServerAdminState.READY, 40)
    with pytest.raises(RuntimeApiError, match=r"refused `del server .*/canary`"):
        api.del_server(backend, "canary")  # only a server in maintenance can be deleted
    api.set_state(backend, "canary", "drain")
    assert {s.name: s for s in api.server_states(backend)}["canary"].admin_state == "drain"
    api.set_state(backend, "canary", "maint")
    api.del_server(backend, "canary")
    assert [s.name for s in api.server_states(backend)] == ["blue", "green"]

    with pytest.raises(RuntimeApiError, match="refused `set weight nope/blue 10`"):
        api.set_weight("nope", "blue", 10)
    with pytest.raises(RuntimeApiError, match="nope"):
        api.server_states("nope")
    with pytest.raises(ValueError, match="percentage"):
        api.set_weight(backend, "blue", 150)
    with pytest.raises(ProxyUnreachableError, match="start the environment's proxy first"):
        RuntimeApi(running.data_dir / "missing.sock").info()


def test_route_shift_drain_move_traffic_and_rollback_moves_it_back(
        running: ProxySpec, blue: VersionServer, green: VersionServer) -> None:
    ref = switch.ensure_backend(running, "demo")
    assert switch.ensure_backend(running, "demo") == ref  # idempotent: same slot
    assert switch.ensure_backend(running, "other").backend != ref.backend
    status, _, body = get(running.port, "unknown-integration")
    assert status == 404 and "send Host: <integration-slug>" in body

    switch.route_to(running, "demo", BLUE, LOCAL, blue.port)
    assert count_versions(running.port, "demo", 20) == {"blue": 20}
    green_route = switch.route_to(running, "demo", GREEN, LOCAL, green.port)
    assert green_route.weight == 0  # routed, but takes nothing until shifted
    assert switch.route_to(running, "demo", GREEN, LOCAL, green.port) == green_route
    assert count_versions(running.port, "demo.localhost:80", 20) == {"blue": 20}

    switch.shift(running, "demo", GREEN, 50)
    assert set(count_versions(running.port, "demo", 60)) == {"blue", "green"}
    switch.shift(running, "demo", GREEN, 100)
    assert count_versions(running.port, "demo", 20) == {"green": 20}
    result = switch.drain(running, "demo", BLUE, timeout_s=10)
    assert (result.drained, result.final_state) == (True, ServerAdminState.MAINT)
    assert switch.drain(running, "demo", BLUE, timeout_s=10).drained  # repeat: no-op
    assert count_versions(running.port, "demo", 20) == {"green": 20}
    by_color = {r.color: r for r in switch.routes(running, "demo")}
    assert (by_color[BLUE].state, by_color[GREEN].weight) == (ServerAdminState.MAINT, 100)

    switch.route_to(running, "demo", BLUE, LOCAL, blue.port)  # rollback
    switch.shift(running, "demo", BLUE, 100)
    assert count_versions(running.port, "demo", 20) == {"blue": 20}
    switch.drain(running, "demo", GREEN, timeout_s=10)
    assert count_versions(running.port, "demo", 20) == {"blue": 20}


def test_bad_requests_are_refused_with_what_to_do(running: ProxySpec, blue: VersionServer,
                                                  green: VersionServer) -> None:
    with pytest.raises(SwitchError, match="not an integration slug"):
        switch.ensure_backend(running, "Not A Slug")
    with pytest.raises(SwitchError, match="call ensure_backend first"):
        switch.routes(running, "never-added")
    switch.ensure_backend(running, "demo")
    with pytest.raises(SwitchError, match="route_to it before shifting"):
        switch.shift(running, "demo", GREEN, 10)
    switch.route_to(running, "demo", BLUE, LOCAL, blue.port)
    with pytest.raises(SwitchError, match="between 0 and 100"):
        switch.shift(running, "demo", BLUE, 150)
    with pytest.raises(SwitchError, match="would leave no colour taking traffic"):
        switch.drain(running, "demo", BLUE, timeout_s=1)
    with pytest.raises(SwitchError, match="drain it before pointing it at"):
        switch.route_to(running, "demo", BLUE, LOCAL, green.port)
    for slug in ("s-one", "s-two", "s-three"):  # 4 slots: demo + 3
        switch.ensure_backend(running, slug)
    with pytest.raises(SwitchError, match="all 4 backend slots"):
        switch.ensure_backend(running, "one-too-many")
    assert count_versions(running.port, "demo", 5) == {"blue": 5}  # nothing was changed


def test_a_released_backend_stops_routing_and_its_slot_is_reused(
        running: ProxySpec, blue: VersionServer) -> None:
    slot = switch.ensure_backend(running, "short-lived").backend
    switch.route_to(running, "short-lived", BLUE, LOCAL, blue.port)
    with pytest.raises(SwitchError, match="drain it first"):
        switch.release_backend(running, "short-lived")
    assert switch.drain(running, "short-lived", BLUE, timeout_s=5, force=True).drained
    assert switch.release_backend(running, "short-lived") is True
    assert get(running.port, "short-lived")[0] == 404
    assert switch.release_backend(running, "short-lived") is False
    assert "short-lived" not in running.map_path.read_text()
    assert switch.ensure_backend(running, "next-one").backend == slot


def test_environment_proxies_have_fixed_ports_and_files_under_the_data_dir() -> None:
    staging = switch.proxy_for("staging", Path("/tmp/ccb-x"))
    assert staging.port == 8501
    assert staging.socket_path == Path("/tmp/ccb-x/proxy/haproxy-staging.sock")
    with pytest.raises(SwitchError, match="unknown environment 'moon'"):
        switch.proxy_for("moon")


def _wait_until(predicate: object, what: str) -> None:
    for _ in range(POLL_LIMIT):
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting until {what}")


def test_drain_lets_an_in_flight_slow_request_finish_while_new_ones_go_green(
        running: ProxySpec, blue: VersionServer, green: VersionServer) -> None:
    switch.ensure_backend(running, "demo")
    switch.route_to(running, "demo", BLUE, LOCAL, blue.port)
    switch.route_to(running, "demo", GREEN, LOCAL, green.port)
    slow: dict[str, object] = {}
    slow_thread = threading.Thread(
        target=lambda: slow.update(answer=get(running.port, "demo", "/slow?s=2")))
    slow_thread.start()

    def blue_sessions() -> int:
        return {r.color: r for r in switch.routes(running, "demo")}[BLUE].current_sessions

    _wait_until(lambda: blue_sessions() >= 1, "the slow request is in flight on blue")
    switch.shift(running, "demo", GREEN, 100)
    drained: dict[str, DrainResult] = {}
    drain_thread = threading.Thread(
        target=lambda: drained.update(result=switch.drain(running, "demo", BLUE, 30)))
    drain_thread.start()
    during_drain = count_versions(running.port, "demo", 10)
    still_draining = drain_thread.is_alive()
    drain_thread.join(timeout=35)
    slow_thread.join(timeout=35)

    assert during_drain == {"green": 10}
    assert still_draining  # the drain was waiting for the slow request meanwhile
    assert slow["answer"] == (200, "blue", "blue")
    result = drained["result"]
    assert (result.drained, result.remaining_sessions) == (True, 0)
    assert {r.color: r for r in switch.routes(running, "demo")}[BLUE].state == "maint"


def test_killed_proxy_started_again_gets_its_routes_back_from_restore_routes(
        running: ProxySpec, blue: VersionServer, green: VersionServer) -> None:
    switch.ensure_backend(running, "demo")
    switch.route_to(running, "demo", GREEN, LOCAL, green.port)
    assert count_versions(running.port, "demo", 5) == {"green": 5}

    assert haproxy_process.kill(running)
    with pytest.raises(ConnectionError):
        get(running.port, "demo")
    switch.ensure_proxy(running)
    # The routing map survives in its file, the servers' run-time state does not.
    assert count_versions(running.port, "demo", 3) == {"status 503": 3}

    desired = [
        DesiredRoute(slug="demo", color=GREEN, port=green.port, weight=100),
        DesiredRoute(slug="demo", color=BLUE, port=blue.port, weight=0,
                     state=ServerAdminState.MAINT),
    ]
    restored = switch.restore_routes(running, desired)
    assert count_versions(running.port, "demo", 10) == {"green": 10}
    assert switch.restore_routes(running, desired) == restored  # idempotent
    by_color = {r.color: r for r in restored}
    assert (by_color[GREEN].port, by_color[GREEN].weight) == (green.port, 100)
    assert by_color[BLUE].state == ServerAdminState.MAINT


def test_load_across_a_switch_and_a_rollback_loses_nothing_and_never_flaps(
        running: ProxySpec, blue: VersionServer, green: VersionServer) -> None:
    switch.ensure_backend(running, "demo")
    switch.route_to(running, "demo", BLUE, LOCAL, blue.port)
    switch.route_to(running, "demo", GREEN, LOCAL, green.port)
    client = LoadClient(["--port", str(running.port), "--host-header", "demo",
                         "--rate", "200", "--connections", "16", "--max-requests", "2000",
                         "--duration", "30", "--initial", "blue"])
    try:
        time.sleep(1.5)
        client.send("slow 3 2")
        client.send("mark switch blue green")
        for percent in (10, 50, 100):
            switch.shift(running, "demo", GREEN, percent)
            time.sleep(0.8)
        switch.drain(running, "demo", BLUE, timeout_s=30)
        time.sleep(0.8)
        client.send("mark rollback green blue")
        switch.route_to(running, "demo", BLUE, LOCAL, blue.port)
        switch.shift(running, "demo", BLUE, 100)
        switch.drain(running, "demo", GREEN, timeout_s=30)
        summary = client.result(timeout_s=60)
    finally:
        client.kill()
    assert summary["requests"] == 2000
    assert (summary["failed"], summary["dropped"], summary["flaps"]) == (0, 0, 0)
    assert set(summary["versions"]) == {"blue", "green"}
    assert summary["connections_changed"] > 0
    assert (summary["slow_started"], summary["slow_completed"]) == (3, 3)


def test_slugs_holding_haproxy_error_words_route_and_count(running: ProxySpec,
                                                           blue: VersionServer) -> None:
    """HAProxy answers in free text, so its client looks for error words; a map entry whose
    slug holds one ("errors-api") is data, not a refusal. The backend's counters count (per
    slot, cumulative: the monitor reads differences)."""
    from activities.traffic.runtime_api import _ERROR_MARKERS

    words = [m for m in _ERROR_MARKERS if m.isalpha()]
    assert len(words) >= 7
    for word in words:
        slug = f"{word}-api"
        switch.ensure_backend(running, slug)
        switch.route_to(running, slug, BLUE, LOCAL, blue.port)
        before = switch.backend_counters(running, slug)  # a reused slot keeps counting
        assert before is not None
        assert get(running.port, slug)[0] == 200
        assert switch.backend_counters(running, slug) == (before[0] + 1, before[1])
        assert slug in RuntimeApi(running.socket_path).show_map(running.map_path)
        assert switch.drain(running, slug, BLUE, timeout_s=5, force=True).drained
        assert switch.release_backend(running, slug) is True
    assert switch.backend_counters(running, "never-routed") is None

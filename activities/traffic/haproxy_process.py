"""Run one environment's HAProxy as a daemon the project owns: write and check its config,
start, stop, tell whether it runs. Traffic is never moved by a restart or reload (see
``switch``); a start only happens when the process is not running."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from activities.traffic.haproxy_config import render_config
from activities.traffic.runtime_api import RuntimeApi
from models.traffic import ProxySpec

HAPROXY_BIN = "haproxy"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 35.0
POLL_S = 0.05
MAX_UNIX_SOCKET_PATH = 100  # sun_path holds 108 bytes; keep a margin


class HaproxyError(RuntimeError):
    """HAProxy could not be had, configured, started or stopped; the message says what to do."""


def haproxy_binary() -> str:
    """The path of the haproxy binary, or a clear error naming the script that installs it."""
    found = shutil.which(HAPROXY_BIN)
    if not found:
        raise HaproxyError("haproxy is not installed: run scripts/ensure-haproxy.sh")
    return found


@contextlib.contextmanager
def proxy_lock(proxy: ProxySpec) -> Iterator[None]:
    """Serialise starts, stops and slot assignment of one environment's proxy across processes."""
    proxy.data_dir.mkdir(parents=True, exist_ok=True)
    with open(proxy.lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_config(path: Path) -> None:
    """``haproxy -c``: raise with HAProxy's own words when the configuration is invalid."""
    result = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(path)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    if result.returncode != 0:
        raise HaproxyError(f"HAProxy rejects {path}: {_alerts(result.stderr + result.stdout)}")


def _alerts(output: str) -> str:
    """HAProxy's ALERT lines (what is wrong), without the NOTICE banner."""
    alerts = [line.split(":", 1)[-1].strip() for line in output.splitlines() if "ALERT" in line]
    return "; ".join(alerts) or output.strip()


def write_config(proxy: ProxySpec) -> Path:
    """Render, check and atomically install the config; create an empty routing map if none."""
    if len(str(proxy.socket_path)) > MAX_UNIX_SOCKET_PATH:
        raise HaproxyError(
            f"the admin socket path {proxy.socket_path} is too long for a unix socket; "
            "use a shorter data_dir"
        )
    proxy.data_dir.mkdir(parents=True, exist_ok=True)
    proxy.map_path.touch(exist_ok=True)
    candidate = proxy.config_path.with_suffix(".cfg.new")
    candidate.write_text(render_config(proxy))
    check_config(candidate)
    os.replace(candidate, proxy.config_path)
    return proxy.config_path


def read_pid(proxy: ProxySpec) -> int | None:
    """The pid of the proxy's process when it is alive and really is that HAProxy."""
    try:
        pid = int(proxy.pid_path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if str(proxy.config_path).encode() not in cmdline:
        return None  # a recycled pid: another program
    return pid


def is_running(proxy: ProxySpec) -> bool:
    """True when the process is alive and its admin socket answers."""
    return read_pid(proxy) is not None and RuntimeApi(proxy.socket_path).is_alive()


def start(proxy: ProxySpec) -> int:
    """Start the proxy unless it runs; return its pid. Idempotent and safe across processes.

    The config is (re)written only here, when no process runs, so no running HAProxy is ever
    reloaded. Routes are not restored here: the caller runs ``switch.restore_routes``.
    """
    with proxy_lock(proxy):
        pid = read_pid(proxy)
        if pid is not None and RuntimeApi(proxy.socket_path).is_alive():
            return pid
        if pid is not None:
            _terminate(pid)  # alive but deaf: a wedged process must not hold the port
        config = write_config(proxy)
        result = subprocess.run(
            [haproxy_binary(), "-D", "-f", str(config), "-p", str(proxy.pid_path)],
            capture_output=True, text=True, timeout=30, check=False,
        )
        if result.returncode != 0:
            raise HaproxyError(f"HAProxy for {proxy.environment} did not start: "
                               f"{_alerts(result.stderr + result.stdout)}")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            pid = read_pid(proxy)
            if pid is not None and RuntimeApi(proxy.socket_path).is_alive():
                return pid
            time.sleep(POLL_S)
        raise HaproxyError(
            f"HAProxy for {proxy.environment} started but its admin socket "
            f"{proxy.socket_path} did not answer within {START_TIMEOUT_S}s"
        )


def stop(proxy: ProxySpec, graceful: bool = True) -> bool:
    """Stop the proxy (soft stop lets in-flight requests finish); False if it was not running."""
    with proxy_lock(proxy):
        pid = read_pid(proxy)
        if pid is None:
            return False
        _terminate(pid, graceful=graceful)
        with contextlib.suppress(FileNotFoundError):
            proxy.pid_path.unlink()
        return True


def kill(proxy: ProxySpec) -> bool:
    """SIGKILL the proxy, as a crash would (for tests and the crash drill)."""
    pid = read_pid(proxy)
    if pid is None:
        return False
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, STOP_TIMEOUT_S)
    return True


def _terminate(pid: int, graceful: bool = True) -> None:
    # SIGUSR1 is HAProxy's soft stop: listeners close, running requests finish, then exit
    # (bounded by hard-stop-after). SIGTERM stops at once; SIGKILL if even that is ignored.
    for sig, wait_s in ((signal.SIGUSR1, STOP_TIMEOUT_S), (signal.SIGTERM, 5.0),
                        (signal.SIGKILL, 5.0)):
        if sig == signal.SIGUSR1 and not graceful:
            continue
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if _wait_gone(pid, wait_s):
            return
    raise HaproxyError(f"HAProxy pid {pid} did not exit after SIGKILL")


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A daemon's parent is init, which reaps it; a zombie still counts as gone.
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return True
        except (OSError, IndexError):
            return True
        time.sleep(POLL_S)
    return False

"""The local runtime when no Docker engine answers: one venv and one server process per
version, on a loopback port. Weaker isolation than a container (no namespaces, no resource
limits, no HEALTHCHECK); every result of this runtime says so.

The "image" of a version is its source directory with a venv (kept, like an image, for
rollbacks). One state file per instance name records the process (pid, port, source), so a
repeat after a crash finds it instead of starting a second one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from infra.settings import get_settings

STOP_TIMEOUT_S = 5.0
APP_FALLBACK = "service:app"


class LocalRuntimeError(RuntimeError):
    """A version could not be prepared or started as a local process."""


def _root() -> Path:
    return get_settings().data_dir.resolve() / "deploy"


def source_dir(slug: str, tag: str) -> Path:
    """Where the version tagged ``tag`` keeps its files and venv."""
    return _root() / "src" / slug / tag.replace(":", "_").replace("/", "_")


def app_of(files: dict[str, str]) -> str:
    """The ASGI app the Dockerfile's ``CMD ["uvicorn", "<module>:<app>", ...]`` runs."""
    for line in files.get("Dockerfile", "").splitlines():
        if line.strip().startswith("CMD"):
            with contextlib.suppress(ValueError):
                words = json.loads(line.strip()[3:].strip())
                if "uvicorn" in words[0] and len(words) > 1:
                    return str(words[1])
    return APP_FALLBACK


def prepare(slug: str, tag: str, files: dict[str, str]) -> tuple[Path, bool]:
    """Write the files and make a venv that sees the worker's packages; idempotent."""
    root = source_dir(slug, tag)
    done = root / ".ccb-ready"
    if done.exists():
        return root, False
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--clear", str(venv)],
                   check=True, capture_output=True, timeout=120)
    query = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(subprocess.run(
        [str(venv / "bin" / "python"), "-c", query],
        check=True, capture_output=True, text=True, timeout=60).stdout.strip())
    (purelib / "ccb-worker-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    (root / ".ccb-app").write_text(app_of(files))
    done.touch()
    return root, True


def _state_path(name: str) -> Path:
    return _root() / "run" / f"{name}.json"


def read_state(name: str) -> dict[str, str | int] | None:
    """The recorded process of instance ``name`` when it still runs from its source dir."""
    try:
        state = json.loads(_state_path(name).read_text())
        cmdline = Path(f"/proc/{int(state['pid'])}/cmdline").read_bytes()
        status = Path(f"/proc/{int(state['pid'])}/stat").read_text().split()[2]
    except (OSError, ValueError, KeyError, IndexError):
        return None
    if str(state["source"]).encode() not in cmdline or status == "Z":
        return None
    return dict(state)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, source: Path, version: str, deployment: str) -> tuple[int, int]:
    """(pid, port) of instance ``name`` running ``source``; started when not running."""
    state = read_state(name)
    if state and state["source"] == str(source) and state["deployment"] == deployment:
        return int(state["pid"]), int(state["port"])
    stop(name)
    app = (source / ".ccb-app").read_text().strip() if (source / ".ccb-app").exists() \
        else APP_FALLBACK
    port = _free_port()
    log_path = _root() / "run" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [str(source / ".venv" / "bin" / "python"), "-m", "uvicorn", app, "--host",
             "127.0.0.1", "--port", str(port), "--no-access-log", "--app-dir", str(source)],
            cwd=source, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(source),
                 "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(source)},
            start_new_session=True)  # outlives a killed worker, like a container
    tmp = _state_path(name).with_suffix(".new")
    tmp.write_text(json.dumps({"pid": process.pid, "port": port, "source": str(source),
                               "version": version, "deployment": deployment}))
    os.replace(tmp, _state_path(name))
    return process.pid, port


def stop(name: str, only_pid: int = 0) -> bool:
    """Terminate instance ``name`` (its source dir and venv are kept); False if none ran."""
    state = read_state(name)
    _state_path(name).unlink(missing_ok=True)
    if not state or (only_pid and int(state["pid"]) != only_pid):
        return False
    pid = int(state["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True

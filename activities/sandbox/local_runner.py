"""The fallback sandbox when no Docker engine answers: a subprocess with rlimits, weaker.

As root it runs in its own network namespace (only ``lo``, down), pid namespace (every process
ends with the run) and mount namespace (the root is read-only, only the stage dir writable),
as uid 65534 with rlimits (CPU seconds, address space, processes, file size, open files) and a
wall-clock timeout. It shares the host's kernel, sees the host's files (read-only) and other
writable mounts such as /dev/shm, and RLIMIT_NPROC counts every process of uid 65534 on the
host. Without root it has only the rlimits and the timeout. Its report says so.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import signal
import site
import subprocess
import sys
import time
import uuid
from pathlib import Path

from activities.sandbox.reports import build_report
from activities.sandbox.staging import stage
from models.sandbox import Limits, SandboxReport, SandboxRequest

log = logging.getLogger(__name__)

NOBODY = 65534
CGROUP_V1 = Path("/sys/fs/cgroup")
MB = 1024 * 1024
# mount(2) with MS_REMOUNT|MS_BIND|MS_RDONLY changes only this namespace's mount of /, never the
# filesystem itself; the stage dir is bound onto itself first so that it stays writable.
READ_ONLY_ROOT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro / && exec "$@"'


@functools.lru_cache(maxsize=1)
def nobody_interpreter() -> tuple[str, dict[str, str]] | None:
    """(interpreter, extra environment) uid 65534 can run with pytest importable, or None.

    This interpreter first; when uid 65534 cannot reach it (one under /root, say), the
    system's interpreter of the same version with this environment's site-packages on
    ``PYTHONPATH`` (readable by everyone, as the runner sees the host's files anyway)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    packages = os.pathsep.join(p for p in site.getsitepackages() if Path(p).is_dir())
    candidates = [(sys.executable, {})] + [
        (path, {"PYTHONPATH": packages}) for path in dict.fromkeys(
            [f"/usr/bin/{version}", f"/usr/local/bin/{version}", shutil.which(version) or ""])
        if path and Path(path).exists()]
    child = "import pytest, pytest_cov"
    for interpreter, extra in candidates:
        script = ("import subprocess, sys; "
                  f"subprocess.run([sys.executable, '-c', {child!r}], check=True)")
        probe = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                 interpreter, "-c", script]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **extra}
        if subprocess.run(probe, capture_output=True, timeout=60, check=False, cwd="/",
                          env=env).returncode == 0:
            return interpreter, extra
    return None


def can_drop_to_nobody() -> bool:
    """True when root can run the tests as uid 65534 (see ``nobody_interpreter``)."""
    return nobody_interpreter() is not None


@functools.lru_cache(maxsize=1)
def has_namespaces() -> bool:
    """True when ``unshare`` can make network, pid and mount namespaces here."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "true"]
    return subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0


def make_cgroups(limits: Limits) -> list[Path]:
    """As root: new pids and memory cgroups (v1 controllers, or v2) holding the run's limits.

    Returns the cgroup dirs made (empty when none could be); the caller removes them."""
    if os.geteuid() != 0:
        return []
    name = f"ccb-sandbox-{uuid.uuid4().hex[:12]}"
    v2 = Path("/sys/fs/cgroup")
    settings = {
        CGROUP_V1 / "pids": {"pids.max": str(limits.pids)},
        CGROUP_V1 / "memory": {"memory.limit_in_bytes": str(limits.memory_mb * MB)},
    }
    if not (CGROUP_V1 / "pids" / "cgroup.procs").exists():
        controllers = (v2 / "cgroup.subtree_control").read_text() if (
            v2 / "cgroup.subtree_control").exists() else ""
        settings = {v2: {key: value for key, value in (
            ("pids.max", str(limits.pids)), ("memory.max", str(limits.memory_mb * MB)),
            ("memory.swap.max", "0")) if key.split(".")[0] in controllers}}
    made: list[Path] = []
    for parent, values in settings.items():
        try:
            group = parent / name
            group.mkdir()
            made.append(group)
            for key, value in values.items():
                (group / key).write_text(value)
        except OSError as exc:
            log.warning("local sandbox: cgroup %s not usable (%s)", parent, exc)
    return made


def remove_cgroups(groups: list[Path]) -> None:
    """Removes the run's cgroups (empty by now: the run's processes have ended)."""
    for group in groups:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)  # the last processes are still being reaped


def cgroup_counters(groups: list[Path]) -> tuple[int, int]:
    """(forks refused by the pids limit, OOM kills) in the run's cgroups."""
    refused = oom = 0
    for group in groups:
        for file, key in (("pids.events", "max"), ("memory.oom_control", "oom_kill"),
                          ("memory.events", "oom_kill")):
            with contextlib.suppress(OSError, ValueError):
                for line in (group / file).read_text().splitlines():
                    name, _, value = line.partition(" ")
                    if name == key and key == "max":
                        refused += int(value)
                    elif name == key:
                        oom += int(value)
    return refused, oom


def isolation_text(namespaces: bool, nobody: bool, cgroups: bool) -> str:
    """The report's plain statement of what this runner does not isolate."""
    weak = ["no container: shares the host kernel", "no CPU share limit (only RLIMIT_CPU "
            "seconds)"]
    if not cgroups:
        weak += ["memory bounded per process (RLIMIT_AS), not per run"]
    if namespaces:
        weak += ["sees the host's files read-only; /dev/shm and other tmpfs mounts stay writable"]
    else:
        weak += ["NO network isolation", "NO filesystem isolation (can write where its user can)",
                 "background processes may outlive the run"]
    if nobody and not cgroups:
        weak += ["process limit (RLIMIT_NPROC) counts all of uid 65534's host processes"]
    if not nobody:
        weak += [f"runs as the worker's own user (uid {os.geteuid()})" + (
            "" if cgroups or os.geteuid() != 0 else ", and RLIMIT_NPROC does not bind root")]
    return "local (weaker: " + "; ".join(weak) + ")"


def _rlimits(limits: Limits) -> list[str]:
    cpu = int(limits.timeout_seconds) + 5
    return ["prlimit", f"--cpu={cpu}", f"--as={limits.memory_mb * MB}",
            f"--nproc={limits.pids}", f"--fsize={limits.work_mb * MB}", "--nofile=1024",
            "--core=0", "--"]


def _command(request: SandboxRequest, stage_dir: Path, namespaces: bool,
             nobody: bool, cgroups: list[Path]) -> list[str]:
    packages = ["--package", request.package] if request.package else []
    interpreter = (nobody_interpreter() or (sys.executable, {}))[0] if nobody else sys.executable
    driver = [interpreter, str(stage_dir / "driver.py"), "--input", str(stage_dir / "input"),
              "--work", str(stage_dir / "work"), "--reports", str(stage_dir / "reports"),
              *packages, "--", *request.pytest_args]
    if nobody:
        driver = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                  "--no-new-privs", *driver]
    cmd = [*_rlimits(request.limits), *driver]
    if namespaces:
        cmd = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
               "sh", "-c", READ_ONLY_ROOT, str(stage_dir), *cmd]
    if cgroups:  # the shell joins the cgroups, then becomes the command: all children follow
        joins = " && ".join(f'echo $$ > "{g}/cgroup.procs"' for g in cgroups)
        cmd = ["sh", "-c", f'{joins} && exec "$@"', "sandbox", *cmd]
    return cmd


ROOT_REFUSED = ("the weaker local runner would run the generated code as root (uid 0 cannot "
                "drop to uid 65534 here: setpriv is missing, or that user cannot run this "
                "Python): start a Docker engine (scripts/ensure-docker.sh) instead")


def run_tests_locally(request: SandboxRequest) -> SandboxReport:
    """Runs the request's tests in the weaker local sandbox; always removes its temp dir.
    Never as root: as root it drops to uid 65534, or refuses (``SandboxUnavailable``)."""
    namespaces, nobody = has_namespaces(), can_drop_to_nobody()
    if os.geteuid() == 0 and not nobody:
        from activities.sandbox import SandboxUnavailable

        raise SandboxUnavailable(ROOT_REFUSED)
    stage_dir = stage(request)
    cgroups = make_cgroups(request.limits)
    try:
        for name in ("work", "reports", "tmp"):
            (stage_dir / name).mkdir(mode=0o700)
            if nobody:
                os.chown(stage_dir / name, NOBODY, NOBODY)
        extra = (nobody_interpreter() or ("", {}))[1] if nobody else {}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **extra,
               "HOME": str(stage_dir / "tmp"), "TMPDIR": str(stage_dir / "tmp")}
        started = time.monotonic()
        cmd = _command(request, stage_dir, namespaces, nobody, cgroups)
        proc = subprocess.Popen(cmd, env=env,
                                cwd=stage_dir / "work", stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        timed_out = False
        try:
            out, err = proc.communicate(timeout=request.limits.timeout_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            log.info("local sandbox: wall-clock limit reached, killing process group %d",
                     proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers when there is no pid namespace
        refused, oom = cgroup_counters(cgroups)
        hits = (["memory"] if oom else []) + (["pids"] if refused else [])
        return build_report(
            isolation=isolation_text(namespaces, nobody, bool(cgroups)), limits=request.limits,
            output=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"),
            duration=time.monotonic() - started, timed_out=timed_out, extra_hits=hits)
    finally:
        remove_cgroups(cgroups)
        shutil.rmtree(stage_dir, ignore_errors=True)

"""The program that runs INSIDE the sandbox (a container, or the local fallback's subprocess).

Standard library only, run by the sandbox's own Python: copies the integration's files into the
work dir, runs pytest with JUnit XML and coverage JSON reports, forwards pytest's output, then
prints one framed line ``@@CCB-SANDBOX-REPORT@@ <base64 JSON>`` that the host reads.
Parsing the (untrusted) XML here keeps it out of the host process.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import cast

FRAME_MARKER = "@@CCB-SANDBOX-REPORT@@ "
FORWARD_LIMIT = 2_000_000  # bytes of pytest output forwarded to the log
TAIL_BYTES = 16_000
MAX_FAILURES = 50
MESSAGE_CHARS = 2_000
DRAIN_SECONDS = 2.0  # reading pytest's output after it ended
DEADLINE_STATUS = 124  # as timeout(1): pytest was killed at the sandbox's own deadline


def detect_packages(work: Path) -> list[str]:
    """Top-level packages (or modules) of the integration that are not tests."""
    roots = [work / "src", work] if (work / "src").is_dir() else [work]
    found: list[str] = []
    for root in roots:
        for entry in sorted(root.iterdir()):
            name = entry.name
            if name.startswith(("test", ".")) or name in {"conftest.py", "setup.py", "src"}:
                continue
            if entry.is_dir() and (entry / "__init__.py").exists():
                found.append(name)
            elif entry.suffix == ".py" and entry.is_file():
                found.append(entry.stem)
    return found


def copy_files(source: Path, dest: Path) -> None:
    """Copies the files under ``source`` into ``dest`` (contents only: no modes, no links)."""
    for path in sorted(source.rglob("*")):
        target = dest / path.relative_to(source)
        if path.is_dir() and not path.is_symlink():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file() and not path.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def run_pytest(cmd: list[str], work: Path, env: dict[str, str],
               deadline: float | None = None) -> tuple[int, str]:
    """Runs pytest, forwarding its output; returns its exit status and the output's tail.

    Processes the tests left behind may hold the pipe open, so reading stops shortly after
    pytest itself has ended rather than at end-of-file. At ``deadline`` seconds pytest is
    killed and the status is ``DEADLINE_STATUS``: the sandbox ends itself even when nobody
    is left outside to kill it (a worker killed mid-run)."""
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    pipe = cast(io.BufferedReader, proc.stdout)  # a pipe opened in binary mode
    tail = [b""]
    forwarded = [0]

    def forward() -> None:
        while chunk := pipe.read1(65536):
            tail[0] = (tail[0] + chunk)[-TAIL_BYTES:]
            if forwarded[0] < FORWARD_LIMIT:
                sys.stdout.buffer.write(chunk[: FORWARD_LIMIT - forwarded[0]])
                sys.stdout.buffer.flush()
                forwarded[0] += len(chunk)

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    try:
        status = proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        status = DEADLINE_STATUS
    reader.join(timeout=DRAIN_SECONDS)
    return status, tail[0].decode("utf-8", "replace")


def summarize_junit(path: Path) -> dict[str, object] | None:
    """Counts and failed tests from pytest's JUnit XML; None when there is none."""
    if not path.exists():
        return None
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - our own pytest's file, in the sandbox
    except ET.ParseError as exc:
        return {"parse_error": str(exc)}
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    counts = {key: sum(int(s.get(key, 0) or 0) for s in suites)
              for key in ("tests", "failures", "errors", "skipped")}
    failed: list[dict[str, str]] = []
    for case in root.iter("testcase"):
        for kind in ("failure", "error"):
            node = case.find(kind)
            if node is None or len(failed) >= MAX_FAILURES:
                continue
            name = "::".join(p for p in (case.get("classname", ""), case.get("name", "")) if p)
            failed.append({"name": name[:300], "kind": kind,
                           "message": (node.get("message") or "")[:MESSAGE_CHARS],
                           "details": (node.text or "")[-MESSAGE_CHARS:]})
    return {**counts, "failed_tests": failed}


def coverage_percent(path: Path) -> float | None:
    """The total line coverage from coverage's JSON report."""
    try:
        return float(json.loads(path.read_text())["totals"]["percent_covered"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_counter(path: str, key: str) -> int | None:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def cgroup_stats() -> dict[str, int | None]:
    """How often this cgroup refused a fork (pids limit) and OOM-killed a process."""
    pids = _read_counter("/sys/fs/cgroup/pids/pids.events", "max")
    if pids is None:
        pids = _read_counter("/sys/fs/cgroup/pids.events", "max")
    oom = _read_counter("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill")
    if oom is None:
        oom = _read_counter("/sys/fs/cgroup/memory.events", "oom_kill")
    return {"pids_refused": pids, "oom_kills": oom}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--reports", type=Path, required=True)
    parser.add_argument("--package", action="append", default=[])
    parser.add_argument("--cgroup-stats", action="store_true")
    parser.add_argument("--deadline-seconds", type=float, default=None)
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args(argv)

    copy_files(args.input, args.work)
    args.reports.mkdir(parents=True, exist_ok=True)
    packages = args.package or detect_packages(args.work)
    cov = [f"--cov={p}" for p in packages] or ["--cov=."]
    junit, cov_json = args.reports / "junit.xml", args.reports / "coverage.json"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           f"--junitxml={junit}", *cov, f"--cov-report=json:{cov_json}", "--cov-report=term",
           *args.pytest_args]
    paths = [str(args.work / "src"), str(args.work)] if (args.work / "src").is_dir() else [
        str(args.work)]
    # the weaker local runner may start this driver on a system interpreter with the bot's
    # site-packages on PYTHONPATH (for pytest); keep them after the code's own paths
    paths += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    tmp = tempfile.gettempdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", tmp),
           "LANG": "C.UTF-8", "PYTHONPATH": os.pathsep.join(paths),
           "PYTHONDONTWRITEBYTECODE": "1", "COVERAGE_FILE": str(args.reports / ".coverage"),
           "TMPDIR": tmp}
    status, tail = run_pytest(cmd, args.work, env, args.deadline_seconds)
    result = {"exit_code": status, "packages": packages, "junit": summarize_junit(junit),
              "coverage_percent": coverage_percent(cov_json), "output_tail": tail,
              "cgroup": cgroup_stats() if args.cgroup_stats else None}
    frame = base64.b64encode(json.dumps(result).encode()).decode()
    sys.stdout.write(f"\n{FRAME_MARKER}{frame}\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

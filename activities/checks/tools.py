"""ruff, mypy and bandit on a directory of generated files, as subprocesses (JSON output).

The tools read the files; none of them imports, runs or takes configuration from the checked
tree, which is untrusted (model output, or the files of a person's pull request):

- each runs with its working directory in a fresh empty folder outside the tree, and the
  Python tools in isolated mode (``python -I``: neither the working directory nor
  ``PYTHONPATH`` is on ``sys.path``, no user site), so a file in the tree named ``mypy.py``,
  ``sitecustomize.py`` or a ``*.pth`` can never be imported by the tool;
- each gets its configuration explicitly and empty (``ruff --isolated``, ``mypy
  --config-file`` an empty file, ``bandit --ini`` an empty file), so ``mypy.ini``,
  ``setup.cfg``, ``pyproject.toml`` or ``.bandit`` in the tree (and their plugins) are never
  read; ``HOME`` is that empty folder too, so no user configuration is found either;
- targets are absolute paths; the environment is a small fixed one (no secrets).

Findings are mapped back to repository-relative paths. The layout rules also refuse files
that exist only to hook an interpreter's start (``activities/checks/layout.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from models.codegen import Finding

RUFF_RULES = "E,F,W,B,BLE,ASYNC"  # pyflakes, pycodestyle, bugbear, blind except, async
BANDIT_SKIPS = "B101"  # assert: tests are made of them
MYPY_CACHE = Path(tempfile.gettempdir()) / "ccb-checks" / "mypy-cache"  # shared, warm
_STYLE_PREFIXES = ("W", "E501")  # style only: reported as warnings

ToolRun = Callable[[Path, str, float], list[Finding]]


def _tool_env(home: Path) -> dict[str, str]:
    return {"PATH": os.defpath, "HOME": str(home), "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1"}


@contextmanager
def _outside() -> Iterator[Path]:
    """A fresh empty folder outside every checked tree: the tools' working directory and
    home, where their explicit empty configuration files live."""
    with tempfile.TemporaryDirectory(prefix="ccb-tool-") as tmp:
        place = Path(tmp)
        (place / "empty.ini").write_text("", encoding="utf-8")
        (place / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
        yield place


def _python_tool(module: str) -> list[str]:
    """``python -I -m <module>``: the tree is never on ``sys.path``."""
    return [sys.executable, "-I", "-m", module]


def _run(tool: str, argv: list[str], cwd: Path, timeout: float) -> tuple[str, list[Finding]]:
    """The tool's stdout, or a finding saying why it could not run. ``cwd`` is outside the
    checked tree (``_outside``)."""
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              env=_tool_env(cwd), check=False)
    except FileNotFoundError:
        return "", [Finding(tool=tool, code="tool-missing", message=(
            f"{tool} is not installed in this environment: install the dev extras"))]
    except subprocess.TimeoutExpired:
        return "", [Finding(tool=tool, code="tool-timeout", message=(
            f"{tool} did not finish within {timeout:g} s; the code is too large or too odd"))]
    if done.returncode not in (0, 1) and not done.stdout.strip():
        return "", [Finding(tool=tool, code="tool-failed", message=(
            f"{tool} failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"))]
    return done.stdout, []


def _relative(file: str, work: Path) -> str:
    path = Path(file)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(work.resolve()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _mypy_path(file: str, root: Path, slug: str) -> str:
    """The repository path of a file mypy names. Its shared cache can name the copy of an
    identical module an earlier check ran on (another temp dir): the part after
    ``integrations/<slug>/`` is the same file."""
    relative = _relative(file, root)
    if Path(relative).is_absolute() and (copy := _COPY_TAIL.search(relative)):
        relative = copy[1]
    return f"integrations/{slug}/{relative}"


_COPY_TAIL = re.compile(r"/integrations/[^/]+/(.+)$")


def run_ruff(work: Path, slug: str, timeout: float) -> list[Finding]:
    """``ruff check`` with the project's rule families, ignoring any config in the files."""
    candidate = Path(sys.executable).parent / "ruff"
    ruff = str(candidate) if candidate.exists() else shutil.which("ruff") or "ruff"
    with _outside() as place:
        out, failed = _run("ruff", [
            ruff, "check", "--isolated", "--no-cache", "--output-format", "json",
            "--exit-zero", "--target-version", "py311", "--line-length", "100", "--select",
            RUFF_RULES, str((work / "integrations" / slug).resolve())], place, timeout)
    if failed:
        return failed
    findings = []
    for item in json.loads(out or "[]"):
        code = item.get("code") or "syntax"
        findings.append(Finding(
            tool="ruff", path=_relative(item["filename"], work),
            line=(item.get("location") or {}).get("row"), code=code, message=item["message"],
            severity="warning" if code.startswith(_STYLE_PREFIXES) else "error"))
    return findings


def run_mypy(work: Path, slug: str, timeout: float) -> list[Finding]:
    """``mypy`` on the integration's packages (tests excluded), missing imports ignored."""
    root = work / "integrations" / slug
    root = root.resolve()
    targets = sorted(
        [str(p) for p in root.iterdir()
         if p.is_dir() and p.name != "tests" and (p / "__init__.py").exists()]
        + [str(p) for p in root.glob("*.py")])
    if not targets:
        return []
    MYPY_CACHE.mkdir(parents=True, exist_ok=True)
    with _outside() as place:
        out, failed = _run("mypy", [
            *_python_tool("mypy"), "--config-file", str(place / "mypy.ini"),
            "--ignore-missing-imports", "--no-error-summary", "--hide-error-context",
            "--no-color-output", "--python-version", "3.11", "--output", "json",
            "--cache-dir", str(MYPY_CACHE), *targets], place, timeout)
    if failed:
        return failed
    findings = []
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        item = json.loads(line)
        if item.get("severity") != "error":
            continue
        findings.append(Finding(
            tool="mypy", path=_mypy_path(item["file"], root, slug),
            line=item.get("line"), code=item.get("code") or "mypy", message=item["message"]))
    return findings


def run_bandit(work: Path, slug: str, timeout: float) -> list[Finding]:
    """``bandit`` security scan; HIGH and MEDIUM severity block, LOW is a warning."""
    with _outside() as place:
        out, failed = _run("bandit", [
            *_python_tool("bandit"), "--ini", str(place / "empty.ini"), "-r", "-q", "-f",
            "json", "--exit-zero", "-s", BANDIT_SKIPS,
            str((work / "integrations" / slug).resolve())], place, timeout)
    if failed:
        return failed
    findings = []
    for item in json.loads(out or "{}").get("results", []):
        severity = "warning" if item.get("issue_severity") == "LOW" else "error"
        findings.append(Finding(
            tool="bandit", path=_relative(item["filename"], work), line=item.get("line_number"),
            code=item.get("test_id", "bandit"), severity=severity,
            message=f"{item.get('issue_text', '')} ({item.get('issue_severity')}, "
                    f"confidence {item.get('issue_confidence')})"))
    return findings


TOOLS: dict[str, ToolRun] = {"ruff": run_ruff, "mypy": run_mypy, "bandit": run_bandit}

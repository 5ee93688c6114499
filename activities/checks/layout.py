"""Where generated files may go and how big they may be; the Dockerfile and manifest rules.

Nothing here touches the disk: these rules decide which files are written for the tools.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import PurePosixPath

from pydantic import BaseModel, ValidationError

from models.codegen import Finding
from models.manifest import IntegrationManifest
from rules.credentials import problem_with

BASE_IMAGE = "ccb-base:latest"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
_ROOT_USERS = frozenset({"root", "0"})
# Files whose only use is to hook an interpreter's start or to configure the bot's checkers
# (a plugin setting is code the checker would load). The checks run so that they are never
# read (activities/checks/tools.py); they are refused as well, so that no tool added later
# and no reader of the tree trips on them.
_STARTUP_HOOKS = frozenset({"sitecustomize.py", "usercustomize.py"})
_TOOL_CONFIGS = frozenset({"mypy.ini", "setup.cfg", "ruff.toml", "bandit.yaml", "bandit.yml"})


class CheckLimits(BaseModel):
    """Bounds on what a generation may write (defaults fit a generated integration easily)."""

    max_file_bytes: int = 256_000
    max_total_bytes: int = 2_000_000
    max_files: int = 200
    max_path_chars: int = 200
    base_image: str = BASE_IMAGE
    tool_timeout_seconds: float = 120.0


def _policy(path: str, code: str, message: str, line: int | None = None) -> Finding:
    return Finding(tool="policy", path=path, line=line, code=code, message=message)


def path_problem(path: str, slug: str, limits: CheckLimits) -> Finding | None:
    """Why ``path`` may not be written (None: it may). Paths are repository-relative."""
    root = f"integrations/{slug}/"
    shown = path if len(path) <= limits.max_path_chars else path[: limits.max_path_chars] + "..."
    if len(path) > limits.max_path_chars:
        return _policy(shown, "path-too-long",
                       f"path longer than {limits.max_path_chars} characters; use a shorter one")
    if "\\" in path or any(not char.isprintable() for char in path):
        return _policy(shown, "bad-path", "backslashes and control characters are not allowed "
                                          "in paths; use plain '/'-separated names")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return _policy(shown, "absolute-path", f"absolute path: write files under {root}")
    parts = path.split("/")
    if ".." in parts or "." in parts or "" in parts:
        return _policy(shown, "parent-dir", "'..', '.' and empty path segments are not "
                                            f"allowed; write plain paths under {root}")
    if not path.startswith(root) or len(parts) < 3:
        return _policy(shown, "outside-integration",
                       f"file outside the integration: only files under {root} may be written")
    for part in parts[2:]:
        if part.startswith("."):
            return _policy(shown, "hidden-path", f"hidden file or directory {part!r} "
                                                 "(like .github or .env) is not allowed")
        if not _NAME.match(part) or part.endswith((".lnk", "~")):
            return _policy(shown, "bad-name", f"name {part!r} is not allowed: use letters, "
                                              "digits, '_', '-' and '.' only (no links)")
    name = parts[-1]
    if name in _STARTUP_HOOKS or name.endswith(".pth"):
        return _policy(shown, "startup-hook", f"{name} would run as code when a Python "
                       "interpreter starts near it; an integration has no use for one: remove "
                       "it (put start-up code in the package itself)")
    if name in _TOOL_CONFIGS:
        return _policy(shown, "tool-config", f"{name} configures the bot's code checkers (a "
                       "plugin setting there is code they would load); the checks use their "
                       "own settings, so remove it (project metadata goes in pyproject.toml)")
    return None


def layout_findings(files: dict[str, str], slug: str,
                    limits: CheckLimits) -> tuple[list[Finding], set[str]]:
    """Path, size and count findings, and the set of paths that are safe to write."""
    findings: list[Finding] = []
    writable: set[str] = set()
    total = 0
    if len(files) > limits.max_files:
        findings.append(Finding(tool="size", code="too-many-files", message=(
            f"{len(files)} files; at most {limits.max_files} are allowed")))
    for path, content in sorted(files.items()):
        problem = path_problem(path, slug, limits)
        if problem:
            findings.append(problem)
            continue
        size = len(content.encode("utf-8", errors="surrogatepass"))
        total += size
        if size > limits.max_file_bytes:
            findings.append(Finding(tool="size", path=path, code="file-too-large", message=(
                f"{size} bytes; at most {limits.max_file_bytes} per file: split it or drop "
                "generated data")))
            continue
        writable.add(path)
    if total > limits.max_total_bytes:
        findings.append(Finding(tool="size", code="total-too-large", message=(
            f"{total} bytes in all; at most {limits.max_total_bytes} are allowed")))
    for path in sorted(writable):  # "a/b" as a file and "a/b/c" as a file cannot both exist
        parents = {str(parent) for parent in PurePosixPath(path).parents}
        clash = sorted(parents & writable)
        if clash:
            findings.append(_policy(path, "path-conflict",
                                    f"{clash[0]} is both a file and a directory"))
    return findings, writable


def _instructions(text: str) -> list[tuple[int, str, str]]:
    """(line, INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    result: list[tuple[int, str, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, rest = full.partition(" ")
        result.append((start, word.upper(), rest.strip()))
    return result


def _root_user(args: str) -> str:
    """Why ``USER <args>`` may run as root ("" when it cannot): root by name or uid in any
    spelling (``root``, ``0``, ``00``, ``0:0``), a group 0, or a value only known at build
    time (a variable), which the checks cannot prove is not root."""
    try:
        words = shlex.split(args)
    except ValueError:
        return "cannot be read"
    user, _, group = (words[0] if words else "").partition(":")
    if not user:
        return "names no user (the container would run as root)"
    if "$" in user or "$" in group:
        return "uses a variable: the checks cannot tell that it is not root"
    for part, what in ((user, "user"), (group, "group")):
        if part.lower() in _ROOT_USERS or (part.isdigit() and int(part) == 0):
            return f"runs as root (the {what} {part!r} is root)"
    return ""


def dockerfile_findings(files: dict[str, str], slug: str, limits: CheckLimits) -> list[Finding]:
    """The Dockerfile builds FROM the project's base image and runs as a non-root user."""
    path = f"integrations/{slug}/Dockerfile"
    if path not in files:
        return [_policy(path, "dockerfile-missing", "no Dockerfile: the integration needs one "
                        f"to build its image (FROM {limits.base_image}, non-root USER)")]
    findings: list[Finding] = []
    stages: set[str] = set()
    last_user: tuple[int, str] | None = None
    froms = 0
    base_repo = limits.base_image.split(":")[0]
    for line, word, args in _instructions(files[path]):
        if word == "FROM":
            froms += 1
            parts = [p for p in args.split() if not p.startswith("--")]
            image = parts[0] if parts else ""
            if image not in stages and image.split(":")[0] != base_repo:
                findings.append(_policy(path, "dockerfile-base", (
                    f"FROM {image or '(nothing)'}: images must build FROM the project's base "
                    f"image {limits.base_image} (offline, with the dependencies preinstalled)"),
                    line))
            if len(parts) >= 3 and parts[1].lower() == "as":
                stages.add(parts[2])
        elif word == "USER":
            last_user = (line, args)
        elif word in ("COPY", "ADD"):
            source = next((a.split("=", 1)[1] for a in args.split()
                           if a.lower().startswith("--from=")), None)
            earlier_stage = source is not None and source.isdigit() and int(source) < froms - 1
            if source is not None and source not in stages and not earlier_stage:
                findings.append(_policy(path, "dockerfile-copy-from", (
                    f"{word} --from={source}: files may come only from a stage of this "
                    "Dockerfile (FROM ... AS <name>), never from another image"), line))
        elif word == "ADD" and re.search(r"\b(?:https?|ftp)://", args):
            findings.append(_policy(path, "dockerfile-remote", "ADD from a URL downloads at "
                                    "build time; COPY files from the repository instead", line))
    if froms == 0:
        findings.append(_policy(path, "dockerfile-base",
                                f"no FROM instruction: start with FROM {limits.base_image}", 1))
    if last_user is None:
        findings.append(_policy(path, "dockerfile-root", "no USER instruction: the container "
                                "would run as root; add USER 65534 (or another non-root user)"))
    else:
        problem = _root_user(last_user[1])
        if problem:
            findings.append(_policy(path, "dockerfile-root", f"USER {last_user[1]} {problem}; "
                                    "use a fixed non-root user such as 65534", last_user[0]))
    return findings


def manifest_findings(files: dict[str, str], slug: str) -> list[Finding]:
    """``manifest.json`` exists and is an IntegrationManifest for this slug."""
    path = f"integrations/{slug}/manifest.json"
    if path not in files:
        return [_policy(path, "manifest-missing", "no manifest.json: write the integration's "
                        "manifest (name, slug, version, capabilities, health check)")]
    try:
        data = json.loads(files[path])
        manifest = IntegrationManifest.model_validate(data)
    except ValueError as exc:  # JSONDecodeError and ValidationError are both ValueErrors
        if isinstance(exc, ValidationError):
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_input=False, include_url=False))
        else:
            detail = str(exc)
        return [_policy(path, "manifest-invalid", f"manifest.json is not valid: {detail}")]
    if manifest.slug != slug:
        return [_policy(path, "manifest-invalid",
                        f"manifest slug {manifest.slug!r} is not {slug!r}")]
    return credential_findings(path, data)


def credential_findings(path: str, data: dict[str, object]) -> list[Finding]:
    """Every name the (parsed) manifest's ``configuration.environment`` gives the service
    must be the integration's own: never one of the bot's (``rules.credentials``)."""
    configuration = data.get("configuration")
    names = configuration.get("environment", {}) if isinstance(configuration, dict) else {}
    if not isinstance(names, dict):
        return [_policy(path, "manifest-invalid", "configuration.environment must map each "
                        "setting to an environment-variable name")]
    return [_policy(path, "bot-credential", problem)
            for name in sorted({str(n) for n in names.values()})
            if (problem := problem_with(name))]

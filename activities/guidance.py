"""The repository's guidance, read from the base branch (``models/guidance.py``).

AGENTS.md, CONTRIBUTING.md and the pull-request template, and a short summary of how the
existing ``integrations/*`` are laid out, all read at one commit: the head of the base
branch, never a pull request's head. A read: safe to repeat. Missing files are fine (the
guidance is empty); every text is cleaned as untrusted and cut to its bound with a note.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from github import GithubException
from github.Repository import Repository
from temporalio import activity

from activities.github_client import repository
from activities.github_errors import github_activity
from activities.github_git import branch_head
from models.guidance import (
    MAX_CONVENTIONS_CHARS,
    MAX_FILE_CHARS,
    MAX_TOTAL_CHARS,
    GuidanceQuery,
    RepositoryGuidance,
)
from rules.untrusted_text import clean_untrusted

GUIDANCE_FILES = ("AGENTS.md", "CONTRIBUTING.md", ".github/CONTRIBUTING.md")
# Where GitHub looks for the one pull-request template, in its order.
TEMPLATE_FILES = (".github/pull_request_template.md", ".github/PULL_REQUEST_TEMPLATE.md",
                  "pull_request_template.md", "docs/pull_request_template.md")
MAX_INTEGRATIONS = 20  # named in the conventions
MAX_MANIFESTS = 5  # read for their keys


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying so (the model must not think it whole)."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... cut: {len(text)} characters, the first {limit} shown]"


def _read(repo: Repository, path: str, sha: str) -> str | None:
    """The text of ``path`` at ``sha``; None when there is no such file."""
    try:
        found = repo.get_contents(path, ref=sha)
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise
    if isinstance(found, list):  # a directory of that name
        return None
    return found.decoded_content.decode("utf-8", "replace")


def conventions(repo: Repository, sha: str) -> str:
    """How the existing integrations look: slugs, package folders, test files and manifest
    keys, short and computed (no file's text but the manifests' key names)."""
    try:
        tree = repo.get_git_tree(sha, recursive=True).tree
    except GithubException as exc:
        if exc.status == 404:
            return ""
        raise
    layout: dict[str, list[str]] = {}
    for entry in tree:
        parts = entry.path.split("/")
        if entry.type == "blob" and len(parts) >= 3 and parts[0] == "integrations":
            layout.setdefault(parts[1], []).append("/".join(parts[2:]))
    lines = []
    for index, (slug, paths) in enumerate(sorted(layout.items())[:MAX_INTEGRATIONS]):
        packages = sorted({p.split("/")[0] + "/" for p in paths
                           if "/" in p and not p.startswith("tests/")})
        tests = sorted(p for p in paths if p.startswith("tests/") and p.endswith(".py"))
        line = (f"- {slug}: packages {', '.join(packages) or '-'}; tests "
                f"{', '.join(tests[:6]) or '-'}; top-level files "
                f"{', '.join(sorted(p for p in paths if '/' not in p)) or '-'}")
        if index < MAX_MANIFESTS and "manifest.json" in paths:
            line += f"; manifest keys {_manifest_keys(repo, slug, sha)}"
        lines.append(line)
    if not lines:
        return ""
    head = f"{len(layout)} integrations under integrations/ on the base branch:"
    return bounded(clean_untrusted("\n".join([head, *lines])), MAX_CONVENTIONS_CHARS)


def _manifest_keys(repo: Repository, slug: str, sha: str) -> str:
    text = _read(repo, f"integrations/{slug}/manifest.json", sha) or ""
    try:
        data = json.loads(text)
    except ValueError:
        return "(not JSON)"
    return ", ".join(sorted(data)[:30]) if isinstance(data, dict) else "(not an object)"


@activity.defn
@github_activity("guidance at {ref} in {repo}")
def read_repository_guidance(query: GuidanceQuery) -> RepositoryGuidance:
    """The guidance at the head of the base branch ``query.ref`` (empty without the branch)."""
    repo = repository(query.repo)
    sha = branch_head(repo, query.ref)
    if sha is None:
        return RepositoryGuidance(ref=query.ref)
    files: dict[str, str] = {}
    left = MAX_TOTAL_CHARS
    template = ""
    for path in (*GUIDANCE_FILES, *TEMPLATE_FILES):
        is_template = path in TEMPLATE_FILES
        if is_template and template:
            continue  # GitHub uses the first one found
        raw = _read(repo, path, sha)
        if raw is None or not raw.strip():
            continue
        text = bounded(clean_untrusted(raw), MAX_FILE_CHARS)
        if is_template:
            template = text
        if left > 0:
            files[path] = bounded(text, left)
            left -= len(files[path])
    guidance = RepositoryGuidance(ref=query.ref, sha=sha, files=files,
                                  conventions=conventions(repo, sha), pr_template=template)
    activity.logger.info("guidance of %s at %s (%s): %s; conventions %d characters",
                         query.repo, query.ref, sha[:7], sorted(files) or "no files",
                         len(guidance.conventions))
    return guidance


GUIDANCE_ACTIVITIES: list[Callable[..., Any]] = [read_repository_guidance]

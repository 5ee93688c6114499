"""The offline reviewer: rules over the files (timeouts, silent excepts, docstrings) and the
automated findings, as inline comments; approves only when nothing is left to say."""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

from activities.codegen.offline.text import one_line
from models.codegen import Backend, Finding, InlineReviewComment, ReviewInput, ReviewResult

MAX_REVIEW_COMMENTS = 50
_HTTP_CALLS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request",
                         "stream", "Client", "AsyncClient"})


def _line_count(text: str) -> int:
    return max(1, text.count("\n") + (0 if text.endswith("\n") else 1))


def _python_comments(path: str, text: str) -> list[InlineReviewComment]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []  # the checks report syntax errors; there is nothing to review here
    found: list[InlineReviewComment] = []
    is_test = "/tests/" in path or PurePosixPath(path).name.startswith("test_")
    if not ast.get_docstring(tree) and not is_test:
        found.append(InlineReviewComment(path=path, line=1, body=(
            "Missing module docstring: say what this module holds.")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (isinstance(owner, ast.Name) and owner.id in {"httpx", "requests"}
                    and node.func.attr in _HTTP_CALLS
                    and not any(k.arg == "timeout" for k in node.keywords)):
                found.append(InlineReviewComment(path=path, line=node.lineno, body=(
                    f"`{owner.id}.{node.func.attr}` without `timeout=`: a slow API would hang "
                    "the caller. Pass an explicit timeout.")))
        elif isinstance(node, ast.ExceptHandler):
            broad = node.type is None or (isinstance(node.type, ast.Name)
                                          and node.type.id in {"Exception", "BaseException"})
            silent = all(isinstance(s, ast.Pass) for s in node.body)
            if node.type is None or (broad and silent):
                found.append(InlineReviewComment(path=path, line=node.lineno, body=(
                    "Bare or silent broad `except`: it hides real errors. Catch the specific "
                    "exceptions and handle or re-raise them.")))
    if not is_test:
        for node in tree.body:
            members = node.body if isinstance(node, ast.ClassDef) else []
            for item in [node, *members]:
                if (isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                        and not item.name.startswith("_") and not ast.get_docstring(item)):
                    found.append(InlineReviewComment(path=path, line=item.lineno, body=(
                        f"`{item.name}` is public but has no docstring: say what it does.")))
    return found


def review(inp: ReviewInput) -> ReviewResult:
    """Files + findings -> inline comments by rule (timeouts, excepts, docs, findings)."""
    comments: list[InlineReviewComment] = []
    for path, text in sorted(inp.files.items()):
        if path.endswith(".py"):
            comments += _python_comments(path, text)
    unplaced: list[Finding] = []
    for finding in inp.findings:
        if finding.path in inp.files:
            line = min(max(1, finding.line or 1), _line_count(inp.files[finding.path]))
            comments.append(InlineReviewComment(path=finding.path, line=line, body=(
                f"{finding.tool} {finding.code} ({finding.severity}): "
                f"{one_line(finding.message, 500)}")))
        else:
            unplaced.append(finding)
    readmes = [p for p in inp.files if PurePosixPath(p).name == "README.md"]
    notes: list[str] = []
    if not readmes:
        notes.append("no README.md: the integration has no documentation")
    if not any("/tests/" in p for p in inp.files):
        notes.append("no tests/ directory")
    errors = [f for f in inp.findings if f.severity == "error"]
    comments = sorted(comments, key=lambda c: (c.path, c.line, c.body))[:MAX_REVIEW_COMMENTS]
    approve = not comments and not errors and not notes
    summary = (
        f"Rule-based review of {len(inp.files)} file(s) for {inp.integration}: "
        f"{len(comments)} inline comment(s), {len(errors)} blocking finding(s)"
        + (f", {len(unplaced)} finding(s) without a file" if unplaced else "")
        + ("; " + "; ".join(notes) if notes else "")
        + (". Approved." if approve else ". Changes requested.")
        + " Reviewed by the offline generator's rules; no AI model was used."
    )
    return ReviewResult(summary=summary, comments=comments, approve=approve,
                        backend=Backend.OFFLINE)

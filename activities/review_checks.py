"""Rule checks of a review: docs present, error handling present, the human-review decision.

Pure functions over file contents (no imports of the code under review), wrapped as
activities. Findings carry ``tool="review"`` and a ``code`` naming the rule, so inline
comments can be keyed by path, line and rule.
"""

from __future__ import annotations

import ast

from temporalio import activity

from activities.faults import pause_point
from models.codegen import Finding
from models.review import HumanReviewDecision, HumanReviewInput, RuleInput
from rules.review_rules import INTEGRATIONS_DIR, human_review_decision

_HTTP_FUNCS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request",
                         "stream"})
_HTTP_MODULES = frozenset({"httpx", "requests"})
_HTTP_CLIENTS = frozenset({"Client", "AsyncClient", "Session"})


def _finding(path: str, line: int | None, code: str, message: str,
             severity: str = "error") -> Finding:
    return Finding(tool="review", path=path, line=line, code=code, message=message,
                   severity=severity)


def docs_findings(slug: str, files: dict[str, str]) -> list[Finding]:
    """A README for the integration, and a docstring on every module of its package."""
    root = f"{INTEGRATIONS_DIR}{slug}"
    found: list[Finding] = []
    readme = files.get(f"{root}/README.md", "")
    if len(readme.strip()) < 40:
        found.append(_finding(f"{root}/README.md", None, "docs-readme",
                              "the integration has no README.md (or an empty one): say what "
                              "it does, its settings and how to call it"))
    for path, text in sorted(files.items()):
        if not path.startswith(f"{root}/") or not path.endswith(".py") or "/tests/" in path:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue  # the lint step reports it
        if ast.get_docstring(tree) is None and text.strip():
            found.append(_finding(path, 1, "docs-module",
                                  "the module has no docstring: say what it holds",
                                  severity="warning"))
    return found


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def error_handling_findings(path: str, text: str) -> list[Finding]:
    """No bare ``except:``, and a timeout on every httpx/requests call or client."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            found.append(_finding(path, node.lineno, "bare-except",
                                  "a bare `except:` also catches KeyboardInterrupt and hides "
                                  "bugs: catch the specific errors (or `Exception`)"))
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        module, _, attr = name.rpartition(".")
        http_call = module in _HTTP_MODULES and attr in _HTTP_FUNCS
        http_client = module in _HTTP_MODULES and attr in _HTTP_CLIENTS
        if (http_call or http_client) and not any(k.arg == "timeout" for k in node.keywords):
            has_kwargs = any(k.arg is None for k in node.keywords)
            if not has_kwargs:
                found.append(_finding(path, node.lineno, "http-timeout",
                                      f"`{name}(...)` has no timeout: a stuck server would "
                                      "hang the integration; pass `timeout=`"))
    return found


def rule_findings(slug: str, files: dict[str, str]) -> list[Finding]:
    """Docs and error-handling findings over the integration's files."""
    found = docs_findings(slug, files)
    for path, text in sorted(files.items()):
        if path.startswith(f"{INTEGRATIONS_DIR}{slug}/") and path.endswith(".py"):
            found.extend(error_handling_findings(path, text))
    return found


@activity.defn
def check_review_rules(command: RuleInput) -> list[Finding]:
    """Docs and error-handling rules over an integration's files. Pure: safe to repeat."""
    return rule_findings(command.slug, command.files)


@activity.defn
def decide_human_review(command: HumanReviewInput) -> HumanReviewDecision:
    """The rule-based decision whether a human must review. Pure: safe to repeat."""
    pause_point("review.decide")
    return human_review_decision(command)


REVIEW_CHECK_ACTIVITIES = [check_review_rules, decide_human_review]

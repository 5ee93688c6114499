"""The rule that decides whether a person must review a pull request before it merges."""

from __future__ import annotations

from pathlib import PurePosixPath

from models.review import HumanReviewDecision, HumanReviewInput

INTEGRATIONS_DIR = "integrations/"


def human_review_decision(inp: HumanReviewInput) -> HumanReviewDecision:
    """Whether a human must review, and why (each rule that fired, in words)."""
    reasons: list[str] = []
    if inp.options.new_integration:
        reasons.append("a new integration is always approved by a human")
    if inp.options.breaking:
        reasons.append("the change breaks the public API")
    security = [f for f in inp.findings
                if f.tool in {"bandit", "policy", "security"} and f.severity == "error"]
    if security:
        reasons.append(f"{len(security)} security finding(s)")
    report = inp.report
    if report is None or not (report.passed and report.meets_coverage):
        reasons.append("the tests or the coverage gate failed")
    outside = [p for p in inp.changed_paths
               if not any(p.startswith(f"{INTEGRATIONS_DIR}{s}/") for s in inp.slugs)]
    if outside:
        reasons.append(f"{len(outside)} file(s) outside the integration, e.g. {outside[0]}")
    if inp.changed_lines > inp.options.max_changed_lines:
        reasons.append(f"{inp.changed_lines} changed lines (more than "
                       f"{inp.options.max_changed_lines})")
    return HumanReviewDecision(required=bool(reasons), reasons=reasons)


def integration_slugs(paths: list[str]) -> list[str]:
    """The integrations a set of changed paths touches, in order."""
    slugs = [PurePosixPath(p).parts[1] for p in paths
             if p.startswith(INTEGRATIONS_DIR) and len(PurePosixPath(p).parts) > 2]
    return list(dict.fromkeys(slugs))

"""The text of the bot's pull requests and revert pull requests (pure: no Temporal calls).

Kept apart from the workflows so that each reads as its process; the wording is what the
pull requests have always said.
"""

from __future__ import annotations

from datetime import timedelta

from models.bump import Bump
from models.codegen import Backend, TokenUsage
from models.manifest import TechnicalSpec
from models.request import IntegrationRequest
from models.update import CompatReport
from models.verify import TestReport
from rules import pr_template
from rules.codeowners import LOGIN_NAME
from rules.inert import code_span, inert, inert_plain
from rules.words import span
from workflows.names import issue_marker


def written_by(backend: Backend | None, *, from_fields: bool) -> str:
    if backend == Backend.CLAUDE:
        return "Claude"
    if from_fields:
        return "the offline generator from the request's fields (no AI model was used)"
    return "the offline generator (no AI model was used)"


def creation_body(*, issue: int, request: IntegrationRequest, spec: TechnicalSpec,
                  backend: Backend, findings: int, report: TestReport | None,
                  usage: TokenUsage, workflow_id: str, template: str = "",
                  has_readme: bool = False, plan: str = "") -> str:
    """The bot's pull-request body; in the shape of the repository's pull-request
    ``template`` when it has headings (``rules/pr_template.py``), else the bot's own;
    ``plan`` names the approved plan revision it was written from (plan-first)."""
    head = [f"Closes #{issue}. {issue_marker(issue)}", "",
            f"**{inert(request.service_name)}** ({request.integration_type.value}) at "
            f"{code_span(request.base_url)}, written by {written_by(backend, from_fields=True)}."]
    endpoints = [f"- {code_span(f'{e.method} {e.path}')} {inert(e.description)}"
                 for e in spec.endpoints]
    checks = f"{findings} findings (none blocking)."
    tests = report.summary if report else "-"
    cost = f"{usage.total_tokens} tokens, ${usage.cost_usd:.4f}"
    workflow_line = f"Workflow: `{workflow_id}`"
    filled = pr_template.fill(
        template, head=head[:1], facts=pr_template.Facts(
            tests_pass=bool(report and report.passed and report.meets_coverage),
            checks_pass=True, docs_written=has_readme),  # opened only once checks are clean
        sections={"summary": [*([plan, ""] if plan else []), head[2], "",
                              inert(spec.summary)], "changes": endpoints,
                  "checks": [checks], "tests": [tests], "issue": [f"#{issue}"],
                  "usage": [cost]},
        tail=[workflow_line]) if template else None
    if filled is not None:
        return filled
    lines = [*head[:2], *([plan, ""] if plan else []), head[2], "", "## Spec",
             inert(spec.summary), "", *endpoints, "", "## Checks", checks, "", "## Tests",
             tests, "", "## Usage", cost, "", workflow_line]
    return "\n".join(lines)


def creation_revert(*, issue: int, request: IntegrationRequest, pr_number: int | None,
                    merged_sha: str, paths: list[str], why: str) -> tuple[str, str]:
    """(title, body) of the pull request that removes a new integration's merged files."""
    title = f"Revert {inert_plain(request.service_name)} integration (#{pr_number})"
    body = (f"For issue #{issue}. The code of #{pr_number} was merged as {merged_sha[:7]}, "
            f"then the request failed: {inert(why[:2000])}\n\n"
            f"Merging this removes the {len(paths)} files of `integrations/{request.slug}/`. "
            "Close it instead to keep the code and fix forward; comment /retry on the issue "
            "once main is as you want it.")
    return title, body


def update_body(*, issue: int, slug: str, change: str, declared: str, old_version: str,
                new_version: str, bump: Bump, compat: CompatReport, report: TestReport,
                backend: Backend | None, usage: TokenUsage, migration: str,
                template: str = "") -> str:
    """The update's pull-request body; in the shape of the repository's pull-request
    ``template`` when it has headings (``rules/pr_template.py``), else the bot's own."""
    intro = (f"**{slug}** {old_version} -> **{new_version}** ({bump.value} bump; the "
             f"request said {declared}).")
    written = (f"Written by {written_by(backend, from_fields=False)}; {usage.total_tokens} "
               f"tokens, ${usage.cost_usd:.4f}.")
    api = [*[f"- added {m.kind} {code_span(m.name)}" for m in compat.added],
           *[f"- removed {m.kind} {code_span(m.name)}" for m in compat.removed],
           *[f"- changed {code_span(a.name)}: {code_span(a.signature)} -> "
             f"{code_span(b.signature)}" for a, b in compat.changed]] or ["- unchanged"]
    plan = (["## Migration plan (breaking change)", "", migration.split("\n---\n")[0]]
            if compat.breaking else [])
    head = f"Closes #{issue}. {issue_marker(issue)}"
    filled = pr_template.fill(
        template, head=[head], facts=pr_template.Facts(
            tests_pass=report.passed and report.meets_coverage, checks_pass=True,
            docs_written=False),
        sections={"summary": [intro, "", inert(change)], "changes": ["Public API:", *api],
                  "tests": [report.summary], "issue": [f"#{issue}"], "usage": [written],
                  "notes": ["Breaking change; the migration plan:", "", *plan[2:]] if plan
                  else []},
        tail=[]) if template else None
    if filled is not None:
        return filled
    body = [head, "", intro, "", written, "", "## Change", inert(change), "",
            "## Public API", *api, "", "## Tests", report.summary, ""]
    return "\n".join(body + plan)


def update_revert(*, issue: int, slug: str, pr_number: int, merged_sha: str,
                  old_version: str, new_version: str, why: str) -> tuple[str, str]:
    """(title, body) of the pull request that puts an update's old version back."""
    title = f"Revert {slug} to {old_version} (#{pr_number})"
    body = (f"For issue #{issue}. #{pr_number} ({slug} {new_version}) was merged as "
            f"{merged_sha[:7]}, then the update failed: {inert(why[:2000])}\n\n"
            f"Merging this puts `integrations/{slug}/` back to {old_version}. Close it "
            "instead to keep the new version and fix forward.")
    return title, body


def credentials_needed(*, slug: str, environment: str, missing: list[str], requester: str,
                       expiry: str) -> str:
    """The one comment asking for an integration's credentials before its merge."""
    commands = "\n".join(f"ccb secrets set {slug} {name} --env {environment}"
                         for name in missing)
    return (f"@{requester} `{slug}` needs {len(missing)} credential(s) before it is merged and "
            f"deployed to {environment}: {', '.join(f'`{n}`' for n in missing)}. An operator "
            "of the bot sets each (the value is read from stdin, and stays out of the issue, "
            f"the workflow and its history):\n\n```\n{commands}\n```\n\nThe request waits "
            f"(up to {expiry}) and goes on by itself once they are set.")


def credentials_reminder(*, slug: str, missing: list[str], count: int) -> str:
    return (f"Reminder {count}: `{slug}` still waits for {', '.join(f'`{n}`' for n in missing)}"
            f" (`ccb secrets set {slug} NAME`).")


def mentions(logins: list[str]) -> str:
    """``@carol @dave`` for the logins that are GitHub logins (anything else is left out, so
    no text from a setting or a CODEOWNERS file can become markup)."""
    return " ".join(f"@{name}" for name in dict.fromkeys(logins) if LOGIN_NAME.match(name))


def approval_reminder(*, count: int, pr_number: int | None, reviewers: list[str], last: bool,
                      left: timedelta, why: str = "") -> str:
    """A reminder that the pull request waits for a person, as a new comment (so watchers
    and the mentioned reviewers are notified); the last one says when the run gives up."""
    who = mentions(reviewers)
    head = (f"Last reminder ({count})" if last else f"Reminder {count}") + (
        f" for {who}" if who else "")
    because = f" ({why})" if why else ""
    text = (f"{head}: pull request #{pr_number} still waits for a human review before "
            f"merging{because}. Approve it (an approving review, `/approve <head sha>`, or "
            "`ccb approve`), or request changes.")
    if last:
        text += (f" Without a decision within {span(left)} the pull request is closed and "
                 "this request fails (comment /retry to start again).")
    return text

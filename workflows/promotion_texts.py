"""What a promotion says on the request issue: one environments comment (edited as it moves)
and, when a person must act, one new comment that mentions them. Pure text; details (which
can quote an instance's answers) are made inert."""

from __future__ import annotations

from models.deployment import Environment
from models.promotion import PromotionInput, PromotionProgress, StepStatus
from rules.inert import inert

MARK = {StepStatus.PENDING: "⏳", StepStatus.WAITING: "✋", StepStatus.DEPLOYING: "🚀",
        StepStatus.CHECKING: "🔎", StepStatus.LIVE: "✅", StepStatus.FAILED: "❌",
        StepStatus.STOPPED: "⏹️"}


def environments_comment(progress: PromotionProgress) -> str:
    """The table of environments of one version: status, what happened, who approved."""
    rows = []
    for step in progress.environments:
        approved = (f"{inert(step.approved_by)} at {step.approved_at:%Y-%m-%d %H:%M} UTC"
                    if step.approved_by and step.approved_at else "-")
        rows.append(f"| {step.environment.value} | {MARK[step.status]} {step.status.value} | "
                    f"{step.policy.value} | {inert(step.detail)[:400] or '-'} | {approved} |")
    waiting = ""
    if progress.waiting_for is not None:
        waiting = (f"\n\nNext: someone with write access comments `/promote "
                   f"{progress.waiting_for.value}` (or runs `ccb promote {progress.slug} --to "
                   f"{progress.waiting_for.value}`).")
    return (f"### Environments of `{progress.slug}` {progress.version} "
            f"(`{progress.commit_sha[:7]}`)\n\n"
            "| environment | status | entered | detail | approved by |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows) + waiting)


def waiting_comment(inp: PromotionInput, env: Environment, previous: Environment) -> str:
    """A new comment (it notifies): the version passed ``previous`` and waits for a person."""
    who = f"@{inp.requested_by} " if inp.requested_by else ""
    return (f"{who}`{inp.slug}` {inp.version} (`{inp.commit_sha[:7]}`) is live in {previous} "
            f"and passed its live checks there. It goes to {env} when someone with write "
            f"access comments `/promote {env}` here (or runs `ccb promote {inp.slug} --to "
            f"{env}`); the approval is bound to `{inp.commit_sha[:7]}`.")

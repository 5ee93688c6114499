"""The issue's one progress comment (a checklist of the steps) and its state label."""

from __future__ import annotations

from temporalio import activity

from activities.github_issues import add_labels, remove_labels, upsert_bot_comment
from infra.settings import get_settings
from models.creation import ErrorCategory, Progress, StepStatus
from models.github import LabelChange, UpsertComment
from models.progress import ProgressUpdate
from models.states import IntegrationState
from rules.inert import code_span, inert

PROGRESS_MARKER = "progress"
STATE_LABEL_PREFIX = "ccb:"
BOXES = {
    StepStatus.PENDING: "- [ ] {title}",
    StepStatus.RUNNING: "- [ ] **{title}** ← in progress",
    StepStatus.DONE: "- [x] {title}",
    StepStatus.FAILED: "- [ ] ❌ **{title}** — failed",
    StepStatus.SKIPPED: "- [x] ~~{title}~~ (skipped)",
}


def state_label(state: str) -> str:
    return f"{STATE_LABEL_PREFIX}{state.lower()}"


def _first_line(text: str, limit: int) -> str:
    """The first line of ``text``, cut to ``limit`` characters (test output stays out)."""
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def render_progress(progress: Progress, ui_link: str) -> str:
    """The comment's markdown: state, checklist, links; what failed and how to retry."""
    title = f"`{progress.slug}`" if progress.slug else "this request"
    heading = "Update of" if progress.kind == "update" else "Integration request"
    lines = [f"### {heading} {title}: **{progress.state}**", ""]
    for step in progress.steps:
        line = BOXES[step.status].format(title=step.title)
        if step.attempts > 1:
            line += f" (round {step.attempts})"
        if step.note:
            line += f" — {inert(step.note)}"
        lines.append(line)
    lines.append("")
    if progress.pr_url:
        lines.append(f"Pull request: {progress.pr_url}")
    if progress.backend:
        lines.append(f"Code written by: {progress.backend.value}"
                     + (" (no AI model was used)" if progress.backend.value != "claude" else ""))
    if progress.usage.total_tokens:
        lines.append(f"Tokens: {progress.usage.total_tokens} (${progress.usage.cost_usd:.4f})")
    if progress.spend and progress.spend.cap_usd > 0:
        lines.append(f"Spent so far: ${progress.usage.cost_usd:.4f} of the "
                     f"${progress.spend.cap_usd:.2f} dollar cap "
                     f"({progress.usage.total_tokens} tokens)")
    lines.append(f"Workflow: [{progress.workflow_id}]({ui_link})")
    if progress.error:
        internal = progress.error_category == ErrorCategory.INTERNAL
        category = "internal error" if internal else progress.error_category
        lines += ["", f"**Failed** ({category}): {inert(_first_line(progress.error, 1500))}"]
        if progress.findings:
            lines.append("")
            lines += [f"- {code_span(f.path or '-')}{':' + str(f.line) if f.line else ''} "
                      + (inert(f"{f.tool} {f.code}: ") if internal and f.code else "")
                      + inert(_first_line(f.message, 200)) for f in progress.findings[:20]]
        if internal:
            lines += ["", "This is the bot's fault, not your request's: nothing in the issue "
                          "needs to change. Please report it to the bot's maintainers with the "
                          f"workflow id `{progress.workflow_id}` and what is listed above; once "
                          "it is fixed, comment `/retry` to start again from the analysis."]
        elif progress.next_step:  # the ending's own words: a name taken, a budget spent...
            lines += ["", f"Next: {progress.next_step}"]
        else:
            lines += ["", "Fix what is listed (edit the issue if the request itself is at "
                          "fault), then comment `/retry` to start again from the analysis."]
    if progress.waiting_for_plan:
        rev = progress.plan_revision
        lines += ["", f"Waiting for a person with write access to answer [plan revision {rev}]"
                      f"({progress.plan_url}): comment `/approve-plan {rev}`, or `/revise-plan "
                      "<what to change>`. No code is written before that."]
    if progress.waiting_for_budget and progress.spend:
        spend = progress.spend
        lines += ["", f"Waiting at the dollar cap: the next model call may cost up to "
                      f"${spend.next_call_usd:.4f} and needs ${spend.needed_usd:.4f} more. A "
                      "person with write access can comment `/budget +N` (at most "
                      f"${spend.raise_max_usd:.2f}) to go on where it stopped."]
    if progress.waiting_for_approval:
        head = progress.head_sha[:7]
        lines += ["", "Waiting for a person's approval of the pull request at "
                      f"{head}: approve it on GitHub (a review, or `/approve` on it), comment "
                      f"`/approve {head}` here, or `/request-changes <what to change>`."]
    return "\n".join(lines)


@activity.defn
def publish_progress(update: ProgressUpdate) -> bool:
    """Edit the one progress comment and set the ``ccb:<state>`` label.

    Idempotent: the comment is found by its hidden marker and edited in place; labels are
    set-like (adding a present label or removing an absent one changes nothing). True when
    this call created the comment (which notified the issue's people; an edit does not).
    """
    settings = get_settings()
    progress = update.progress
    body = render_progress(progress, settings.workflow_ui_url(progress.workflow_id))
    ref = upsert_bot_comment(UpsertComment(repo=update.repo, number=update.issue_number,
                                           marker=PROGRESS_MARKER, body=body))
    current = state_label(progress.state)
    stale = [state_label(s) for s in IntegrationState if state_label(s) != current]
    remove_labels(LabelChange(repo=update.repo, number=update.issue_number, labels=stale))
    add_labels(LabelChange(repo=update.repo, number=update.issue_number, labels=[current]))
    return ref.created

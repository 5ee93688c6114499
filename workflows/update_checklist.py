"""The update issue's live checklist and state label, as a creation's: the steps in the order
an update runs them, the state each step shows, and the move from one step to the next.

Runs started before ``update-checklist`` only note the current step (they published no
checklist); the choice is made once, at the start of the run.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.creation import Progress, StepRecord, StepStatus
    from models.states import IntegrationState as S

UPDATE_CHECKLIST_PATCH = "update-checklist"
UPDATE_STEPS: list[tuple[str, str, S]] = [
    ("validate", "Read the update request", S.ANALYZING),
    ("read", "Find the integration and read its code on main", S.ANALYZING),
    ("generate", "Generate the change", S.GENERATING),
    ("check", "Check the code (syntax, lint, types, security, policy)", S.GENERATING),
    ("test", "Run the tests in the sandbox (the old ones too, unless breaking)", S.TESTING),
    ("compatibility", "Compare the public API and bump the version", S.TESTING),
    ("pull_request", "Open the pull request", S.REVIEWING),
    ("review", "Review: automated checks, AI review", S.REVIEWING),
    ("approval", "A person's approval", S.REVIEWING),
    ("merge", "Merge the pull request and record the version", S.APPROVED),
    ("deploy", "Deploy (blue-green)", S.DEPLOYING),
    ("finish", "Update the issue", S.DEPLOYING),
]
ORDER = [name for name, _, _ in UPDATE_STEPS]
STATE_AT = {name: state for name, _, state in UPDATE_STEPS}


def update_steps() -> list[StepRecord]:
    return [StepRecord(name=name, title=title) for name, title, _ in UPDATE_STEPS]


def move_to(progress: Progress, name: str) -> None:
    """Step ``name`` runs now: every earlier step not failed is done (a later one done in an
    earlier round stays done until it runs again), the state is the step's."""
    now = workflow.now()
    at = ORDER.index(name)
    for step in progress.steps:
        if step.name == name:
            if step.status != StepStatus.RUNNING:
                step.status, step.started_at, step.finished_at = StepStatus.RUNNING, now, None
                step.attempts += 1
        elif step.status == StepStatus.RUNNING or (
                step.status == StepStatus.PENDING and ORDER.index(step.name) < at):
            step.status, step.finished_at = StepStatus.DONE, now
    progress.current_step = name
    if name != "finish":
        progress.state = STATE_AT[name]


def finish(progress: Progress, status: StepStatus, note: str = "") -> None:
    """The run's last word on its current step (done, or failed with why)."""
    for step in progress.steps:
        if step.name == progress.current_step:
            step.status, step.finished_at = status, workflow.now()
            step.note = note or step.note
        elif step.status == StepStatus.RUNNING:
            step.status, step.finished_at = StepStatus.DONE, workflow.now()

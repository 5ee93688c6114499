"""The steps of integration creation, in order, as the progress checklist shows them."""

from __future__ import annotations

from models.creation import StepRecord

STEPS: list[tuple[str, str]] = [
    ("validate", "Validate the request"),
    ("analyze", "Analyse the requirements"),
    ("generate", "Generate the code"),
    ("check", "Check the code (syntax, lint, types, security, policy)"),
    ("test", "Run the tests in the sandbox"),
    ("pull_request", "Open the pull request"),
    ("review", "Review: automated checks, AI review, human approval"),
    ("merge", "Merge the pull request"),
    ("deploy", "Deploy (blue-green)"),
    ("finish", "Update the issue"),
]


def fresh_steps() -> list[StepRecord]:
    return [StepRecord(name=name, title=title) for name, title in STEPS]

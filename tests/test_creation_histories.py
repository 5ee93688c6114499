"""The creation workflow's recorded histories are kept (tests/test_replay.py replays them all;
re-record with `.venv/bin/python scripts/record_histories.py`)."""

from __future__ import annotations

import json
from pathlib import Path

HISTORIES = Path(__file__).parent / "histories"
ENDINGS = {
    "creation_happy_path": "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
    "creation_invalid_request": "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
    "creation_changes_then_approved": "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
    "creation_merge_refused": "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
}


def test_creation_histories_are_kept_and_end_as_recorded() -> None:
    for name, ending in ENDINGS.items():
        events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        kind = events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
        assert kind == "IntegrationCreationWorkflow", name
        assert events[-1]["eventType"] == ending, name

"""The creation workflow's recorded histories are kept (tests/test_replay.py replays them all;
re-record with `.venv/bin/python scripts/record_histories.py`)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

HISTORIES = Path(__file__).parent / "histories"
COMPLETED = "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
FAILED = "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED"
ENDINGS = {
    # recorded before the review-child and revert patches (their old branches replay them)
    "creation_happy_path": COMPLETED,
    "creation_invalid_request": FAILED,
    "creation_changes_then_approved": COMPLETED,
    "creation_merge_refused": FAILED,
    # recorded after them
    "creation_happy_path_v2": COMPLETED,
    "creation_invalid_request_v2": FAILED,
    "creation_changes_then_approved_v2": COMPLETED,
    "creation_merge_refused_v2": FAILED,
    "creation_failed_after_merge_v2": FAILED,
    # recorded after stop-when-a-round-changes-nothing
    "creation_happy_path_v3": COMPLETED,
    "creation_invalid_request_v3": FAILED,
    "creation_changes_then_approved_v3": COMPLETED,
    "creation_merge_refused_v3": FAILED,
    "creation_failed_after_merge_v3": FAILED,
    "creation_stalled_v3": FAILED,
}
PATCH_MARKERS = {"creation_happy_path_v2": {"review-by-code-review-workflow",
                                            "revert-pull-request-after-merge"},
                 "creation_failed_after_merge_v2": {"revert-pull-request-after-merge"},
                 "creation_happy_path_v3": {"review-by-code-review-workflow",
                                            "revert-pull-request-after-merge",
                                            "stop-when-a-round-changes-nothing"},
                 "creation_stalled_v3": {"stop-when-a-round-changes-nothing"}}


def test_creation_histories_are_kept_and_end_as_recorded() -> None:
    for name, ending in ENDINGS.items():
        events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        kind = events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
        assert kind == "IntegrationCreationWorkflow", name
        assert events[-1]["eventType"] == ending, name


def test_new_recordings_carry_the_patches_they_were_recorded_under() -> None:
    for name, patches in PATCH_MARKERS.items():
        events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        markers = {e["markerRecordedEventAttributes"]["details"]["patch-data"]["payloads"][0]
                   ["data"] for e in events if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"}
        found = {json.loads(base64.b64decode(m))["id"] for m in markers}
        assert patches <= found, (name, found)

"""Recorded histories replay on today's workflow code (determinism across code changes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from infra.payload_codec import data_converter
from workflows.registry import ALL_WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_kept() -> None:
    assert {p.stem for p in HISTORIES} >= {
        "intake_accepted", "intake_refused", "creation_happy_path", "creation_happy_path_v2",
        "update_feature", "review_of_update_feature", "creation_happy_path_v3",
        "creation_stalled_v3", "update_feature_v2", "review_of_update_feature_v2",
        "update_feature_v3", "review_of_update_feature_v3", "update_breaking_reminded_v3",
        "creation_happy_path_v4", "creation_changes_then_approved_v4", "update_feature_v4",
        "update_breaking_reminded_v4", "monitor_down_then_up_v1", "monitor_down_then_up_v2",
        "creation_happy_path_v5", "creation_changes_then_approved_v5", "update_feature_v5",
        "update_breaking_reminded_v5", "promotion_to_production", "lifecycle_deprecate",
        "contribution_recorded", "contribution_deployed", "creation_plan_first",
        "creation_dollar_cap", "creation_repository_guidance"}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    replayer = Replayer(workflows=ALL_WORKFLOWS, data_converter=data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None

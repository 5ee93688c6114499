"""Timeouts and retry policies as named constants, in one place."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

# Quick local work (parsing, registry writes).
LOCAL_STEP_TIMEOUT = timedelta(seconds=30)
LOCAL_STEP_HEARTBEAT = timedelta(seconds=5)

# Recoverable faults: exponential backoff, bounded attempts (SPEC "Errors").
DEFAULT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=8,
)

# GitHub calls (commit_files paces one blob per file on real GitHub: about 1 s each).
GITHUB_STEP_TIMEOUT = timedelta(minutes=3)
# GitHub activities heartbeat while they run: a dead worker is noticed within this.
GITHUB_STEP_HEARTBEAT = timedelta(seconds=30)

# A model call may take minutes, and a step may need a repair turn (2 x claude_timeout_seconds).
AI_STEP_TIMEOUT = timedelta(minutes=15)
AI_STEP_HEARTBEAT = timedelta(seconds=30)

# Code checks and sandboxed test runs (an image build may happen on first use).
SANDBOX_TIMEOUT = timedelta(minutes=15)
SANDBOX_HEARTBEAT = timedelta(seconds=60)


# The option bundles, one per kind of step: `workflow.execute_activity(fn, arg, **GITHUB_STEP)`.
GITHUB_STEP = workflow.ActivityConfig(start_to_close_timeout=GITHUB_STEP_TIMEOUT,
                                      heartbeat_timeout=GITHUB_STEP_HEARTBEAT,
                                      retry_policy=DEFAULT_RETRY)
MODEL_STEP = workflow.ActivityConfig(start_to_close_timeout=AI_STEP_TIMEOUT,
                                     heartbeat_timeout=AI_STEP_HEARTBEAT,
                                     retry_policy=DEFAULT_RETRY)
LOCAL_STEP = workflow.ActivityConfig(start_to_close_timeout=LOCAL_STEP_TIMEOUT,
                                     retry_policy=DEFAULT_RETRY)
# Local steps that can block a little longer (a registry on another host) heartbeat.
LOCAL_HEARTBEATING_STEP = workflow.ActivityConfig(start_to_close_timeout=LOCAL_STEP_TIMEOUT,
                                                  heartbeat_timeout=LOCAL_STEP_HEARTBEAT,
                                                  retry_policy=DEFAULT_RETRY)
SANDBOX_STEP = workflow.ActivityConfig(start_to_close_timeout=SANDBOX_TIMEOUT,
                                       heartbeat_timeout=SANDBOX_HEARTBEAT,
                                       retry_policy=DEFAULT_RETRY)

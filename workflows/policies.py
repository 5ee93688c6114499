"""Timeouts and retry policies as named constants, in one place."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from rules.task_queues import Capability, queue_for

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


def on_queue(capability: Capability, host: str = "") -> str:
    """The task queue of ``capability`` beside the control queue this workflow runs on."""
    return queue_for(workflow.info().task_queue, capability, host)


def sandbox_step() -> workflow.ActivityConfig:
    """The sandbox bundle, sent to the sandbox queue (checks and tests of generated code)."""
    return workflow.ActivityConfig(**SANDBOX_STEP, task_queue=on_queue(Capability.SANDBOX))

# Deployment steps: builds, containers, health waits and traffic shifts. A killed worker's
# step is noticed within the heartbeat; a step that waits on purpose gets its own limit.
DEPLOY_STEP_TIMEOUT = timedelta(minutes=2)
DEPLOY_BUILD_TIMEOUT = timedelta(minutes=20)
DEPLOY_HEARTBEAT = timedelta(seconds=8)
DEPLOY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                           maximum_interval=timedelta(seconds=20), maximum_attempts=8)


def deploy_step(limit: timedelta = DEPLOY_STEP_TIMEOUT,
                host: str | None = None) -> workflow.ActivityConfig:
    """The deploy bundle, with ``limit`` for a step that waits longer (a build, a watch);
    a step that needs the deploy host (``host`` not None: "" is the default host) goes to
    that host's deploy queue."""
    config = workflow.ActivityConfig(start_to_close_timeout=limit,
                                     heartbeat_timeout=DEPLOY_HEARTBEAT,
                                     retry_policy=DEPLOY_RETRY)
    if host is not None:
        config["task_queue"] = on_queue(Capability.DEPLOY, host)
    return config


DEPLOY_STEP = deploy_step()

# Health probes of a live version: quick, few retries (the next probe is never far away).
PROBE_TIMEOUT = timedelta(seconds=30)
PROBE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                          maximum_interval=timedelta(seconds=10), maximum_attempts=3)
PROBE_STEP = workflow.ActivityConfig(start_to_close_timeout=PROBE_TIMEOUT,
                                     retry_policy=PROBE_RETRY)


def probe_step(host: str) -> workflow.ActivityConfig:
    """A probe runs where the proxy it asks runs: on the deploy host."""
    return workflow.ActivityConfig(**PROBE_STEP, task_queue=on_queue(Capability.DEPLOY, host))
# The live checks of one instance (health, smoke, its generated checks): up to 20 probes.
LIVE_CHECKS_TIMEOUT = timedelta(minutes=2)


def live_checks_step(host: str) -> workflow.ActivityConfig:
    """The generated live checks run where the instance runs: on its deploy host."""
    return workflow.ActivityConfig(start_to_close_timeout=LIVE_CHECKS_TIMEOUT,
                                   retry_policy=PROBE_RETRY,
                                   task_queue=on_queue(Capability.DEPLOY, host))


# A health alert's comment: a GitHub call, retried as a probe is (the audit event is the alert).
ALERT_COMMENT_STEP = workflow.ActivityConfig(start_to_close_timeout=timedelta(minutes=2),
                                             retry_policy=PROBE_RETRY)

# Waiting for a review another caller started (as long as two sandbox steps, polled).
AWAIT_REVIEW_STEP = workflow.ActivityConfig(start_to_close_timeout=SANDBOX_TIMEOUT * 2,
                                            heartbeat_timeout=timedelta(seconds=10),
                                            retry_policy=DEFAULT_RETRY)
# The starter's one-comment replies.
REPLY_STEP = workflow.ActivityConfig(start_to_close_timeout=timedelta(seconds=60),
                                     retry_policy=DEFAULT_RETRY)

"""Every activity the worker hosts, by the capability (task queue) that serves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.codegen.claude_activities import CLAUDE_ACTIVITIES
from activities.codegen.claude_update import CLAUDE_UPDATE_ACTIVITIES
from activities.codegen.offline_activities import OFFLINE_ACTIVITIES
from activities.codegen.offline_update import OFFLINE_UPDATE_ACTIVITIES
from activities.codegen.select import select_backend
from activities.compat import COMPAT_ACTIVITIES
from activities.contribution import CONTRIBUTION_ACTIVITIES
from activities.credentials import CREDENTIAL_ACTIVITIES
from activities.deploy.incidents import INCIDENT_ACTIVITIES
from activities.deploy.monitoring import MONITOR_ACTIVITIES, probe_live_version
from activities.deploy.steps import (
    DEPLOY_ACTIVITIES,
    build_version,
    retire_color,
    rollback_traffic,
    route_instance,
    run_smoke_checks,
    shift_traffic,
    start_instance,
    wait_until_healthy,
    watch_version,
)
from activities.github_ops import GITHUB_ACTIVITIES
from activities.github_review import REVIEW_GITHUB_ACTIVITIES
from activities.guidance import GUIDANCE_ACTIVITIES
from activities.intake import INTAKE_ACTIVITIES
from activities.lifecycle import LIFECYCLE_ACTIVITIES
from activities.lifecycle_steps import LIFECYCLE_HOST_ACTIVITIES, LIFECYCLE_STEP_ACTIVITIES
from activities.plan_cost import PLAN_ACTIVITIES
from activities.progress_comment import publish_progress
from activities.promotion import PROMOTION_ACTIVITIES
from activities.reverify import REVERIFY_ACTIVITIES, reverify_live
from activities.review_checks import REVIEW_CHECK_ACTIVITIES
from activities.sync_schedules import SYNC_HOST_ACTIVITIES, SYNC_SCHEDULE_ACTIVITIES
from activities.update_steps import UPDATE_STEP_ACTIVITIES
from activities.verify import VERIFY_ACTIVITIES
from rules.task_queues import Capability

ALL_ACTIVITIES: list[Callable[..., Any]] = [
    *INTAKE_ACTIVITIES,
    *LIFECYCLE_ACTIVITIES,
    *GITHUB_ACTIVITIES,
    *GUIDANCE_ACTIVITIES,  # the repository's rules, from its base branch
    *CLAUDE_ACTIVITIES,
    *OFFLINE_ACTIVITIES,
    select_backend,
    *VERIFY_ACTIVITIES,
    *CREDENTIAL_ACTIVITIES,
    publish_progress,
    *DEPLOY_ACTIVITIES,
    *MONITOR_ACTIVITIES,
    *INCIDENT_ACTIVITIES,  # the monitor's incident issues
    # the update and code-review workflows
    *UPDATE_STEP_ACTIVITIES,
    *OFFLINE_UPDATE_ACTIVITIES,
    *CLAUDE_UPDATE_ACTIVITIES,
    *COMPAT_ACTIVITIES,
    *REVIEW_CHECK_ACTIVITIES,
    *REVIEW_GITHUB_ACTIVITIES,
    *REVERIFY_ACTIVITIES,  # the re-verification schedule's runs
    *PROMOTION_ACTIVITIES,  # a version's promotion: its plan and gates
    *LIFECYCLE_STEP_ACTIVITIES,  # pause, resume, deprecate
    *LIFECYCLE_HOST_ACTIVITIES,
    *CONTRIBUTION_ACTIVITIES,  # a person's merged change to an integration
    *SYNC_SCHEDULE_ACTIVITIES,  # the sync jobs' schedules
    *SYNC_HOST_ACTIVITIES,
    *PLAN_ACTIVITIES,  # plan-first: the plan's cost estimate
]

# Generated or contributed code is only ever touched here: code checks and sandboxed tests.
SANDBOX_ACTIVITIES: list[Callable[..., Any]] = list(VERIFY_ACTIVITIES)
# What needs the deploy host itself: its Docker engine, its HAProxy, its loopback.
DEPLOY_HOST_ACTIVITIES: list[Callable[..., Any]] = [
    build_version, start_instance, wait_until_healthy, run_smoke_checks, route_instance,
    shift_traffic, watch_version, retire_color, rollback_traffic, probe_live_version,
    reverify_live, *LIFECYCLE_HOST_ACTIVITIES, *SYNC_HOST_ACTIVITIES,
]
_ELSEWHERE = {id(fn) for fn in (*SANDBOX_ACTIVITIES, *DEPLOY_HOST_ACTIVITIES)}
# Workflows' GitHub, registry and model calls: any host that reaches those.
CONTROL_ACTIVITIES: list[Callable[..., Any]] = [
    fn for fn in ALL_ACTIVITIES if id(fn) not in _ELSEWHERE]

ACTIVITIES_BY_CAPABILITY: dict[Capability, list[Callable[..., Any]]] = {
    Capability.CONTROL: CONTROL_ACTIVITIES,
    Capability.SANDBOX: SANDBOX_ACTIVITIES,
    Capability.DEPLOY: DEPLOY_HOST_ACTIVITIES,
}

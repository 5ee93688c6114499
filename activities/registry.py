"""Every activity the worker hosts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.codegen.claude_activities import CLAUDE_ACTIVITIES
from activities.codegen.claude_update import CLAUDE_UPDATE_ACTIVITIES
from activities.codegen.offline_activities import OFFLINE_ACTIVITIES
from activities.codegen.offline_update import OFFLINE_UPDATE_ACTIVITIES
from activities.codegen.select import select_backend
from activities.compat import COMPAT_ACTIVITIES
from activities.credentials import CREDENTIAL_ACTIVITIES
from activities.deploy.monitoring import MONITOR_ACTIVITIES
from activities.deploy.steps import DEPLOY_ACTIVITIES
from activities.github_ops import GITHUB_ACTIVITIES
from activities.github_review import REVIEW_GITHUB_ACTIVITIES
from activities.intake import INTAKE_ACTIVITIES
from activities.lifecycle import LIFECYCLE_ACTIVITIES
from activities.progress_comment import publish_progress
from activities.review_checks import REVIEW_CHECK_ACTIVITIES
from activities.update_steps import UPDATE_STEP_ACTIVITIES
from activities.verify import VERIFY_ACTIVITIES

ALL_ACTIVITIES: list[Callable[..., Any]] = [
    *INTAKE_ACTIVITIES,
    *LIFECYCLE_ACTIVITIES,
    *GITHUB_ACTIVITIES,
    *CLAUDE_ACTIVITIES,
    *OFFLINE_ACTIVITIES,
    select_backend,
    *VERIFY_ACTIVITIES,
    *CREDENTIAL_ACTIVITIES,
    publish_progress,
    *DEPLOY_ACTIVITIES,
    *MONITOR_ACTIVITIES,
    # the update and code-review workflows
    *UPDATE_STEP_ACTIVITIES,
    *OFFLINE_UPDATE_ACTIVITIES,
    *CLAUDE_UPDATE_ACTIVITIES,
    *COMPAT_ACTIVITIES,
    *REVIEW_CHECK_ACTIVITIES,
    *REVIEW_GITHUB_ACTIVITIES,
]

"""Every workflow class the worker hosts."""

from __future__ import annotations

from workflows.contribution import ContributionWorkflow
from workflows.creation import IntegrationCreationWorkflow
from workflows.deploy import DeployWorkflow
from workflows.intake import IntegrationIntakeWorkflow
from workflows.lifecycle import LifecycleWorkflow
from workflows.monitor import HealthMonitorWorkflow
from workflows.promotion import PromotionWorkflow
from workflows.refusal import BotReplyWorkflow
from workflows.reverify import ReverifyWorkflow
from workflows.review import CodeReviewWorkflow
from workflows.sync_run import SyncRunWorkflow
from workflows.update import IntegrationUpdateWorkflow

ALL_WORKFLOWS: list[type] = [
    IntegrationIntakeWorkflow,
    IntegrationCreationWorkflow,
    DeployWorkflow,
    HealthMonitorWorkflow,
    BotReplyWorkflow,  # the webhook starter's one-comment answers (refusals, command replies)
    IntegrationUpdateWorkflow,  # integration-update issues and `ccb update`
    CodeReviewWorkflow,  # every push to a PR touching integrations/
    ReverifyWorkflow,  # the re-verification schedule's runs
    PromotionWorkflow,  # a merged version through the environments
    LifecycleWorkflow,  # pause, resume, deprecate
    ContributionWorkflow,  # a person's own merged change to an integration
    SyncRunWorkflow,  # a deployed sync job's scheduled runs
]

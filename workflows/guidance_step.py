"""The creation workflow's read of the repository's guidance, once, before the analysis.

Behind ``GUIDANCE_PATCH``: runs recorded before it read none and replay as they were. The
guidance is advice: when it cannot be read the run goes on without it (logged), with the
bot's own pull-request body.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.guidance import read_repository_guidance
    from models.guidance import BASE_BRANCH, GuidanceQuery, RepositoryGuidance
    from workflows.errors import is_cancellation
    from workflows.policies import GITHUB_STEP

GUIDANCE_PATCH = "repository-guidance"
UPDATE_GUIDANCE_PATCH = "update-pull-request-template"  # updates read it for their PR body


async def read_guidance(repo: str, patch: str = GUIDANCE_PATCH) -> RepositoryGuidance | None:
    """The base branch's guidance (never a pull request's head); None in runs recorded
    before ``patch``, empty when it could not be read."""
    if not workflow.patched(patch):
        return None
    try:
        guidance: RepositoryGuidance = await workflow.execute_activity(
            read_repository_guidance, GuidanceQuery(repo=repo, ref=BASE_BRANCH),
            **GITHUB_STEP)
    except ActivityError as exc:
        if is_cancellation(exc.cause or exc):
            raise
        workflow.logger.warning("the repository's guidance was not read: %s", exc)
        return RepositoryGuidance()
    return guidance

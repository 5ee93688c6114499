"""The contract between the starter and the workflows: type names, message names, workflow ids.

The starter routes webhooks and CLI commands *by name*, so a workflow that lands later only has
to use these names (and be listed in ``workflows.registry.ALL_WORKFLOWS``) to be reached.

Messages the creation (and update) workflow implements:

- update ``approve`` (``models.creation.ApprovalDecision`` -> ``ApprovalAnswer``) with a
  validator that rejects an approval when nothing waits for one; the caller learns
  accepted or not from the validator.
- signal ``request_changes`` (``models.creation.ChangeRequest``): the reviewer's text goes back
  to code generation. Its ``source`` names the comment or review it came from
  (``comment:<id>`` / ``review:<id>``), so a workflow can ignore a repeated source.
- query ``progress`` (-> ``models.creation.Progress``).
- ``/cancel`` is Temporal cancellation of the workflow; ``/retry`` starts a new run under the
  same workflow id when the last run closed failed (``ALLOW_DUPLICATE_FAILED_ONLY``).

Who owns a pull request (for ``pull_request_review`` events and commands on a PR): the PR the
bot opens for issue N carries the hidden marker ``<!-- ccb:issue:N -->`` in its body (GitHub's
closing keywords ``Closes #N`` / ``Fixes #N`` / ``Resolves #N`` are read too), and its head
branch says which process wrote it: ``integration-update/<slug>`` -> the update workflow of
issue N, ``integration/<slug>`` -> the creation workflow of issue N. A PR on any other branch,
or naming no issue, belongs to no workflow.
"""

from __future__ import annotations

import re

# -- workflow types ----------------------------------------------------------------------------
INTAKE_WORKFLOW = "IntegrationIntakeWorkflow"
CREATION_WORKFLOW = "IntegrationCreationWorkflow"
UPDATE_WORKFLOW = "IntegrationUpdateWorkflow"
REVIEW_WORKFLOW = "CodeReviewWorkflow"
REPLY_WORKFLOW = "BotReplyWorkflow"
CONTRIBUTION_WORKFLOW = "ContributionWorkflow"

# -- messages ----------------------------------------------------------------------------------
APPROVE_UPDATE = "approve"
REQUEST_CHANGES_SIGNAL = "request_changes"
PULL_CLOSED_SIGNAL = "pull_request_closed"
REQUEST_EDITED_SIGNAL = "request_edited"
PROGRESS_QUERY = "progress"

# -- labels and branches -----------------------------------------------------------------------
REQUEST_LABEL = "integration-request"
UPDATE_LABEL = "integration-update"
CREATION_BRANCH_PREFIX = "integration/"
UPDATE_BRANCH_PREFIX = "integration-update/"
INTEGRATIONS_DIR = "integrations/"

_ISSUE_MARKER = re.compile(r"<!--\s*ccb:issue:(\d{1,9})\s*-->")
_CLOSING_KEYWORD = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d{1,9})\b", re.IGNORECASE
)


def _repo_part(repo: str) -> str:
    return repo.replace("/", "-")


def creation_workflow_id(repo: str, issue_number: int) -> str:
    """One creation workflow per request issue (every retry is a new run of this id)."""
    return f"create-{_repo_part(repo)}-{issue_number}"


def update_workflow_id(repo: str, issue_number: int) -> str:
    """One update workflow per update issue."""
    return f"update-{_repo_part(repo)}-{issue_number}"


def review_workflow_id(repo: str, pr_number: int, head_sha: str) -> str:
    """One review per pushed head of a PR: a new push is a new review, a redelivery is not."""
    return f"review-{_repo_part(repo)}-{pr_number}-{head_sha[:12]}"


def contribution_workflow_id(repo: str, pr_number: int, merge_sha: str) -> str:
    """One run per merge of a person's pull request: a redelivered webhook starts none."""
    return f"contribution-{_repo_part(repo)}-{pr_number}-{merge_sha[:12]}"


def reply_workflow_id(repo: str, number: int, key: str) -> str:
    """The one bot reply about ``key`` (a comment id, a refusal) on issue or PR ``number``."""
    return f"reply-{_repo_part(repo)}-{number}-{key}"


def issue_marker(issue_number: int) -> str:
    """What the bot writes into a PR body to say which issue (and so which workflow) owns it."""
    return f"<!-- ccb:issue:{issue_number} -->"


def issue_named_in(pr_body: str | None) -> int | None:
    """The issue a PR body names: the bot's marker first, else a closing keyword."""
    if not pr_body:
        return None
    found = _ISSUE_MARKER.search(pr_body) or _CLOSING_KEYWORD.search(pr_body)
    return int(found.group(1)) if found else None


def pr_owner_workflow(repo: str, head_ref: str, pr_body: str | None) -> tuple[str, str] | None:
    """``(workflow type, workflow id)`` of the workflow owning a PR, or None (see module doc)."""
    issue = issue_named_in(pr_body)
    if issue is None:
        return None
    if head_ref.startswith(UPDATE_BRANCH_PREFIX):
        return UPDATE_WORKFLOW, update_workflow_id(repo, issue)
    if head_ref.startswith(CREATION_BRANCH_PREFIX):
        return CREATION_WORKFLOW, creation_workflow_id(repo, issue)
    return None

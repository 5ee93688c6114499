"""Every ``ApplicationError`` type the bot raises, in one catalogue.

Workflows and activities raise with these names (``type=ErrorType.GITHUB_NOT_FOUND``) and
compare against them; ``workflows.errors.classify`` maps them to the SPEC's categories: a
``Critical...`` type is critical, an ``Internal...`` one the bot's own fault, a non-retryable
one non-recoverable, the rest recoverable. Plain strings, as Temporal stores them.
"""

from __future__ import annotations


class ErrorType:
    """The type strings of the bot's application errors."""

    ANTHROPIC_AUTHENTICATION = "AnthropicAuthentication"
    ANTHROPIC_BAD_REQUEST = "AnthropicBadRequest"
    ANTHROPIC_BILLING = "AnthropicBilling"
    ANTHROPIC_CONNECTION = "AnthropicConnection"
    ANTHROPIC_INVALID_RESPONSE = "AnthropicInvalidResponse"
    ANTHROPIC_KEY_MISSING = "AnthropicKeyMissing"
    ANTHROPIC_MODEL_NOT_FOUND = "AnthropicModelNotFound"
    ANTHROPIC_OVERLOADED = "AnthropicOverloaded"
    ANTHROPIC_PERMISSION_DENIED = "AnthropicPermissionDenied"
    ANTHROPIC_RATE_LIMITED = "AnthropicRateLimited"
    ANTHROPIC_REQUEST_REJECTED = "AnthropicRequestRejected"
    ANTHROPIC_REQUEST_TOO_LARGE = "AnthropicRequestTooLarge"
    ANTHROPIC_TIMEOUT = "AnthropicTimeout"
    ANTHROPIC_UNAVAILABLE = "AnthropicUnavailable"
    APPROVAL_EXPIRED = "ApprovalExpired"
    BUDGET_WAIT_EXPIRED = "BudgetWaitExpired"  # nobody raised a capped request's dollar cap
    CHANGES_REQUESTED = "ChangesRequested"
    CLAUDE_ANSWER_TRUNCATED = "ClaudeAnswerTruncated"
    CLAUDE_OUTPUT_INVALID = "ClaudeOutputInvalid"
    CREDENTIALS_MISSING = "CredentialsMissing"
    DEPLOYMENT_REFUSED = "DeploymentRefused"
    DEPLOYMENT_ROLLED_BACK = "DeploymentRolledBack"
    GENERATION_DID_NOT_CONVERGE = "GenerationDidNotConverge"
    GITHUB_BAD_CREDENTIALS = "GitHubBadCredentials"
    GITHUB_FORBIDDEN = "GitHubForbidden"
    GITHUB_NOT_CONFIGURED = "GitHubNotConfigured"
    GITHUB_NOT_FOUND = "GitHubNotFound"
    GITHUB_RATE_LIMITED = "GitHubRateLimited"
    GITHUB_REJECTED = "GitHubRejected"
    GITHUB_STALE_HEAD = "GitHubStaleHead"
    GITHUB_UNAVAILABLE = "GitHubUnavailable"
    INTERNAL_GENERATION_DID_NOT_CONVERGE = "InternalGenerationDidNotConverge"
    INTERNAL_GENERATION_STALLED = "InternalGenerationStalled"
    INTERNAL_SANDBOX_UNAVAILABLE = "InternalSandboxUnavailable"
    INSTANCE_NOT_HEALTHY = "InstanceNotHealthy"  # a paused instance cannot be resumed
    INVALID_REQUEST = "InvalidRequest"
    MODEL_PRICE_UNKNOWN = "ModelPriceUnknown"  # a dollar cap, and no price for the model
    LIFECYCLE_REFUSED = "LifecycleRefused"  # pause/resume/deprecate from the wrong state
    PLAN_EXPIRED = "PlanExpired"
    SYNC_FAILED = "SyncFailed"  # a sync job's run failed (its cursor kept for the next run)
    NOTHING_TO_UPDATE = "NothingToUpdate"
    PULL_REQUEST_CLOSED = "PullRequestClosed"  # a person closed the bot's PR unmerged
    REVIEW_GATE_FAILED = "ReviewGateFailed"
    REVIEW_SUPERSEDED = "ReviewSuperseded"
    SLUG_TAKEN = "SlugTaken"
    UNKNOWN_INTEGRATION = "UnknownIntegration"  # an update names no integration of the registry
    TOKEN_BUDGET_EXCEEDED = "TokenBudgetExceeded"  # noqa: S105 - an error type, not a secret

"""Activities of request intake: parse and validate the issue, record the integration."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.faults import pause_point
from infra.settings import get_settings
from models.error_types import ErrorType
from models.intake import IntakeInput, IntegrationRef, RecordRequested
from models.request import ParsedRequest
from registry.store import SlugTakenError, open_registry
from rules.issue_form import parse_issue_form


@activity.defn
def validate_request(intake: IntakeInput) -> ParsedRequest:
    """Parse the issue body into a request, collecting every problem. Pure: safe to repeat."""
    return parse_issue_form(intake.body)


@activity.defn
def record_requested(command: RecordRequested) -> IntegrationRef:
    """Create the integration in REQUESTED with its transition and audit event.

    Idempotent: the registry write is one transaction keyed by ``command.key``, so a retry
    after a crash (before or after the commit) leaves exactly one row and one event.
    """
    pause_point("record_requested.before_commit")
    registry = open_registry(get_settings().registry_url)
    request = command.request
    try:
        row = registry.record_request(
            slug=request.slug,
            name=request.service_name,
            integration_type=request.integration_type,
            request=request.model_dump(mode="json"),
            repo=command.repo,
            issue_number=command.issue_number,
            actor=command.requested_by,
            workflow_id=command.workflow_id,
            key=command.key,
        )
    except SlugTakenError as exc:
        raise ApplicationError(str(exc), type=ErrorType.SLUG_TAKEN, non_retryable=True) from exc
    pause_point("record_requested.after_commit")
    assert row.id is not None
    return IntegrationRef(id=row.id, slug=row.slug, state=row.state)


INTAKE_ACTIVITIES = [validate_request, record_requested]

"""Registry activities: state transitions, audit events and versions, each idempotent by key."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from infra.settings import get_settings
from models.events import EventType
from models.lifecycle import EventCommand, TransitionCommand, VersionCommand
from registry.store import Registry, UnknownIntegrationError, open_registry
from registry.tables import Integration, utcnow
from rules.state_machine import InvalidTransitionError


def _registry() -> Registry:
    """One registry per URL per process."""
    return open_registry(get_settings().registry_url)


@activity.defn
def transition_state(command: TransitionCommand) -> str:
    """Move an integration to a new state. Idempotent: the key is recorded with the move."""
    try:
        row = _registry().transition(command.slug, command.target, actor=command.actor,
                                     reason=command.reason, workflow_id=command.workflow_id,
                                     key=command.key)
    except (InvalidTransitionError, UnknownIntegrationError) as exc:
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
    return row.state


@activity.defn
def record_event(command: EventCommand) -> None:
    """Append an audit event. Idempotent: the event id is deterministic."""
    _registry().add_event(command.event_id, command.type, slug=command.slug,
                          payload=command.payload, metadata=command.metadata)


@activity.defn
def record_version(command: VersionCommand) -> None:
    """Record a version (unique per integration) and make it current. Idempotent."""
    registry = _registry()
    row = registry.add_version(command.slug, command.version, commit_sha=command.commit_sha,
                               pr_number=command.pr_number, manifest=command.manifest)
    if command.gates is not None and row.commit_sha == command.commit_sha:
        registry.add_event(
            f"version/{command.slug}/{command.version}/{command.commit_sha}",
            EventType.VERSION_RECORDED, slug=command.slug,
            payload={**command.gates, "version": command.version,
                     "commit_sha": command.commit_sha, "pr_number": command.pr_number})
    if command.make_current:
        with registry.session() as session:
            row = session.get(Integration, registry.get(command.slug).id)
            if row is not None and row.current_version != command.version:
                row.current_version, row.updated_at = command.version, utcnow()
                session.add(row)
                session.commit()


LIFECYCLE_ACTIVITIES = [transition_state, record_event, record_version]

"""The scheduled re-verification's side effects: which integrations are live, checking one on
its deploy host (health through the instance, the smoke checks a fresh version passes, the
generated live checks of its manifest), and recording each result as an audit event."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError
from temporalio import activity

from activities.deploy.monitoring import probe_live_version
from activities.deploy.probes import live_check_problems, smoke_problems
from activities.deploy.steps import _registry
from infra.settings import get_settings
from models.deploy import Target
from models.events import EventType
from models.manifest import LIVE_CHECK_LIMIT, LiveCheck
from models.reverify import (
    LiveIntegration,
    RecordReverification,
    Reverification,
    ReverifyInput,
    VerifyCheck,
)
from models.states import IntegrationState
from registry.deployments import live_deployment


@activity.defn
def live_integrations(inp: ReverifyInput) -> list[LiveIntegration]:
    """Every ACTIVE integration with a live deployment, per environment asked for."""
    registry = _registry()
    hosts = get_settings().deploy_hosts
    found = []
    for integration in registry.list_integrations():
        if integration.state != IntegrationState.ACTIVE:
            continue
        for environment in inp.environments:
            live = live_deployment(registry, integration.slug, environment)
            if live is not None:
                found.append(LiveIntegration(slug=integration.slug, environment=environment,
                                             version=live.version,
                                             host=hosts.get(str(environment), "")))
    return found


@activity.defn
def reverify_live(target: LiveIntegration) -> Reverification:
    """Health (the instance runs and answers its health paths), the smoke checks, then the
    integration's generated live checks against the instance. Operations are never called
    with input they accept (they would reach the external service): a live check that sends
    a body expects a refusal."""
    probe = probe_live_version(Target(slug=target.slug, environment=target.environment))
    checks = [VerifyCheck(name="health", ok=probe.ok, detail=probe.reason)]
    if probe.ok and probe.has_live:
        registry = _registry()
        versions = {v.version: v for v in registry.versions(target.slug)}
        manifest = versions[probe.version].manifest if probe.version in versions else {}
        capabilities = [str(c) for c in manifest.get("capabilities") or []]
        port = int(probe.endpoint.rpartition(":")[2] or 0)
        problems = smoke_problems(port, probe.version, capabilities)
        checks.append(VerifyCheck(name="smoke", ok=not problems, detail="; ".join(problems)))
        if (generated := _generated_tests(port, manifest, probe.version)) is not None:
            checks.append(generated)
    return Reverification(slug=target.slug, environment=target.environment,
                          version=probe.version or target.version,
                          ok=all(c.ok for c in checks), checks=checks)


def _generated_tests(port: int, manifest: dict[str, object], version: str
                     ) -> VerifyCheck | None:
    """The manifest's generated live checks run against the instance; None for a version
    written before they existed. The manifest passed the checks before it merged, so a stored
    list that does not parse is a failed check, never a silent skip."""
    raw = manifest.get("live_checks")
    if raw is None:
        return None
    try:
        checks = _LIVE_CHECKS.validate_python(raw)[:LIVE_CHECK_LIMIT]
    except ValidationError as exc:
        return VerifyCheck(name="generated tests", ok=False,
                           detail=f"the stored manifest's live checks do not parse "
                                  f"({exc.error_count()} errors)")
    failed = live_check_problems(port, checks, version)
    return VerifyCheck(name="generated tests", ok=not failed,
                       detail="; ".join(failed) or f"{len(checks)} live checks passed")


_LIVE_CHECKS = TypeAdapter(list[LiveCheck])


@activity.defn
def record_reverification(command: RecordReverification) -> None:
    """The result's audit event, once per scheduled run and integration."""
    r = command.result
    _registry().add_event(
        f"{command.run_id}/{r.environment}/{r.slug}", EventType.VERIFICATION_COMPLETED,
        slug=r.slug, payload={"environment": r.environment, "version": r.version,
                              "ok": r.ok, "checks": [c.model_dump() for c in r.checks]},
        metadata={"workflow_id": command.run_id})


REVERIFY_ACTIVITIES = [live_integrations, reverify_live, record_reverification]

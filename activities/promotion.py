"""Promotion's side effects: the plan (the environment order and each one's entry policy,
from the settings) and the gates of one version at one commit (from the registry). The
live checks against an instance are the re-verification's ``reverify_live``, on the host."""

from __future__ import annotations

from temporalio import activity

from activities.deploy.steps import _registry
from infra.flags import flags_for
from infra.settings import get_settings
from models.events import EventType
from models.manifest import version_key
from models.promotion import (
    EnvironmentStep,
    GateVerdict,
    OlderVersionsQuery,
    PromotionGateQuery,
    PromotionPlan,
    PromotionPlanQuery,
)
from rules.promotion import GateRecords, after, entry_policy, gate_problems


@activity.defn
def promotion_plan(query: PromotionPlanQuery) -> PromotionPlan:
    """The environments after ``from_environment`` in the settings' order, each with how it
    is entered (its flags)."""
    settings = get_settings()
    return PromotionPlan(steps=[
        EnvironmentStep(environment=env, policy=entry_policy(flags_for(env)))
        for env in after(settings.environment_order, query.from_environment)],
        hosts=dict(settings.deploy_hosts))


def gate_records(slug: str, version: str, commit_sha: str) -> GateRecords:
    """What the registry holds about ``version`` of ``slug`` at ``commit_sha``."""
    registry = _registry()
    rows = [v for v in registry.versions(slug) if v.version == version]
    merged = None
    passed: set[str] = set()
    failed: set[str] = set()
    for event in registry.events(slug):  # oldest first: the newest result per env wins
        payload = event.payload
        if payload.get("version") != version or payload.get("commit_sha") != commit_sha:
            continue
        if event.type == EventType.VERSION_RECORDED:
            merged = payload
        elif event.type == EventType.VERIFICATION_COMPLETED:
            env = str(payload.get("environment", ""))
            (passed if payload.get("ok") is True else failed).add(env)
            (failed if payload.get("ok") is True else passed).discard(env)
    return GateRecords(version_sha=rows[0].commit_sha if rows else None, merged=merged,
                       live_checks_passed=frozenset(passed),
                       live_checks_failed=frozenset(failed))


@activity.defn
def check_promotion_gates(query: PromotionGateQuery) -> GateVerdict:
    """Whether the version at its commit may enter the next environment: every problem."""
    records = gate_records(query.slug, query.version, query.commit_sha)
    return GateVerdict(problems=gate_problems(
        records, version=query.version, commit_sha=query.commit_sha, previous=query.previous,
        approver=query.approver, needs_approval=query.needs_approval))


MAX_SUPERSEDED = 10  # the newest older versions told; older ones' promotions ended long ago


@activity.defn
def older_versions(query: OlderVersionsQuery) -> list[str]:
    """The recorded versions of the integration below ``query.version``, newest first (their
    promotions, if one still waits, are superseded by this one). A read."""
    mine = version_key(query.version)
    older = [v.version for v in _registry().versions(query.slug)
             if version_key(v.version) < mine]
    return sorted(older, key=version_key, reverse=True)[:MAX_SUPERSEDED]


PROMOTION_ACTIVITIES = [promotion_plan, check_promotion_gates, older_versions]

"""The side effects of pause, resume and deprecate: what is live where (registry), taking an
integration out of an environment's proxy and bringing it back (on the deploy host), and
removing its instances and backend slot."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deploy import instances
from activities.deploy.probes import check_health
from activities.deploy.steps import _registry
from activities.deploy.traffic_steps import proxy_of, routes_or_none
from activities.heartbeat import heartbeating
from activities.traffic import switch
from infra.settings import get_settings
from models.deploy import Runtime
from models.deployment import Color
from models.error_types import ErrorType
from models.lifecycle_actions import LifecyclePlan, LifecycleRequest, LiveInEnvironment
from registry.deployments import live_deployment, retire_live

DRAIN_S = 5.0  # a paused integration's in-flight requests get this long to finish


@activity.defn
def lifecycle_targets(request: LifecycleRequest) -> LifecyclePlan:
    """The integration's state and, per environment, its live deployment."""
    slug = request.slug
    registry = _registry()
    integration = registry.get(slug)
    hosts = get_settings().deploy_hosts
    manifests = {v.version: v.manifest for v in registry.versions(slug)}
    live = []
    for env in get_settings().environment_order:
        row = live_deployment(registry, slug, env.value)
        if row is None or not row.endpoint:
            continue
        health = dict(manifests.get(row.version, {}).get("health_check") or {})
        live.append(LiveInEnvironment(
            slug=slug, environment=env, version=row.version, color=row.color, endpoint=row.endpoint,
            host=hosts.get(env.value, ""), health_path=str(health.get("path") or
                                                           "/health/ready"),
            interval_s=float(health.get("interval_seconds") or 30.0)))
    return LifecyclePlan(state=integration.state, repo=integration.repo,
                         issue_number=integration.issue_number, live=live)


@activity.defn
def take_out_of_traffic(live: LiveInEnvironment) -> str:
    """Both colours in maintenance: the proxy answers for the integration (503), its
    instance keeps running. Idempotent."""
    with heartbeating(f"pausing {live.slug} in {live.environment}"):
        return _take_out(live)


def _take_out(live: LiveInEnvironment) -> str:
    proxy = proxy_of(live.environment)
    if routes_or_none(proxy, live.slug) is None:
        return f"{live.environment}: no route"
    for color in Color:
        switch.drain(proxy, live.slug, color, DRAIN_S, force=True)
    return f"{live.environment}: out of the proxy"


@activity.defn
def check_instance_health(live: LiveInEnvironment) -> str:
    """'' when the paused instance answers its health path; else a non-retryable refusal."""
    port = int(live.endpoint.rpartition(":")[2] or 0)
    problem = check_health(port, live.health_path)
    if problem:
        raise ApplicationError(f"{live.slug} is not healthy in {live.environment} "
                               f"({problem}): it stays paused; fix or redeploy it, then "
                               "resume again", type=ErrorType.INSTANCE_NOT_HEALTHY,
                               non_retryable=True)
    return ""


@activity.defn
def bring_back_into_traffic(live: LiveInEnvironment) -> str:
    """The live colour routed and given all traffic again. Idempotent."""
    proxy = proxy_of(live.environment)
    switch.ensure_proxy(proxy)
    switch.ensure_backend(proxy, live.slug)
    addr, _, port = live.endpoint.rpartition(":")
    switch.route_to(proxy, live.slug, live.color, addr or "127.0.0.1", int(port))
    switch.shift(proxy, live.slug, live.color, 100)
    return f"{live.environment}: {live.color.value} back in the proxy"


@activity.defn
def remove_from_environment(live: LiveInEnvironment) -> str:
    """Out of the proxy, every instance removed (images kept), the backend slot freed."""
    with heartbeating(f"removing {live.slug} from {live.environment}"):
        return _remove(live)


def _remove(live: LiveInEnvironment) -> str:
    _take_out(live)
    for runtime in (Runtime.DOCKER, Runtime.LOCAL):
        if runtime == Runtime.DOCKER and instances.docker_client() is None:
            continue
        for color in Color:
            instances.remove(runtime, live.environment, live.slug, color)
    proxy = proxy_of(live.environment)
    freed = routes_or_none(proxy, live.slug) is not None and switch.release_backend(
        proxy, live.slug)
    retire_live(_registry(), live.slug, live.environment.value, "deprecated")
    return f"{live.environment}: removed" + (", proxy slot freed" if freed else "")


LIFECYCLE_STEP_ACTIVITIES = [lifecycle_targets]
LIFECYCLE_HOST_ACTIVITIES = [take_out_of_traffic, check_instance_health,
                             bring_back_into_traffic, remove_from_environment]

"""The deployment workflow's activities, one side effect each, each safe to repeat.

Every activity reads the present state first (the registry, the instance by its fixed name,
HAProxy's servers) and only changes what differs, so a worker killed at any point and the
activity run again converges: never a second instance of a colour, never a route to an
instance that is gone (``shift_traffic`` and ``route_instance`` check the instance first).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.credentials import credentials_or_refuse
from activities.deploy import instances
from activities.deploy.probes import check_health, smoke_problems
from activities.deploy.traffic_steps import (
    carries_traffic,
    proxy_of,
    response_counts,
    routes_or_none,
)
from activities.faults import pause_point
from activities.flags import read_feature_flags
from activities.sandbox import NO_ENGINE
from activities.traffic import switch
from infra.settings import get_settings
from models.deploy import (
    BuildRequest,
    BuiltImage,
    DeployKind,
    DeploymentUpdate,
    DeployTuning,
    GateReport,
    HealthWait,
    Instance,
    LivePlan,
    RetireRequest,
    RollbackTraffic,
    Runtime,
    ShiftRequest,
    SmokeRequest,
    StartRequest,
    Target,
    WatchReport,
    WatchRequest,
)
from models.deployment import Color
from models.error_types import ErrorType
from models.manifest import IntegrationManifest
from registry.deployments import gate_report, live_deployment, record_deployment
from registry.store import Registry, UnknownIntegrationError, open_registry

T = TypeVar("T")
HEARTBEAT_EVERY_S = 1.0
UP_WAIT_S = 10.0


def _registry() -> Registry:
    return open_registry(get_settings().registry_url)


def refuse(message: str, kind: str) -> ApplicationError:
    """A failure no retry can fix: the workflow rolls back and reports ``message``."""
    return ApplicationError(message, type=kind, non_retryable=True)


def heartbeating(fn: Callable[[], T], every_s: float = HEARTBEAT_EVERY_S,
                 detail: list[str] | None = None) -> T:
    """Run ``fn`` in a thread while this activity heartbeats (long blocking calls), with
    ``detail[0]`` (e.g. the last build log line) as the heartbeat's detail."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the activity's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(every_s)
        activity.heartbeat(*(detail[:1] if detail else []))
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


# -- planning and gates ---------------------------------------------------------------------------

class PlanRequest(Target):
    version: str
    kind: DeployKind
    manifest_text: str = ""
    runtime: Runtime = Runtime.AUTO
    image: str = ""


@activity.defn
def plan_deployment(request: PlanRequest) -> LivePlan:
    """Which colour is live (registry), which one the new version takes, what to check."""
    registry = _registry()
    try:
        integration = registry.get(request.slug)
    except UnknownIntegrationError as exc:
        raise refuse(str(exc), "UnknownIntegration") from exc
    manifest_data: dict[str, object] = {}
    if request.manifest_text:
        try:
            manifest_data = json.loads(request.manifest_text)
            manifest = IntegrationManifest.model_validate(manifest_data)
        except ValueError as exc:
            raise refuse(f"the integration's manifest.json is invalid: {exc}",
                         "InvalidManifest") from exc
        if manifest.version != request.version:
            raise refuse(f"manifest.json says version {manifest.version}, the deployment "
                         f"asks for {request.version}: deploy the version the files hold",
                         "VersionMismatch")
    else:
        recorded = [v for v in registry.versions(request.slug) if v.version == request.version]
        manifest_data = recorded[0].manifest if recorded else {}
    health = dict(manifest_data.get("health_check") or {})  # type: ignore[call-overload]
    credentials_or_refuse(request.slug, str(request.environment), manifest_data)
    live = live_deployment(registry, request.slug, request.environment)
    runtime = instances.resolve(request.runtime, request.image)
    if runtime == Runtime.LOCAL and request.runtime == Runtime.AUTO and not (
            get_settings().sandbox_allow_local):
        raise refuse(f"internal error: {NO_ENGINE} (a deployment runs the integration's "
                     "code as well)", ErrorType.INTERNAL_SANDBOX_UNAVAILABLE)
    return LivePlan(
        live_color=live.color if live else None,
        live_version=live.version if live else "",
        live_endpoint=live.endpoint if live else "",
        new_color=switch.other(live.color) if live else Color.BLUE,
        capabilities=list(manifest_data.get("capabilities") or []),  # type: ignore[call-overload]
        health_path=str(health.get("path") or "/health/ready"),
        health_interval_s=float(health.get("interval_seconds") or 30.0),
        state=integration.state,
        runtime=runtime,
        tuning=environment_tuning(request.environment),
        host=get_settings().deploy_hosts.get(str(request.environment), ""),
    )


def environment_tuning(environment: str) -> DeployTuning:
    """DeployTuning's defaults with ``CCB_DEPLOY_TUNING``'s overrides for ``environment``."""
    overrides = get_settings().deploy_tuning.get(str(environment), {})
    try:
        return DeployTuning.model_validate(overrides)
    except ValueError as exc:
        raise refuse(f"CCB_DEPLOY_TUNING for {environment} is invalid ({exc}); fix the setting "
                     "(fields of DeployTuning, e.g. window_s, step_pause_s, steps)",
                     "InvalidSetting") from exc


@activity.defn
def check_gates(target: Target) -> GateReport:
    """Tests passed, security scan passed, approval obtained (the audit log); refuses when
    one is missing. Read-only."""
    login = get_settings().bot_login
    report = gate_report(_registry(), target.slug, frozenset({login, f"{login}[bot]"}))
    if report.missing:
        raise refuse(f"deployment of {target.slug} refused: gate(s) not passed: "
                     f"{', '.join(report.missing)}. Finish the review (tests, security scan, "
                     "approval) and deploy again.", "DeploymentGateMissing")
    return report


@activity.defn
def record_deployment_status(update: DeploymentUpdate) -> None:
    """Write this deployment's registry row (created once per key, then updated)."""
    t = update.target
    record_deployment(_registry(), key=t.deployment_key, slug=t.slug, version=update.version,
                      environment=t.environment, color=update.color, status=update.status,
                      image=update.image, endpoint=update.endpoint, workflow_id=t.workflow_id,
                      reason=update.reason)


# -- image and instance ----------------------------------------------------------------------

@activity.defn
def build_version(request: BuildRequest) -> BuiltImage:
    """Build the version's image (Docker) or source dir and venv (local), streaming the
    build log as heartbeats. Idempotent: an existing tag is not rebuilt."""
    prefix = f"integrations/{request.target.slug}/"
    files = {path[len(prefix):]: text for path, text in request.files.items()
             if path.startswith(prefix)}
    last: list[str] = [""]

    def on_log(line: str) -> None:  # the build's thread; the activity's thread heartbeats
        last[0] = line[:200]

    try:
        image, built, lines, note = heartbeating(lambda: instances.prepare(
            request.runtime, request.target.slug, request.tag, files,
            instances.labels_for_image(request.target.slug, request.version),
            on_log=on_log, before_build=lambda: pause_point("deploy.build")), detail=last)
    except instances.containers.ImageBuildError as exc:
        raise refuse(str(exc), "ImageBuildFailed") from exc
    return BuiltImage(tag=image, runtime=request.runtime, built=built, log_lines=lines,
                      isolation_note=note)


@activity.defn
def start_instance(request: StartRequest) -> Instance:
    """Start the new colour beside the live one. Idempotent: the instance of this colour is
    found by name; one left by another deployment is replaced only if the proxy routes
    nothing to it."""
    t = request.target
    proxy = proxy_of(t.environment)
    routes = routes_or_none(proxy, t.slug) or {}
    mine = routes.get(request.color)
    if carries_traffic(mine):
        ref = instances.find_color(request.runtime, t.environment, t.slug, request.color)
        raise refuse(
            f"{t.slug}/{request.color} in {t.environment} still takes traffic "
            f"({mine.status if mine else ''}, {ref[:12] or 'no instance'}): another deployment "
            "is in progress; wait for it to finish or roll back", "DeploymentInProgress")
    return heartbeating(lambda: instances.start(
        request.runtime, t.environment, t.slug, request.color, request.version, request.image,
        t.workflow_id, request.tuning))


@activity.defn
def wait_until_healthy(request: HealthWait) -> str:
    """Poll the container's HEALTHCHECK (reloaded each time) and the readiness path until
    both pass; refuses after the timeout with the last thing seen."""
    inst = request.instance
    deadline = time.monotonic() + request.timeout_s
    last = "no check ran yet"
    while time.monotonic() < deadline:
        activity.heartbeat(last)
        running, health = instances.status(inst)
        if not running:
            raise refuse(f"{inst.name} ({inst.version}) stopped before becoming healthy "
                         f"({health})", "VersionUnhealthy")
        ready = check_health(inst.port, request.health_path)
        if health in ("healthy", "none") and not ready:
            return f"healthy ({health}, {request.health_path} answers)"
        last = f"HEALTHCHECK {health}; " + (ready or f"{request.health_path} answers")
        time.sleep(0.3)
    raise refuse(f"{inst.version} never became healthy within {request.timeout_s:g} s: {last}",
                 "VersionUnhealthy")


@activity.defn
def run_smoke_checks(request: SmokeRequest) -> None:
    """Liveness, readiness, X-Version and a route per manifest operation. Read-only."""
    problems = smoke_problems(request.instance.port, request.instance.version,
                              request.capabilities)
    if problems:
        raise refuse(f"smoke checks of {request.instance.version} failed: "
                     + "; ".join(problems), "SmokeChecksFailed")


def _require_instance(inst: Instance) -> None:
    running, health = instances.status(inst)
    if not running:
        raise refuse(f"{inst.name} ({inst.version}) is gone or stopped ({health}); no traffic "
                     "is routed to it", "VersionGone")


# -- traffic -------------------------------------------------------------------------------

@activity.defn
def route_instance(request: ShiftRequest) -> None:
    """Make the new colour a server of the integration's backend (weight 0 while the live
    colour serves, all traffic on a first deployment). Starts the proxy if needed."""
    t, inst = request.target, request.instance
    _require_instance(inst)
    proxy = proxy_of(t.environment)
    switch.ensure_proxy(proxy)
    switch.ensure_backend(proxy, t.slug)
    switch.route_to(proxy, t.slug, inst.color, "127.0.0.1", inst.port)


@activity.defn
def shift_traffic(request: ShiftRequest) -> float:
    """Move ``percent`` of new connections to the new colour; the wall time it was done."""
    t, inst = request.target, request.instance
    _require_instance(inst)
    proxy = proxy_of(t.environment)
    routes = routes_or_none(proxy, t.slug) or {}
    mine = routes.get(inst.color)
    if mine is None or (mine.addr, mine.port) != ("127.0.0.1", inst.port):
        raise refuse(f"{t.slug}/{inst.color} is not routed to {inst.endpoint}; the proxy was "
                     "changed under the deployment", "RouteChanged")
    deadline = time.monotonic() + UP_WAIT_S  # HAProxy's first check of a new server
    while mine.status.startswith("DOWN") and time.monotonic() < deadline:
        activity.heartbeat(f"waiting for HAProxy to see {inst.color} up ({mine.status})")
        time.sleep(0.2)
        mine = (routes_or_none(proxy, t.slug) or {}).get(inst.color, mine)
    try:
        switch.shift(proxy, t.slug, inst.color, request.percent)
    except switch.SwitchError as exc:
        raise refuse(str(exc), "ShiftRefused") from exc
    done = time.time()
    pause_point("deploy.shift")
    return done


@activity.defn
def watch_version(request: WatchRequest) -> WatchReport:
    """Watch the new colour for ``seconds``: its readiness probed directly and its share of
    5xx/failed responses in HAProxy's counters. Refuses when either goes wrong."""
    t, inst, tuning = request.target, request.instance, request.tuning
    pause_point("deploy.window")
    proxy = proxy_of(t.environment)
    base_total, base_errors = response_counts(proxy, t.slug, inst.color)
    probes = failed = consecutive = total = errors = 0
    deadline = time.monotonic() + request.seconds
    while True:
        running, health = instances.status(inst)
        problem = "" if running else f"the instance is gone ({health})"
        problem = problem or check_health(inst.port, "/health/ready")
        probes += 1
        if problem:
            failed += 1
            consecutive += 1
        else:
            consecutive = 0
        if consecutive >= tuning.max_failed_probes:
            raise refuse(f"{inst.version} failed {consecutive} health probes in a row while "
                         f"watched: {problem}", "VersionUnhealthy")
        now_total, now_errors = response_counts(proxy, t.slug, inst.color)
        total, errors = now_total - base_total, now_errors - base_errors
        if total >= tuning.min_requests_for_rate and errors / total > tuning.max_error_rate:
            raise refuse(f"{inst.version} answered {errors} of {total} requests with errors "
                         f"({errors / total:.1%} > {tuning.max_error_rate:.1%})",
                         "ErrorRateTooHigh")
        activity.heartbeat(f"{total} requests, {errors} errors, {failed} failed probes")
        if time.monotonic() >= deadline:
            return WatchReport(requests=total, errors=errors, probes=probes,
                               failed_probes=failed)
        time.sleep(min(tuning.probe_interval_s, max(deadline - time.monotonic(), 0.01)))


@activity.defn
def retire_color(request: RetireRequest) -> bool:
    """Drain ``color`` (no new requests, in-flight ones finish within the timeout), put it in
    maintenance and remove its instance; the image is kept. True if all requests finished."""
    t = request.target
    proxy = proxy_of(t.environment)
    drained = True
    if routes_or_none(proxy, t.slug) is not None:
        result = heartbeating(lambda: switch.drain(proxy, t.slug, request.color,
                                                   request.drain_timeout_s, force=request.force))
        drained = result.drained
    for runtime in (Runtime.DOCKER, Runtime.LOCAL):
        if runtime == Runtime.DOCKER and instances.docker_client() is None:
            continue
        heartbeating(lambda rt=runtime: instances.remove(  # type: ignore[misc]
            rt, t.environment, t.slug, request.color, only_ref=request.only_ref))
    return drained


@activity.defn
def rollback_traffic(request: RollbackTraffic) -> None:
    """Compensation: all traffic back to the live colour if it still serves, then the new
    colour drained and its instance removed. Idempotent; reads the proxy first."""
    t = request.target
    proxy = proxy_of(t.environment)
    routes = routes_or_none(proxy, t.slug)
    live_serves = False
    if routes is not None and request.live_color is not None:
        live = routes[request.live_color]
        live_serves = carries_traffic(live) and not live.status.startswith("DOWN")
        if live_serves and carries_traffic(routes[request.new_color]):
            switch.shift(proxy, t.slug, request.live_color, 100)
    retire_color(RetireRequest(target=t, color=request.new_color,
                               drain_timeout_s=request.drain_timeout_s, force=not live_serves))


DEPLOY_ACTIVITIES: list[Callable[..., object]] = [
    read_feature_flags,  # the deployment reads its environment's flags through history
    plan_deployment,
    check_gates,
    record_deployment_status,
    build_version,
    start_instance,
    wait_until_healthy,
    run_smoke_checks,
    route_instance,
    shift_traffic,
    watch_version,
    retire_color,
    rollback_traffic,
]

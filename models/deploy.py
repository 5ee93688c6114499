"""Inputs and results of the blue-green deployment workflow, its activities and the monitor."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from models.deployment import Color, Environment
from models.flags import FeatureFlags
from models.health import HealthPolicy, IncidentRef, Severity, TimelineEntry, TrafficSample
from models.manifest import SEMVER_PATTERN
from models.request import SLUG_PATTERN


class Runtime(StrEnum):
    AUTO = "auto"  # Docker when an engine answers, else local processes
    DOCKER = "docker"
    LOCAL = "local"


class DeployKind(StrEnum):
    DEPLOY = "deploy"  # a new version: gates checked, image built from the files
    ROLLBACK = "rollback"  # an earlier version again: its kept image, gates passed back then


LOCAL_ISOLATION_NOTE = (
    "no Docker engine: the version runs as a local process (own source dir and venv, "
    "loopback port) without container isolation, resource limits or a HEALTHCHECK"
)


class DeployTuning(BaseModel):
    """How the switch moves: steps, pauses, window, limits. Defaults follow kamal/Argo."""

    steps: list[int] = Field(default_factory=lambda: [10, 50, 100])
    step_pause_s: float = Field(default=5.0, ge=0)  # watched like the window
    window_s: float = Field(default=30.0, ge=0)
    drain_timeout_s: float = Field(default=30.0, ge=0)
    health_timeout_s: float = Field(default=60.0, gt=0)
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    min_requests_for_rate: int = Field(default=20, ge=1)
    max_failed_probes: int = Field(default=2, ge=1)
    probe_interval_s: float = Field(default=0.5, gt=0)
    approval_timeout_s: float = Field(default=24 * 3600, gt=0)
    cpus: float = Field(default=1.0, gt=0)
    memory_mb: int = Field(default=256, ge=32)
    pids: int = Field(default=256, ge=16)

    @model_validator(mode="after")
    def _steps_end_at_100(self) -> DeployTuning:
        if not self.steps or self.steps[-1] != 100 or any(
                not 0 < s <= 100 for s in self.steps) or self.steps != sorted(set(self.steps)):
            raise ValueError(f"steps must rise strictly to 100 (e.g. [10, 50, 100] or [100]), "
                             f"got {self.steps}")
        return self


class DeployInput(BaseModel):
    """One deployment of ``slug`` at ``version`` into ``environment``.

    ``files`` are the repository's files of ``integrations/<slug>/`` (path -> text), as the
    creation workflow holds them; ``commit_sha`` is the merged commit (the image tag's short
    sha; a hash of the files when empty). A rollback names ``image`` instead of files.
    """

    slug: str = Field(pattern=SLUG_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)
    environment: Environment = Environment.DEVELOPMENT
    files: dict[str, str] = Field(default_factory=dict)
    commit_sha: str = Field(default="", pattern=r"^[0-9a-fA-F]*$", max_length=64)
    kind: DeployKind = DeployKind.DEPLOY
    image: str = ""  # rollback: the kept image (or local source dir) of that version
    runtime: Runtime = Runtime.AUTO
    flags: FeatureFlags | None = None  # None: the environment's flags (models/flags.py)
    traffic_approved: bool = False  # pre-approval where flags.traffic_approval is on
    tuning: DeployTuning | None = None  # None: the environment's (CCB_DEPLOY_TUNING)
    start_monitor: bool = True  # leave the integration's health monitor running afterwards
    actor: str = "ccb-bot"
    reason: str = ""

    @model_validator(mode="after")
    def _source(self) -> DeployInput:
        if self.kind == DeployKind.DEPLOY and not self.files:
            raise ValueError("a deployment needs the integration's files")
        if self.kind == DeployKind.ROLLBACK and not self.image:
            raise ValueError("a rollback needs the kept image of the version it goes back to")
        prefix = f"integrations/{self.slug}/"
        stray = sorted(p for p in self.files if not p.startswith(prefix) or ".." in p)
        if stray:
            raise ValueError(f"files must lie under {prefix}: {', '.join(stray[:5])}")
        return self

    @property
    def short_sha(self) -> str:
        if self.commit_sha:
            return self.commit_sha[:7].lower()
        digest = hashlib.sha256()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path].encode() + b"\0")
        return digest.hexdigest()[:7]

    @property
    def image_tag(self) -> str:
        return self.image or f"{self.slug}:{self.version}-{self.short_sha}"


def deploy_workflow_id(environment: Environment | str, slug: str, version: str) -> str:
    return f"deploy-{Environment(environment).value}-{slug}-{version}"


def monitor_workflow_id(environment: Environment | str, slug: str) -> str:
    return f"monitor-{Environment(environment).value}-{slug}"


# -- activity commands and results -------------------------------------------------------------

class Target(BaseModel):
    """Which integration, environment and (where it matters) deployment an activity acts on."""

    slug: str
    environment: Environment
    deployment_key: str = ""  # the registry row of this deployment
    workflow_id: str = ""


class GateReport(BaseModel):
    tests_passed: bool
    security_scan_passed: bool
    approval_obtained: bool
    missing: list[str] = Field(default_factory=list)


class BuildRequest(BaseModel):
    target: Target
    version: str
    tag: str
    files: dict[str, str]
    runtime: Runtime


class BuiltImage(BaseModel):
    tag: str  # docker image tag, or the local source directory
    runtime: Runtime
    built: bool  # False when it already existed
    log_lines: int = 0
    isolation_note: str = ""


class StartRequest(BaseModel):
    target: Target
    version: str
    image: str
    color: Color
    runtime: Runtime
    tuning: DeployTuning


class Instance(BaseModel):
    """One running version: a container or a local process, on a loopback port."""

    runtime: Runtime
    color: Color
    version: str
    image: str
    ref: str  # container id, or "pid:<n>"
    name: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"


class HealthWait(BaseModel):
    target: Target
    instance: Instance
    timeout_s: float
    health_path: str = "/health/ready"


class SmokeRequest(BaseModel):
    target: Target
    instance: Instance
    capabilities: list[str] = Field(default_factory=list)


class ShiftRequest(BaseModel):
    target: Target
    instance: Instance
    percent: int = Field(ge=0, le=100)


class WatchRequest(BaseModel):
    target: Target
    instance: Instance
    seconds: float
    tuning: DeployTuning


class WatchReport(BaseModel):
    requests: int
    errors: int
    probes: int
    failed_probes: int


class RetireRequest(BaseModel):
    """Drain a colour in the proxy and remove its instance (the image is kept)."""

    target: Target
    color: Color
    drain_timeout_s: float
    force: bool = False
    only_ref: str = ""  # remove the instance only if it is this one (a crash-safe guard)


class RollbackTraffic(BaseModel):
    """Compensation: traffic back to ``live_color`` (when it serves), the new colour gone."""

    target: Target
    new_color: Color
    live_color: Color | None
    drain_timeout_s: float


class DeploymentUpdate(BaseModel):
    """A registry write of this deployment's row (created once per key, then updated)."""

    target: Target
    version: str
    color: Color
    status: str
    image: str = ""
    endpoint: str = ""
    reason: str = ""


class LivePlan(BaseModel):
    """What the registry says before a deployment: which colour is live, the new colour."""

    live_color: Color | None
    live_version: str = ""
    live_endpoint: str = ""
    new_color: Color
    capabilities: list[str] = Field(default_factory=list)
    health_path: str = "/health/ready"
    health_interval_s: float = 30.0
    state: str = ""
    runtime: Runtime = Runtime.DOCKER
    tuning: DeployTuning = Field(default_factory=DeployTuning)  # the environment's
    host: str = ""  # the deploy host the environment names ("" the default host)


class DeployResult(BaseModel):
    slug: str
    version: str
    environment: Environment
    status: str
    color: Color
    image: str
    endpoint: str
    runtime: Runtime
    isolation_note: str = ""
    previous_version: str = ""
    started_at: float = 0.0  # wall clock of the workflow's steps (seconds since the epoch)
    first_shift_at: float = 0.0
    full_shift_at: float = 0.0
    finished_at: float = 0.0


class DeployProgress(BaseModel):
    """What the `status` query returns."""

    step: str
    color: Color | None = None
    percent: int = 0
    waiting_for_approval: bool = False
    detail: str = ""


# -- monitoring ---------------------------------------------------------------------------------

class MonitorInput(BaseModel):
    slug: str = Field(pattern=SLUG_PATTERN)
    environment: Environment = Environment.DEVELOPMENT
    interval_s: float | None = Field(default=None, gt=0)  # None: the manifest's interval
    failure_threshold: int = Field(default=3, ge=1)
    auto_rollback: bool | None = None  # None: the environment's flag
    rollback_tuning: DeployTuning = Field(
        default_factory=lambda: DeployTuning(steps=[100], step_pause_s=0, window_s=10))
    checks_per_run: int = Field(default=500, ge=1)  # continue-as-new after this many
    host: str = ""  # the deploy host whose proxy the probes ask ("" the default host)
    max_checks: int = Field(default=0, ge=0)  # stop after this many in all (0: never; tests)
    # carried over by continue-as-new
    checks_done: int = 0
    consecutive_failures: int = 0
    alerted: bool = False
    alerts: int = 0
    # incidents (``monitor-incidents``): the policy, the last samples, the open incident
    policy: HealthPolicy = Field(default_factory=HealthPolicy)
    samples: list[TrafficSample] = Field(default_factory=list)
    bad_checks: int = 0
    incident: IncidentRef | None = None
    incident_severity: Severity | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    incidents: int = 0


class ProbeResult(BaseModel):
    ok: bool
    version: str = ""
    endpoint: str = ""
    reason: str = ""
    interval_s: float = 30.0
    routes_restored: bool = False
    has_live: bool = True
    # The proxy's cumulative counters for the backend (-1: not known, e.g. no proxy) and how
    # long /health/ready took; ``degraded`` is what a ready answer said of itself, if not ok.
    requests_total: int = -1
    errors_5xx: int = -1
    latency_ms: float = 0.0
    degraded: str = ""


class AlertCommand(BaseModel):
    target: Target
    alert_id: str
    reason: str
    failures: int
    version: str = ""


class RollbackPlan(BaseModel):
    """The last good version before the live one, with its kept image, if any."""

    version: str = ""
    image: str = ""
    runtime: Runtime = Runtime.AUTO

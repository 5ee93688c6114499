"""Types of the blue-green traffic switch: the proxy of one environment, its routes, and what
HAProxy's runtime API reports about them."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from models.deployment import Color
from models.request import SLUG_PATTERN

# The listening port of each environment's proxy unless the caller chooses another.
DEFAULT_PROXY_PORTS: dict[str, int] = {"development": 8500, "staging": 8501, "production": 8502}
# How many integrations one proxy can route without a restart (one backend slot each).
DEFAULT_SLOTS = 32
# Every colour's server is declared with this weight, so a weight is also a percentage.
# (A server declared with weight 0 never takes traffic later, see notes/deploy.md.)
FULL_WEIGHT = 100
# HAProxy's SRV_ADMF_* bits: FMAINT|IMAINT|RMAINT|HMAINT, and FDRAIN|IDRAIN. (CMAINT, 0x04,
# only remembers that the config said ``disabled``; it stays set after ``state ready``.)
ADMIN_MAINT_BITS = 0x01 | 0x02 | 0x20 | 0x40
ADMIN_DRAIN_BITS = 0x08 | 0x10
ENV_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}$"


class ServerAdminState(StrEnum):
    """What the runtime API's ``set server <be>/<srv> state`` accepts."""

    READY = "ready"  # takes new requests according to its weight
    DRAIN = "drain"  # no new requests, in-flight (and sticky) ones finish
    MAINT = "maint"  # no traffic at all


class ProxySpec(BaseModel):
    """One environment's HAProxy process: where it listens and where its files live."""

    environment: str = Field(pattern=ENV_NAME_PATTERN)
    port: int = Field(ge=1, le=65535)
    data_dir: Path
    listen_host: str = "127.0.0.1"
    slots: int = Field(default=DEFAULT_SLOTS, ge=1, le=1000)
    # Seconds the soft stop may take before HAProxy closes what remains.
    hard_stop_after_s: int = Field(default=30, ge=1)

    def path(self, suffix: str) -> Path:
        """A file of this proxy under data_dir, e.g. ``haproxy-staging.cfg``."""
        return (self.data_dir / f"haproxy-{self.environment}.{suffix}").resolve()

    @property
    def config_path(self) -> Path:
        return self.path("cfg")

    @property
    def socket_path(self) -> Path:
        return self.path("sock")

    @property
    def pid_path(self) -> Path:
        return self.path("pid")

    @property
    def map_path(self) -> Path:
        """The routing map: one line ``<slug> <slot backend>`` per integration."""
        return self.path("map")

    @property
    def lock_path(self) -> Path:
        return self.path("lock")

    @property
    def url(self) -> str:
        return f"http://{self.listen_host}:{self.port}"


class ServerStatus(BaseModel):
    """One server (colour) of one backend, as ``show stat`` reports it."""

    backend: str
    name: str
    addr: str
    port: int
    weight: int  # the user weight (percent here), as ``set weight`` set it
    status: str  # HAProxy's words: UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/3", ...
    current_sessions: int
    queued: int
    total_sessions: int
    admin_bits: int  # srv_admin_state of ``show servers state``

    @property
    def admin_state(self) -> ServerAdminState:
        """The administrative state the admin bits say (forced, inherited, DNS, health)."""
        if self.admin_bits & ADMIN_MAINT_BITS:
            return ServerAdminState.MAINT
        if self.admin_bits & ADMIN_DRAIN_BITS:
            return ServerAdminState.DRAIN
        return ServerAdminState.READY


class BackendRef(BaseModel):
    """Where an integration is served: the proxy's URL and the Host header that selects it."""

    slug: str = Field(pattern=SLUG_PATTERN)
    environment: str
    backend: str  # the slot backend's name inside HAProxy, e.g. ``slot03``
    url: str  # send requests here ...
    host_header: str  # ... with this Host header (``<slug>`` or ``<slug>.<anything>``)


class Route(BaseModel):
    """One colour of one integration as it is routed right now."""

    slug: str
    color: Color
    addr: str
    port: int
    weight: int  # percent of new connections, 0..100
    state: ServerAdminState
    status: str
    current_sessions: int


class DesiredRoute(BaseModel):
    """One colour of one integration as the registry says it should be routed."""

    slug: str = Field(pattern=SLUG_PATTERN)
    color: Color
    addr: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    weight: int = Field(ge=0, le=FULL_WEIGHT)
    state: ServerAdminState = ServerAdminState.READY


class DrainResult(BaseModel):
    """What ``drain`` saw: whether every in-flight request of the colour finished in time."""

    slug: str
    color: Color
    drained: bool
    remaining_sessions: int
    waited_s: float
    final_state: ServerAdminState

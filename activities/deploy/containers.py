"""Docker side of a deployment: build an integration's image, run one colour's container.

Every function reads the engine's state first: an image that exists is not rebuilt, a
container is found by its fixed name (one per colour, see ``naming``), so a repeat after a
crash converges instead of adding a second container.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import LogConfig

from activities.sandbox.base_image import ensure_base_image
from infra.secrets import secret_store
from infra.settings import get_settings
from models.deploy import DeployTuning
from rules.credentials import credential_names, problem_with

CONTAINER_PORT = "8000/tcp"
NANOS = 1_000_000_000
# The deployment polls health faster than an image's own HEALTHCHECK interval (often 30 s,
# and Docker runs the first check only after one interval): override the timing, keep the test.
HEALTH_INTERVAL_S = 1
HEALTH_TIMEOUT_S = 3
HEALTH_RETRIES = 3
STOP_TIMEOUT_S = 5

LogCallback = Callable[[str], None]


class ImageBuildError(RuntimeError):
    """``docker build`` failed; the message carries the builder's own error."""


def has_image(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def build_image(client: docker.DockerClient, files: dict[str, str], tag: str,
                labels: dict[str, str], on_log: LogCallback,
                before_build: Callable[[], None] = lambda: None) -> tuple[bool, int]:
    """Build ``tag`` from ``files`` (paths relative to the build context) unless it exists.

    Offline: the base image is built locally, the build has no network. Returns whether a
    build happened and how many log lines it streamed to ``on_log``.
    """
    if has_image(client, tag):
        return False, 0
    if "Dockerfile" not in files:
        raise ImageBuildError("the integration has no Dockerfile next to its manifest")
    ensure_base_image(client, on_log)
    labels = {**labels, LABEL_ENV_NAMES: ",".join(configured_env_names(files))}
    work = get_settings().data_dir.resolve() / "deploy" / "build"
    work.mkdir(parents=True, exist_ok=True)
    lines = 0
    with tempfile.TemporaryDirectory(dir=work, prefix="context-") as tmp:
        for rel, text in files.items():
            target = Path(tmp) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        before_build()
        chunks: Iterator[dict[str, Any]] = client.api.build(
            path=tmp, tag=tag, rm=True, forcerm=True, pull=False, network_mode="none",
            decode=True, labels=labels)
        for chunk in chunks:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                raise ImageBuildError(f"docker build of {tag} failed: {detail.strip()}")
            for line in (chunk.get("stream") or chunk.get("status") or "").splitlines():
                if line.strip():
                    lines += 1
                    on_log(line.rstrip())
    if not has_image(client, tag):
        raise ImageBuildError(f"docker build of {tag} ended without producing the image")
    return True, lines


LABEL_ENV_NAMES = "ccb.env-names"


def configured_env_names(files: dict[str, str]) -> list[str]:
    """Names of the environment variables the manifest says the service reads (credentials);
    never one of the bot's own (``rules.credentials``)."""
    return [n for n in credential_names(files.get("manifest.json", "{}"))
            if problem_with(n) is None]


def environment_for(built: Image, labels: dict[str, str]) -> dict[str, str]:
    """Values for the image's configured names, read here, inside the activity, from the
    integration's own secret store for its environment (never from the worker's
    environment): secrets travel by name only through workflows and histories."""
    from activities.deploy.naming import LABEL_ENVIRONMENT, LABEL_SLUG

    names = [n for n in built.labels.get(LABEL_ENV_NAMES, "").split(",") if n]
    return secret_store().values(labels[LABEL_SLUG], labels[LABEL_ENVIRONMENT], names)


# Integrations share one bridge network with inter-container traffic off: a container
# reaches the outside world as before, but neither another integration nor a bot service
# running in a container; the host reaches it only through its loopback-published port.
INTEGRATION_NETWORK = "ccb-integrations"
NO_ICC = {"com.docker.network.bridge.enable_icc": "false"}
NOBODY = "65534:65534"


def integration_network(client: docker.DockerClient) -> str:
    """The integrations' network, created once (idempotent), checked to have ICC off."""
    try:
        network = client.networks.get(INTEGRATION_NETWORK)
    except NotFound:
        try:
            network = client.networks.create(INTEGRATION_NETWORK, driver="bridge",
                                             options=NO_ICC, labels={"ccb": "1"})
        except APIError:  # another worker created it meanwhile
            network = client.networks.get(INTEGRATION_NETWORK)
    options = network.attrs.get("Options") or {}
    if options.get("com.docker.network.bridge.enable_icc") != "false":
        raise ImageBuildError(f"the Docker network {INTEGRATION_NETWORK} exists with "
                              "inter-container traffic on; remove it (docker network rm "
                              f"{INTEGRATION_NETWORK}) and the bot recreates it with it off")
    return INTEGRATION_NETWORK


def run_as(built: Image) -> str | None:
    """The user to force on a container of ``image``: uid 65534 when the image would run as
    root (its checked Dockerfile says otherwise, but an image is not trusted on its word)."""
    user = str((built.attrs.get("Config") or {}).get("User") or "")
    name, _, group = user.partition(":")
    root = not name or name == "root" or (name.isdigit() and int(name) == 0) or (
        group == "root" or (group.isdigit() and int(group) == 0))
    return NOBODY if root else None


def find(client: docker.DockerClient, name: str) -> Container | None:
    try:
        return client.containers.get(name)
    except NotFound:
        return None


def run(client: docker.DockerClient, name: str, image: str, labels: dict[str, str],
        tuning: DeployTuning, deployment: str) -> Container:
    """The running container ``name`` of ``image`` for ``deployment``; created when missing.

    A container of that name left by another deployment (or another image) is replaced: the
    caller has checked that the proxy routes nothing to it.
    """
    from activities.deploy.naming import LABEL_DEPLOYMENT

    existing = find(client, name)
    if existing is not None:
        same = (existing.labels.get(LABEL_DEPLOYMENT) == deployment
                and existing.attrs.get("Config", {}).get("Image") == image)
        if same:
            if existing.status != "running":
                existing.start()
                existing.reload()
            return existing
        remove(client, name)
    built = client.images.get(image)  # its labels name the credentials, its config the user
    container = client.containers.create(
        image,
        name=name,
        labels=labels,
        environment=environment_for(built, labels),
        user=run_as(built),
        network=integration_network(client),
        detach=True,
        ports={CONTAINER_PORT: ("127.0.0.1", None)},  # loopback only, an ephemeral port
        healthcheck={"test": [], "interval": HEALTH_INTERVAL_S * NANOS,
                     "timeout": HEALTH_TIMEOUT_S * NANOS, "retries": HEALTH_RETRIES,
                     "start_period": 0},
        mem_limit=f"{tuning.memory_mb}m",
        memswap_limit=f"{tuning.memory_mb}m",
        nano_cpus=int(tuning.cpus * NANOS),
        pids_limit=tuning.pids,
        read_only=True,
        tmpfs={"/tmp": "size=64m,mode=1777"},  # noqa: S108 - the container's own tmpfs
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        log_config=LogConfig(type="json-file", config={"max-size": "10m", "max-file": "2"}),
    )
    try:
        container.start()
    except APIError:
        remove(client, name)
        raise
    container.reload()
    return container


def host_port(container: Container) -> int:
    """The loopback port Docker published the service on (0 while it has none or is gone)."""
    try:
        container.reload()
    except NotFound:
        return 0
    bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(
        CONTAINER_PORT) or []
    for binding in bindings:
        if binding.get("HostIp") in ("127.0.0.1", "") and binding.get("HostPort"):
            return int(binding["HostPort"])
    return 0


def health(container: Container) -> tuple[str, str]:
    """(state, health) after a fresh ``reload``: e.g. ("running", "healthy"); health is
    "none" for an image without HEALTHCHECK. The last failing check's output, if any, is
    appended to an "unhealthy"."""
    try:
        container.reload()  # `.health` and `.attrs` are a cached snapshot otherwise
    except NotFound:
        return "removed", "removed"
    state = container.attrs.get("State", {})
    info = state.get("Health") or {}
    status = info.get("Status") or "none"
    if status == "unhealthy" and info.get("Log"):
        status += f" ({(info['Log'][-1].get('Output') or '').strip()[:200]})"
    return state.get("Status", "unknown"), status


def remove(client: docker.DockerClient, name: str, only_id: str = "") -> bool:
    """Stop and remove container ``name`` (its image is kept); False if it was not there.

    With ``only_id`` nothing happens unless the container is that one.
    """
    container = find(client, name)
    if container is None or (only_id and container.id != only_id):
        return False
    try:
        container.stop(timeout=STOP_TIMEOUT_S)
    except (APIError, NotFound):
        pass
    try:
        container.remove(force=True)
    except NotFound:
        return False
    except APIError as exc:
        if "already in progress" not in str(exc):
            raise
    return True


def containers_of(client: docker.DockerClient, labels: dict[str, str]) -> list[Container]:
    """Every container (running or not) carrying all of ``labels``; one removed between
    the listing and its inspection (another step, the reaper) is simply not there."""
    filters = [f"{key}={value}" for key, value in labels.items()]
    return list(client.containers.list(all=True, filters={"label": filters},
                                       ignore_removed=True))


def copy_tree(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, dirs_exist_ok=True)

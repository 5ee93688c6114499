"""One colour's instance on either runtime (Docker container or local process), behind one
set of functions: which runtime answers, prepare a version, start, find, check, remove."""

from __future__ import annotations

from collections.abc import Callable

from activities.deploy import containers, local_processes
from activities.deploy.naming import LABEL_PREFIX, instance_labels, instance_name
from activities.sandbox.docker_runner import docker_client
from models.deploy import LOCAL_ISOLATION_NOTE, DeployTuning, Instance, Runtime
from models.deployment import Color

LOCAL_PREFIX = "pid:"


def resolve(requested: Runtime, image: str = "") -> Runtime:
    """The runtime to use: a local source dir means local; AUTO means Docker if it answers."""
    if image.startswith("/"):
        return Runtime.LOCAL
    if requested != Runtime.AUTO:
        return requested
    return Runtime.DOCKER if docker_client() is not None else Runtime.LOCAL


def _docker() -> containers.docker.DockerClient:
    client = docker_client(timeout=30)
    if client is None:
        raise containers.ImageBuildError(
            "no Docker engine answers: run scripts/ensure-docker.sh, or deploy with the "
            "local runtime (weaker isolation)")
    return client


def prepare(runtime: Runtime, slug: str, tag: str, files: dict[str, str],
            labels: dict[str, str], on_log: Callable[[str], None],
            before_build: Callable[[], None]) -> tuple[str, bool, int, str]:
    """(image, built, log lines, isolation note) of a version made ready to start."""
    if runtime == Runtime.DOCKER:
        built, lines = containers.build_image(_docker(), files, tag, labels, on_log,
                                              before_build)
        return tag, built, lines, ""
    before_build()
    source, built = local_processes.prepare(slug, tag, files)
    on_log(f"prepared {source} ({'new' if built else 'kept'} venv)")
    return str(source), built, 1, LOCAL_ISOLATION_NOTE


def start(runtime: Runtime, environment: str, slug: str, color: Color, version: str,
          image: str, deployment: str, tuning: DeployTuning) -> Instance:
    name = instance_name(environment, slug, color)
    if runtime == Runtime.DOCKER:
        client = _docker()
        labels = instance_labels(environment, slug, color, version, deployment)
        container = containers.run(client, name, image, labels, tuning, deployment)
        return Instance(runtime=runtime, color=color, version=version, image=image,
                        ref=container.id or "", name=name, port=containers.host_port(container))
    from pathlib import Path

    pid, port = local_processes.start(name, Path(image), version, deployment)
    return Instance(runtime=runtime, color=color, version=version, image=image,
                    ref=f"{LOCAL_PREFIX}{pid}", name=name, port=port)


def status(instance: Instance) -> tuple[bool, str]:
    """(exists and runs, the runtime's health word): "healthy", "starting", "none", ..."""
    if instance.runtime == Runtime.DOCKER:
        container = containers.find(_docker(), instance.name)
        if container is None or container.id != instance.ref:
            return False, "removed"
        state, health = containers.health(container)
        return state == "running", health
    record = local_processes.read_state(instance.name)
    alive = record is not None and f"{LOCAL_PREFIX}{record['pid']}" == instance.ref
    return alive, "none" if alive else "exited"


def find_color(runtime: Runtime, environment: str, slug: str, color: Color) -> str:
    """The ref of the instance of ``color`` now ("" when none exists)."""
    name = instance_name(environment, slug, color)
    if runtime == Runtime.DOCKER:
        container = containers.find(_docker(), name)
        return (container.id or "") if container is not None else ""
    state = local_processes.read_state(name)
    return f"{LOCAL_PREFIX}{state['pid']}" if state else ""


def remove(runtime: Runtime, environment: str, slug: str, color: Color,
           only_ref: str = "") -> bool:
    """Remove the instance of ``color`` (its image or source dir is kept)."""
    name = instance_name(environment, slug, color)
    if runtime == Runtime.DOCKER:
        return containers.remove(_docker(), name, only_id=only_ref)
    only_pid = int(only_ref[len(LOCAL_PREFIX):]) if only_ref.startswith(LOCAL_PREFIX) else 0
    return local_processes.stop(name, only_pid=only_pid)


def labels_for_image(slug: str, version: str) -> dict[str, str]:
    return {LABEL_PREFIX: "1", f"{LABEL_PREFIX}.image.slug": slug,
            f"{LABEL_PREFIX}.image.version": version}

"""The sandbox's base image ``ccb-base:<content hash>`` (also ``ccb-base:latest``), built offline.

No registry can be pulled from, so: debootstrap makes a Debian root filesystem from the mirror
apt already uses, ``docker import`` turns it into ``ccb-base-rootfs:<hash>``, and the classic
builder (network "none") adds a venv whose wheels ``pip download`` fetched on the host into the
build context. The tag is a hash of the recipe (images/sandbox/*), so each recipe is built once
per machine; a file lock keeps two workers from building it at the same time.

    python -m activities.sandbox.base_image   # builds when missing, prints the tag and duration
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import logging
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound

from infra.settings import get_settings

log = logging.getLogger(__name__)

RECIPE_DIR = Path(__file__).resolve().parents[2] / "images" / "sandbox"
RECIPE_FILES = ("Dockerfile", "requirements.txt", "rootfs.conf")
IMAGE_NAME = "ccb-base"
ROOTFS_NAME = "ccb-base-rootfs"
PYTHON_VERSION = "3.11"  # Debian bookworm's python3; the wheels are chosen for it
DEFAULT_MIRROR = "http://deb.debian.org/debian"

LogCallback = Callable[[str], None]


class BaseImageError(RuntimeError):
    """The base image could not be built; the message says why and what to do."""


def recipe() -> dict[str, str]:
    """The KEY=VALUE lines of rootfs.conf."""
    values: dict[str, str] = {}
    for line in (RECIPE_DIR / "rootfs.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _digest(names: tuple[str, ...]) -> str:
    sha = hashlib.sha256(platform.machine().encode())
    for name in names:
        sha.update(name.encode() + b"\0" + (RECIPE_DIR / name).read_bytes() + b"\0")
    return sha.hexdigest()[:12]


def base_image_tag() -> str:
    """``ccb-base:<hash of the whole recipe>``."""
    return f"{IMAGE_NAME}:{_digest(RECIPE_FILES)}"


def rootfs_image_tag() -> str:
    """``ccb-base-rootfs:<hash of rootfs.conf>``."""
    return f"{ROOTFS_NAME}:{_digest(('rootfs.conf',))}"


def debian_mirror() -> str:
    """The Debian mirror apt already uses (deb822 .sources or one-line .list files)."""
    files = sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    files += ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]
    for name in files:
        with contextlib.suppress(OSError):
            text = Path(name).read_text()
            for stanza in text.split("\n\n"):
                if "debian-security" in stanza or "debian" not in stanza:
                    continue
                for line in stanza.splitlines():
                    words = line.split()
                    if line.startswith("URIs:") and len(words) > 1:
                        return words[1]
                    if words[:1] == ["deb"]:
                        uri = next((w for w in words[1:] if "://" in w), "")
                        if uri:
                            return uri
    return DEFAULT_MIRROR


def _stream(cmd: list[str], on_log: LogCallback, what: str) -> None:
    """Runs ``cmd``, handing each output line to ``on_log``; BaseImageError when it fails."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        on_log(line.rstrip())
        lines = [*lines[-19:], line.rstrip()]
    if proc.wait() != 0:
        raise BaseImageError(f"{what} failed (exit {proc.returncode}): " + " | ".join(lines[-5:]))


@contextlib.contextmanager
def _build_lock(work: Path) -> Iterator[None]:
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _has_image(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def build_rootfs_image(client: docker.DockerClient, work: Path, on_log: LogCallback) -> str:
    """debootstrap + docker import -> ``ccb-base-rootfs:<hash>``."""
    tag = rootfs_image_tag()
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    if not Path(debootstrap).exists():
        raise BaseImageError("debootstrap is missing: install Debian's debootstrap "
                             "(scripts/ensure-docker.sh does)")
    conf = recipe()
    root, tarball = work / "rootfs.tmp", work / "rootfs.tar"
    shutil.rmtree(root, ignore_errors=True)
    mirror = debian_mirror()
    on_log(f"debootstrap {conf['SUITE']} from {mirror} into {root}")
    _stream([debootstrap, f"--variant={conf['VARIANT']}", f"--include={conf['INCLUDE']}",
             conf["SUITE"], str(root), mirror], on_log, "debootstrap")
    excludes = [f"--exclude={pattern}" for pattern in conf.get("EXCLUDE", "").split()]
    _stream(["tar", "-C", str(root), *excludes, "--numeric-owner", "-cf", str(tarball), "."],
            on_log, "tar of the rootfs")
    shutil.rmtree(root, ignore_errors=True)
    repository, _, version = tag.partition(":")
    on_log(f"docker import {tarball} {tag}")
    try:
        client.api.import_image_from_file(str(tarball), repository=repository, tag=version)
    finally:
        tarball.unlink(missing_ok=True)
    if not _has_image(client, tag):
        raise BaseImageError(f"docker import did not produce {tag}")
    return tag


def download_wheels(work: Path, on_log: LogCallback) -> Path:
    """The wheels of requirements.txt for the image's Python, downloaded once (PyPI)."""
    dest = work / f"wheels-{_digest(('requirements.txt',))}"
    if (dest / ".complete").exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    machine = platform.machine()
    platforms = [f"--platform={p}_{machine}" for p in
                 ("manylinux2014", "manylinux_2_28", "manylinux_2_34", "linux")]
    _stream([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
             "--only-binary=:all:", *platforms, f"--python-version={PYTHON_VERSION}",
             "--implementation=cp", "-r", str(RECIPE_DIR / "requirements.txt"),
             "-d", str(dest)], on_log, "pip download of the sandbox's wheels")
    (dest / ".complete").touch()
    return dest


def _docker_build(client: docker.DockerClient, context: Path, tag: str, rootfs: str,
                  on_log: LogCallback) -> None:
    chunks: Iterator[dict[str, Any]] = client.api.build(
        path=str(context), tag=tag, buildargs={"ROOTFS": rootfs}, rm=True, forcerm=True,
        pull=False, network_mode="none", decode=True, labels={"ccb.image": "base"})
    for chunk in chunks:
        if "error" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
            raise BaseImageError(f"docker build of {tag} failed: {detail}")
        text = chunk.get("stream") or chunk.get("status") or ""
        for line in text.splitlines():
            if line.strip():
                on_log(line.rstrip())


def ensure_base_image(client: docker.DockerClient, on_log: LogCallback | None = None) -> str:
    """The tag of the base image, building it (offline) when this machine lacks it.

    Idempotent: an existing tag is returned at once. ``on_log`` receives each build log line
    (an activity passes its heartbeat)."""
    emit: LogCallback = on_log or (lambda line: log.debug("base image: %s", line))
    tag = base_image_tag()
    if _has_image(client, tag):
        client.api.tag(tag, IMAGE_NAME, "latest")
        return tag
    work = get_settings().data_dir.resolve() / "sandbox"
    with _build_lock(work):
        if _has_image(client, tag):  # another process built it while we waited
            return tag
        started = time.monotonic()
        try:
            rootfs = rootfs_image_tag()
            if not _has_image(client, rootfs):
                build_rootfs_image(client, work, emit)
            wheels = download_wheels(work, emit)
            with tempfile.TemporaryDirectory(dir=work, prefix="context-") as tmp:
                context = Path(tmp)
                for name in ("Dockerfile", "requirements.txt"):
                    shutil.copy(RECIPE_DIR / name, context / name)
                shutil.copytree(wheels, context / "wheels",
                                ignore=shutil.ignore_patterns(".complete"))
                emit(f"docker build (classic builder, network none) -t {tag}")
                _docker_build(client, context, tag, rootfs, emit)
        except APIError as exc:
            raise BaseImageError(f"the Docker engine refused the build of {tag}: "
                                 f"{exc.explanation or exc}") from exc
        client.api.tag(tag, IMAGE_NAME, "latest")
        emit(f"built {tag} in {time.monotonic() - started:.1f} s")
    return tag


def main() -> int:
    """Builds the base image when missing and prints its tag and how long that took."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    try:
        client = docker.from_env(version="auto")
        tag = ensure_base_image(client, on_log=lambda line: print(line, flush=True))
    except (BaseImageError, docker.errors.DockerException) as exc:
        print(f"base image: {exc}", file=sys.stderr)
        return 1
    print(f"base image: {tag} ready in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Puts a request's files and the sandbox driver into a fresh host directory that the sandbox
reads (read-only) from: ``<stage>/driver.py`` and ``<stage>/input/...``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from models.sandbox import MAX_FILES, MAX_TOTAL_BYTES, SandboxRequest, check_relative_path

DRIVER = Path(__file__).with_name("sandbox_driver.py")
SKIPPED_DIRS = {"__pycache__", ".git", ".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


class SandboxInputError(ValueError):
    """The request's files cannot be staged; the message says what is wrong."""


def _files_of_dir(source: Path) -> dict[str, bytes]:
    if not source.is_dir():
        raise SandboxInputError(f"source_dir {str(source)!r} is not a directory on this worker")
    files: dict[str, bytes] = {}
    total = 0
    for root, dirs, names in os.walk(source):  # os.walk does not follow symlinked dirs
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in names:
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue  # a link could point outside the integration
            data = path.read_bytes()
            total += len(data)
            files[path.relative_to(source).as_posix()] = data
            if len(files) > MAX_FILES or total > MAX_TOTAL_BYTES:
                raise SandboxInputError(f"source_dir {str(source)!r} holds more than "
                                        f"{MAX_FILES} files or {MAX_TOTAL_BYTES} bytes")
    if not files:
        raise SandboxInputError(f"source_dir {str(source)!r} holds no files")
    return files


def request_files(request: SandboxRequest) -> dict[str, bytes]:
    """The request's files as relative path -> bytes, checked."""
    if request.source_dir:
        return _files_of_dir(Path(request.source_dir))
    return {check_relative_path(p): c.encode() for p, c in request.files.items()}


def stage(request: SandboxRequest) -> Path:
    """A new world-readable temp dir with ``driver.py`` and ``input/``; the caller removes it."""
    files = request_files(request)
    root = Path(tempfile.mkdtemp(prefix="ccb-sandbox-"))
    try:
        root.chmod(0o755)
        shutil.copyfile(DRIVER, root / "driver.py")
        inputs = root / "input"
        inputs.mkdir(mode=0o755)
        for relative, data in files.items():
            target = inputs / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root

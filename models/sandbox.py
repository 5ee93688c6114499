"""Types of the sandboxed test run: what to run (SandboxRequest), within which limits (Limits),
and what came out (SandboxReport). Generated code is untrusted: its paths are checked here."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_FILES = 500
MAX_TOTAL_BYTES = 5_000_000
PACKAGE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"


class Limits(BaseModel):
    """Resource limits of one sandboxed run."""

    model_config = ConfigDict(frozen=True)

    timeout_seconds: float = Field(default=120.0, gt=0, le=3600)  # wall clock, then killed
    memory_mb: int = Field(default=512, ge=64, le=16_384)  # RAM, no swap on top
    cpus: float = Field(default=1.0, gt=0, le=16)
    pids: int = Field(default=128, ge=16, le=4096)  # processes and threads together
    work_mb: int = Field(default=64, ge=8, le=4096)  # the writable work dir
    tmp_mb: int = Field(default=64, ge=8, le=4096)  # the writable /tmp


def check_relative_path(path: str) -> str:
    """``path`` if it is a plain relative POSIX path inside its root; ValueError otherwise."""
    if not path or "\x00" in path or "\\" in path:
        raise ValueError(f"file path {path!r} is empty or holds a NUL or backslash")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or path.startswith("~"):
        raise ValueError(f"file path {path!r} must be relative and stay inside the integration")
    if len(path) > 300:
        raise ValueError(f"file path {path[:40]!r}... is longer than 300 characters")
    return str(pure)


class SandboxRequest(BaseModel):
    """An integration's files and how to test them. Give ``files`` or ``source_dir``."""

    files: dict[str, str] = Field(default_factory=dict)  # relative path -> text content
    source_dir: str | None = None  # a directory on the worker's disk, copied as it is
    package: str | None = Field(default=None, pattern=PACKAGE_PATTERN)  # measured by coverage
    pytest_args: list[str] = Field(default_factory=list, max_length=20)
    limits: Limits = Field(default_factory=Limits)
    label: str = Field(default="", max_length=100)  # who asked (e.g. the slug), for the logs

    @field_validator("files")
    @classmethod
    def _safe_files(cls, files: dict[str, str]) -> dict[str, str]:
        if len(files) > MAX_FILES:
            raise ValueError(f"{len(files)} files given; at most {MAX_FILES} are accepted")
        total = sum(len(content.encode()) for content in files.values())
        if total > MAX_TOTAL_BYTES:
            raise ValueError(f"files hold {total} bytes; at most {MAX_TOTAL_BYTES} are accepted")
        return {check_relative_path(path): content for path, content in files.items()}

    @field_validator("pytest_args")
    @classmethod
    def _short_args(cls, args: list[str]) -> list[str]:
        for arg in args:
            if len(arg) > 200 or "\x00" in arg:
                raise ValueError(f"pytest argument {arg[:40]!r} is too long or holds a NUL")
        return args

    @field_validator("label")
    @classmethod
    def _plain_label(cls, label: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]*", label):
            raise ValueError("label may hold only letters, digits, '.', '_' and '-'")
        return label

    @model_validator(mode="after")
    def _one_source(self) -> SandboxRequest:
        if bool(self.files) == bool(self.source_dir):
            raise ValueError("give exactly one of 'files' (path -> content) or 'source_dir'")
        return self


class TestFailure(BaseModel):
    """One test that failed or errored, with the first part of its message."""

    __test__ = False  # not a pytest class

    name: str
    kind: str  # "failure" or "error"
    message: str = ""
    details: str = ""  # the end of the traceback


class SandboxReport(BaseModel):
    """The outcome of one sandboxed run. ``ok`` means every test ran and passed."""

    isolation: str  # "docker" or "local (weaker: ...)"
    ok: bool
    exit_code: int | None  # pytest's exit status; None when it never finished
    reason: str | None = None  # why the run was cut short or a limit was hit
    limits_hit: list[str] = Field(default_factory=list)  # "timeout", "memory", "pids"
    tests: int = 0
    passed: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    failed_tests: list[TestFailure] = Field(default_factory=list)
    coverage_percent: float | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    duration_seconds: float = 0.0
    image: str | None = None
    limits: Limits = Field(default_factory=Limits)

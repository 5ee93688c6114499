"""The integration manifest and the technical spec that Claude (or the offline generator) writes."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.request import SLUG_PATTERN, Endpoint

SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)


class HealthCheck(BaseModel):
    path: str = Field(default="/health/ready", pattern=r"^/\S*$")
    interval_seconds: float = Field(default=30.0, gt=0)
    timeout_seconds: float = Field(default=5.0, gt=0)


LIVE_CHECK_LIMIT = 20  # checks per manifest: a re-verification's probes stay bounded
LIVE_CHECK_BODY_CHARS = 4_000
READ_METHODS = ("GET", "HEAD")


class LiveCheck(BaseModel):
    """One of the integration's generated tests of its deployed instance: a request to the
    instance itself (a path, never a host) and what it must answer. A check that sends a
    body must expect a 4xx, so re-verifying never makes the instance call the external
    service: only refusals of bad input and read-only surfaces are exercised."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str = Field(min_length=1, max_length=300)
    body: Any = None
    expect_status: list[int] = Field(default_factory=lambda: [200], min_length=1, max_length=5)
    expect_json_keys: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20)
    expect_version_header: bool = False

    @field_validator("path")
    @classmethod
    def _path_only(cls, value: str) -> str:
        if (not value.startswith("/") or value.startswith("//")
                or any(not "!" <= ch <= "~" or ch in "#\\" for ch in value)):
            raise ValueError("a live check's path is a path on the instance: it starts with "
                             "one '/' and holds printable ASCII without spaces, '#' or '\\'")
        return value

    @field_validator("expect_status")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        if any(not 100 <= code <= 599 for code in value):
            raise ValueError("expect_status holds HTTP status codes (100-599)")
        return value

    @model_validator(mode="after")
    def _never_reaches_the_service(self) -> LiveCheck:
        if len(json.dumps(self.body)) > LIVE_CHECK_BODY_CHARS:
            raise ValueError(f"the body is longer than {LIVE_CHECK_BODY_CHARS} characters")
        if self.method not in READ_METHODS and any(
                not 400 <= code <= 499 for code in self.expect_status):
            raise ValueError(f"a {self.method} check must expect a refusal (4xx): a live "
                             "check never makes the instance call the external service")
        return self


class IntegrationManifest(BaseModel):
    """``integrations/<slug>/manifest.json``: what the integration is and how to check it."""

    name: str = Field(min_length=1, max_length=100)
    slug: str = Field(pattern=SLUG_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)
    description: str = ""
    capabilities: list[str] = Field(default_factory=list)
    dependencies: dict[str, str] = Field(default_factory=dict)
    health_check: HealthCheck = Field(default_factory=HealthCheck)
    live_checks: list[LiveCheck] = Field(default_factory=list, max_length=LIVE_CHECK_LIMIT)


class ModuleSpec(BaseModel):
    path: str
    purpose: str


class PublicFunction(BaseModel):
    name: str
    signature: str
    description: str = ""


class TechnicalSpec(BaseModel):
    """The analysis of a request: what to build and how to test it."""

    summary: str
    modules: list[ModuleSpec] = Field(default_factory=list)
    public_api: list[PublicFunction] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    error_handling: list[str] = Field(default_factory=list)
    test_plan: list[str] = Field(default_factory=list)


def parse_semver(version: str) -> tuple[int, int, int]:
    """``"1.2.3-rc1"`` -> ``(1, 2, 3)``; raises ValueError on anything else."""
    match = re.match(SEMVER_PATTERN, version)
    if not match:
        raise ValueError(f"{version!r} is not a semantic version like 1.2.3")
    return int(match[1]), int(match[2]), int(match[3])


def version_key(version: str) -> tuple[int, int, int]:
    """What versions sort by; anything not a semantic version sorts below every one."""
    try:
        return parse_semver(version)
    except ValueError:
        return (-1, -1, -1)


def with_manifest_version(files: dict[str, str], root: str, version: str) -> dict[str, str]:
    """``files`` with ``<root>manifest.json``'s version set to ``version`` (pure; a missing or
    unreadable manifest is left for the checks to report)."""
    path = f"{root}manifest.json"
    try:
        manifest = json.loads(files.get(path, ""))
    except ValueError:
        return files
    if not isinstance(manifest, dict) or manifest.get("version") == version:
        return files
    return {**files, path: json.dumps({**manifest, "version": version}, indent=2) + "\n"}

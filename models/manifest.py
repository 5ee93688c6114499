"""The integration manifest and the technical spec that Claude (or the offline generator) writes."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, Field

from models.request import SLUG_PATTERN, Endpoint

SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)


class HealthCheck(BaseModel):
    path: str = Field(default="/health/ready", pattern=r"^/\S*$")
    interval_seconds: float = Field(default=30.0, gt=0)
    timeout_seconds: float = Field(default=5.0, gt=0)


class IntegrationManifest(BaseModel):
    """``integrations/<slug>/manifest.json``: what the integration is and how to check it."""

    name: str = Field(min_length=1, max_length=100)
    slug: str = Field(pattern=SLUG_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)
    description: str = ""
    capabilities: list[str] = Field(default_factory=list)
    dependencies: dict[str, str] = Field(default_factory=dict)
    health_check: HealthCheck = Field(default_factory=HealthCheck)


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

"""Semantic-version bumps: breaking -> major, additions -> minor, fixes -> patch."""

from __future__ import annotations

import re

from models.bump import Bump

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")




def parse_version(version: str) -> tuple[int, int, int]:
    """``"1.2.3"`` -> ``(1, 2, 3)``; anything else is a ValueError saying what was expected."""
    match = _SEMVER.match(version.strip())
    if match is None:
        raise ValueError(f"version {version!r} is not a semantic version like 1.2.3")
    return int(match[1]), int(match[2]), int(match[3])


def bump_version(version: str, bump: Bump) -> str:
    """The next version: major resets minor and patch, minor resets patch."""
    major, minor, patch = parse_version(version)
    if bump == Bump.MAJOR:
        return f"{major + 1}.0.0"
    if bump == Bump.MINOR:
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def strongest(*bumps: Bump) -> Bump:
    """The largest of the bumps (a fix that also adds API is a minor bump)."""
    return max(bumps, key=lambda b: b.rank, default=Bump.PATCH)

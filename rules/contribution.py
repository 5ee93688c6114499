"""The version a person's merged change to an integration is recorded as. Pure.

The person may have bumped ``manifest.json`` (then that version, when it is above every
recorded one), or not (then the next patch of the highest recorded version, said in the
comment). A commit already recorded keeps its version, so a retried run records nothing new.
"""

from __future__ import annotations

import re

from models.bump import Bump
from models.manifest import SEMVER_PATTERN
from rules.semver import bump_version, parse_version

FIRST_VERSION = "0.1.0"  # as a creation records its first


def _key(version: str) -> tuple[int, int, int]:
    if not re.fullmatch(SEMVER_PATTERN, version):
        return (-1, -1, -1)
    try:
        return parse_version(version)
    except ValueError:
        return (-1, -1, -1)  # an unparsable record sorts below every version


def contributed_version(recorded: list[tuple[str, str]], manifest_version: str,
                        commit_sha: str) -> tuple[str, str]:
    """``(version, note)`` for ``commit_sha``, given the ``(version, commit sha)`` pairs
    already recorded; the note is empty when the manifest's version is taken as it is."""
    for version, sha in recorded:
        if sha and sha == commit_sha:
            return version, ""
    highest = max((v for v, _ in recorded), key=_key, default="")
    wanted = manifest_version.strip()
    if _key(wanted) > _key(highest) and _key(wanted) >= (0, 0, 0):
        return wanted, ""
    if not highest or _key(highest) < (0, 0, 0):
        return FIRST_VERSION, (f"its manifest.json gives no usable version and none is "
                               f"recorded, so it is recorded as {FIRST_VERSION}")
    version = bump_version(highest, Bump.PATCH)
    said = f"says {wanted}" if wanted else "has no version"
    return version, (f"its manifest.json {said}, not above the recorded {highest}, so it is "
                     f"recorded as the next patch, {version}")

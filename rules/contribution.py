"""The version a person's merged change to an integration is recorded as. Pure.

A version is one image at one commit, and the manifest inside it names it (a deployment
refuses files whose ``manifest.json`` says another version). So the merged manifest's
version is taken when it is above every recorded one; when the person did not bump it,
nothing is recorded and the comment says which bump would release the change. A commit
already recorded keeps its version, so a retried run records nothing new.
"""

from __future__ import annotations

from models.bump import Bump
from models.manifest import version_key
from rules.semver import bump_version


def contributed_version(recorded: list[tuple[str, str]], manifest_version: str,
                        commit_sha: str) -> tuple[str, str]:
    """``(version, "")`` for ``commit_sha``, given the ``(version, commit sha)`` pairs already
    recorded; ``("", why)`` when the merged manifest names no new version (``why`` says what
    to bump it to)."""
    for version, sha in recorded:
        if sha and sha == commit_sha:
            return version, ""
    highest = max((v for v, _ in recorded), key=version_key, default="")
    wanted = manifest_version.strip()
    if version_key(wanted) >= (0, 0, 0) and version_key(wanted) > version_key(highest):
        return wanted, ""
    said = f"says {wanted[:40]}" if wanted else "has no version"
    if version_key(highest) < (0, 0, 0):
        return "", (f"its manifest.json {said}: set `version` to a semantic version such as "
                    "0.1.0 in a new pull request to release it")
    return "", (f"its manifest.json {said}, not above the recorded {highest}: bump `version` "
                f"in a new pull request to release this change ({bump_version(highest, Bump.PATCH)}"
                f" for a fix, {bump_version(highest, Bump.MINOR)} for a feature)")

"""What a deploy or rollback asks of ``DeployWorkflow``: one path for ``ccb`` and the REST API.

Each function answers the workflow input and id, or raises :class:`DeployRefused` with the
sentence to show (no earlier version, an unknown version, nothing merged to deploy).
"""

from __future__ import annotations

from models.deploy import DeployInput, DeployKind, deploy_workflow_id
from models.deployment import Environment
from registry.deployments import live_deployment, previous_good
from registry.store import Registry


class DeployRefused(Exception):
    """Nothing was started; the text says why and what to do."""


def rollback_request(registry: Registry, slug: str, env: Environment, *,
                     actor: str, reason: str) -> tuple[DeployInput, str]:
    """Back to the version that served before the live one, with its kept image."""
    registry.get(slug)  # UnknownIntegrationError names the slug
    previous = previous_good(registry, slug, env)
    if previous is None:
        live = live_deployment(registry, slug, env)
        raise DeployRefused(f"{slug} has no earlier version in {env} to go back to"
                            + (f" (live: {live.version})" if live else " (nothing is deployed)"))
    inp = DeployInput(slug=slug, version=previous.version, environment=env,
                      kind=DeployKind.ROLLBACK, image=previous.image, traffic_approved=True,
                      actor=actor, reason=reason)
    return inp, deploy_workflow_id(env, slug, previous.version) + "-rollback"


def merged_version(registry: Registry, slug: str, version: str) -> tuple[str, str]:
    """(version, commit sha) of a recorded version of ``slug``: the newest when empty."""
    versions = registry.versions(slug)
    if not versions:
        raise DeployRefused(f"{slug} has no merged version yet: approve its pull request first")
    if not version:
        return versions[-1].version, versions[-1].commit_sha
    for row in versions:
        if row.version == version:
            return row.version, row.commit_sha
    known = ", ".join(v.version for v in versions[-10:])
    raise DeployRefused(f"{slug} has no version {version}; recorded: {known}")


def deploy_request(slug: str, version: str, commit_sha: str, env: Environment,
                   files: dict[str, str], *, actor: str,
                   traffic_approved: bool = False) -> tuple[DeployInput, str]:
    """Deploy the files of ``integrations/<slug>/`` at ``commit_sha`` as ``version``."""
    if not files:
        raise DeployRefused(f"no files under integrations/{slug}/ at {commit_sha[:7] or 'main'}"
                            ": nothing to deploy")
    inp = DeployInput(slug=slug, version=version, environment=env, files=files,
                      commit_sha=commit_sha if len(commit_sha) <= 64 else "",
                      traffic_approved=traffic_approved, actor=actor)
    return inp, deploy_workflow_id(env, slug, version)

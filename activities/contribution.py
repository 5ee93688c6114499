"""The contribution workflow's one registry read: the version a merged commit is recorded as."""

from __future__ import annotations

from temporalio import activity

from infra.settings import get_settings
from models.contribution import ContributionVersion, ContributionVersionQuery
from registry.store import open_registry
from rules.contribution import contributed_version


@activity.defn
def contribution_version(query: ContributionVersionQuery) -> ContributionVersion:
    """The version for ``query.commit_sha`` among the integration's recorded ones. A read."""
    registry = open_registry(get_settings().registry_url)
    recorded = [(v.version, v.commit_sha) for v in registry.versions(query.slug)]
    version, note = contributed_version(recorded, query.manifest_version, query.commit_sha)
    return ContributionVersion(version=version, note=note)


CONTRIBUTION_ACTIVITIES = [contribution_version]

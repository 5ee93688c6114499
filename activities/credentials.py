"""Which of an integration's credentials are not in its secret store yet (names only)."""

from __future__ import annotations

from temporalio import activity

from infra.secrets import secret_store
from models.credentials import CredentialQuery


@activity.defn
def missing_credentials(query: CredentialQuery) -> list[str]:
    """The names of ``query.names`` with no value for the integration and environment.
    Reads the store, changes nothing: safe to repeat."""
    return secret_store().missing(query.slug, query.environment, query.names)


CREDENTIAL_ACTIVITIES = [missing_credentials]

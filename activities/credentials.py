"""Which of an integration's credentials are not in its secret store yet (names only)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from infra.secrets import secret_store
from models.credentials import CredentialQuery
from models.error_types import ErrorType
from rules.credentials import needed_credentials


@activity.defn
def missing_credentials(query: CredentialQuery) -> list[str]:
    """The names of ``query.names`` with no value for the integration and environment.
    Reads the store, changes nothing: safe to repeat."""
    return secret_store().missing(query.slug, query.environment, query.names)


def credentials_or_refuse(slug: str, environment: str, manifest: dict[str, object]) -> None:
    """Before a deployment: refuse (non-retryable, saying what to set) when a credential
    the manifest names is not in the store for ``environment``."""
    missing = secret_store().missing(slug, environment, needed_credentials(manifest))
    if missing:
        commands = "; ".join(f"`ccb secrets set {slug} {n} --env {environment}`"
                             for n in missing)
        raise ApplicationError(f"{slug} needs {', '.join(missing)} in {environment} before it "
                               f"can run: set {commands}, then deploy again",
                               type=ErrorType.CREDENTIALS_MISSING, non_retryable=True)


CREDENTIAL_ACTIVITIES = [missing_credentials]

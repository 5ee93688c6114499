"""Names and labels that make a deployment's instances findable after a crash.

An instance's name is fixed by (installation, environment, integration, colour), so at most
one instance per colour can exist: Docker refuses a second container of the same name, and
the local runtime keeps one state file per name. The installation part (a hash of the data
dir) keeps two stacks (or two test runs) on one machine apart.
"""

from __future__ import annotations

import hashlib

from infra.settings import get_settings
from models.deployment import Color

LABEL_PREFIX = "ccb.deploy"
LABEL_INSTALLATION = f"{LABEL_PREFIX}.installation"
LABEL_SLUG = f"{LABEL_PREFIX}.slug"
LABEL_ENVIRONMENT = f"{LABEL_PREFIX}.environment"
LABEL_COLOR = f"{LABEL_PREFIX}.color"
LABEL_VERSION = f"{LABEL_PREFIX}.version"
LABEL_DEPLOYMENT = f"{LABEL_PREFIX}.deployment"


def installation() -> str:
    """A short hash of the data dir: what this bot's instances share."""
    path = str(get_settings().data_dir.resolve())
    return hashlib.sha256(path.encode()).hexdigest()[:8]


def instance_name(environment: str, slug: str, color: Color | str) -> str:
    return f"ccb-{installation()}-{environment}-{slug}-{Color(color).value}"


def instance_labels(environment: str, slug: str, color: Color | str, version: str,
                    deployment: str) -> dict[str, str]:
    return {
        LABEL_PREFIX: "1",
        LABEL_INSTALLATION: installation(),
        LABEL_ENVIRONMENT: environment,
        LABEL_SLUG: slug,
        LABEL_COLOR: Color(color).value,
        LABEL_VERSION: version,
        LABEL_DEPLOYMENT: deployment,
    }

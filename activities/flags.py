"""Feature flags as an activity: workflows read configuration through history, never directly."""

from __future__ import annotations

from temporalio import activity

from infra.flags import flags_for
from models.flags import FeatureFlags


@activity.defn
def read_feature_flags(environment: str) -> FeatureFlags:
    """The environment's flags (defaults with the settings' overrides). Read-only."""
    return flags_for(environment)

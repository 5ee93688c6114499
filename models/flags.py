"""Feature flags per environment (SPEC "Feature flags"): the defaults here; the settings'
overrides are applied by ``infra.flags.flags_for``.

    CCB_FEATURE_FLAGS='{"production": {"auto_deployment": true}}'

``traffic_approval`` is the deployment's own flag: where it is on (production by default) a
deployment moves no traffic to the new version before a person approves it.
"""

from __future__ import annotations

from pydantic import BaseModel

from models.deployment import Environment


class FeatureFlags(BaseModel):
    """The switches of one environment."""

    ai_code_review: bool = True
    auto_deployment: bool = True
    integration_testing: bool = True
    performance_monitoring: bool = True
    traffic_approval: bool = False  # traffic moves only after `approve_traffic`
    auto_rollback: bool = True  # the health monitor rolls back to the last good version


DEFAULT_FLAGS: dict[Environment, FeatureFlags] = {
    Environment.DEVELOPMENT: FeatureFlags(),
    Environment.STAGING: FeatureFlags(),
    Environment.PRODUCTION: FeatureFlags(auto_deployment=False, traffic_approval=True),
}

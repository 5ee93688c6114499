"""Feature flags per environment (SPEC "Feature flags"): the defaults here; the settings'
overrides are applied by ``infra.flags.flags_for``.

    CCB_FEATURE_FLAGS='{"production": {"auto_deployment": true}}'

``promotion`` says how a promotion enters the environment (``auto``, ``approval`` or
``off``; production: ``approval``). ``traffic_approval`` is the deployment's own flag: where
it is on (production by default) a deployment moves no traffic to the new version before a
person approves it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.deployment import Environment


class PromotionPolicy(StrEnum):
    """How a promotion enters an environment (rules/promotion.py)."""

    AUTO = "auto"  # when the gates pass
    APPROVAL = "approval"  # when a person promotes that commit, and the gates pass
    OFF = "off"  # never: promotion stops before this environment


class FeatureFlags(BaseModel):
    """The switches of one environment."""

    ai_code_review: bool = True
    auto_deployment: bool = True
    integration_testing: bool = True
    performance_monitoring: bool = True
    traffic_approval: bool = False  # traffic moves only after `approve_traffic`
    auto_rollback: bool = True  # the health monitor rolls back to the last good version
    promotion: PromotionPolicy = PromotionPolicy.AUTO  # how a promotion enters it

    model_config = ConfigDict(extra="forbid")


DEFAULT_FLAGS: dict[Environment, FeatureFlags] = {
    Environment.DEVELOPMENT: FeatureFlags(),
    Environment.STAGING: FeatureFlags(),
    Environment.PRODUCTION: FeatureFlags(auto_deployment=False, traffic_approval=True,
                                         promotion=PromotionPolicy.APPROVAL),
}

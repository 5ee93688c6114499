"""Feature flags with the settings' overrides applied (reads the environment: not for
workflow code, which reads them through the ``read_feature_flags`` activity)."""

from __future__ import annotations

from pydantic import ValidationError

from infra.settings import get_settings
from models.deployment import Environment
from models.flags import DEFAULT_FLAGS, FeatureFlags


class UnknownFlagError(ValueError):
    """An override names a flag or environment that does not exist."""


def flags_for(environment: Environment | str) -> FeatureFlags:
    """The defaults of ``environment`` with the settings' overrides applied."""
    env = Environment(environment)
    overrides = get_settings().feature_flags.get(env.value, {})
    unknown = sorted(set(overrides) - set(FeatureFlags.model_fields))
    if unknown:
        raise UnknownFlagError(
            f"CCB_FEATURE_FLAGS names unknown flags for {env}: {', '.join(unknown)}; "
            f"known: {', '.join(FeatureFlags.model_fields)}")
    try:
        return FeatureFlags.model_validate({**DEFAULT_FLAGS[env].model_dump(), **overrides})
    except ValidationError as exc:
        wrong = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                          for e in exc.errors())
        raise UnknownFlagError(f"CCB_FEATURE_FLAGS sets {env}'s flags wrongly ({wrong}); "
                               "flags are true or false, promotion is auto, approval or "
                               "off") from None

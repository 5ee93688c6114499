"""Which backend writes the code: Claude when an API key is set, else the offline generator."""

from __future__ import annotations

from temporalio import activity

from infra.settings import get_settings
from models.codegen import Backend


@activity.defn
def select_backend() -> Backend:
    """Read-only: looks at whether a key is configured (the key itself never leaves here)."""
    key = get_settings().anthropic_api_key.get_secret_value()
    return Backend.CLAUDE if key else Backend.OFFLINE

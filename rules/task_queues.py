"""Which task queue serves which capability: one name rule for workers and workflows.

The control queue (the settings' ``task_queue``, ``ccb`` by default) carries the workflows and
every GitHub, registry and model call; code checks and sandboxed test runs go to
``<control>-sandbox``; image builds, containers, traffic switching and probes go to the
deploy queue of the host an environment deploys to, ``<control>-deploy`` (the default host)
or ``<control>-deploy-<host>``. Workflows derive the names from the queue they run on, so a
test's private queue gets private sandbox and deploy queues too.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Capability(StrEnum):
    CONTROL = "control"
    SANDBOX = "sandbox"
    DEPLOY = "deploy"


ALL_CAPABILITIES = (Capability.CONTROL, Capability.SANDBOX, Capability.DEPLOY)
HOST_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


def queue_for(control: str, capability: Capability, host: str = "") -> str:
    """The task queue of ``capability`` beside the control queue ``control``."""
    if capability is Capability.CONTROL:
        return control
    if capability is Capability.SANDBOX:
        return f"{control}-sandbox"
    return f"{control}-deploy-{host}" if host else f"{control}-deploy"


def parse_capabilities(text: str) -> tuple[Capability, ...]:
    """``control,sandbox,deploy`` (any order, ``all`` for every one) as capabilities.

    Raises ``ValueError`` naming what is wrong and the accepted words."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words or words == ["all"]:
        return ALL_CAPABILITIES
    known = {c.value: c for c in ALL_CAPABILITIES}
    unknown = [w for w in words if w not in known]
    if unknown:
        raise ValueError(f"unknown capability {', '.join(map(repr, unknown))}: serve any of "
                         "control, sandbox, deploy (comma-separated), or all")
    return tuple(c for c in ALL_CAPABILITIES if c.value in words)

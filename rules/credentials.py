"""Which environment-variable names an integration may be given as credentials.

An integration's credentials are its own: set by an operator in the integration's secret
store, handed only to its container. The bot's own names (its GitHub and Claude keys, its
settings) can never be configured for an integration, whatever its manifest says; nor can
names that change how a process starts or finds its libraries.
"""

from __future__ import annotations

import re

CREDENTIAL_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
BOT_NAMES = frozenset({
    "GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN", "WEBHOOK_SECRET", "DATABASE_URL", "PATH", "HOME", "USER",
    "SHELL", "HOSTNAME", "PWD", "TMPDIR", "LANG",
})
BOT_PREFIXES = ("CCB_", "GITHUB_", "GH_", "ANTHROPIC_", "CLAUDE_", "TEMPORAL_", "DOCKER_",
                "PYTHON", "LD_", "SSL_", "REQUESTS_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                "AWS_", "GOOGLE_", "AZURE_")
# A prefix the generator puts in front of an integration's names when they would be the bot's.
SAFE_PREFIX = "INTEGRATION_"


def problem_with(name: str) -> str | None:
    """Why ``name`` may not be an integration's credential (None: it may)."""
    if not CREDENTIAL_NAME.match(name):
        return (f"{name!r} is not a credential name: use capitals, digits and '_', starting "
                "with a letter (at most 64 characters)")
    upper = name.upper()
    if upper in BOT_NAMES or upper.startswith(BOT_PREFIXES):
        return (f"{name} is one of the bot's own names (its keys, settings or the process "
                "environment): an integration can never be given it; name the credential "
                f"after the integration instead, e.g. {SAFE_PREFIX}{name}")
    return None


def integration_prefix(prefix: str) -> str:
    """``prefix`` for an integration's setting names, made safe: a prefix that would make
    one of the bot's names (``GITHUB`` -> ``GITHUB_TOKEN``) gets ``INTEGRATION_`` first."""
    if problem_with(f"{prefix}_TOKEN") or problem_with(f"{prefix}_API_KEY"):
        return f"{SAFE_PREFIX}{prefix}"
    return prefix


def names_in(manifest: object) -> list[str]:
    """The names a parsed manifest says the service reads from its environment
    (``configuration.environment``'s values), sorted; the well-formed ones only."""
    try:
        names = manifest.get("configuration", {}).get("environment", {}).values()  # type: ignore[attr-defined]
    except AttributeError:
        return []
    return sorted({n for n in names if isinstance(n, str) and CREDENTIAL_NAME.match(n)})


def credential_names(manifest_text: str) -> list[str]:
    """``names_in`` of a ``manifest.json``'s text ([] when it is not JSON)."""
    import json

    try:
        return names_in(json.loads(manifest_text or "{}"))
    except ValueError:
        return []


def needed_credentials(manifest: str | dict[str, object]) -> list[str]:
    """The names an operator must set before the integration can run: every name the
    manifest (its text, or parsed) reads except its base URL (which has a default)."""
    names = credential_names(manifest) if isinstance(manifest, str) else names_in(manifest)
    return [n for n in names if not n.endswith("_BASE_URL")]

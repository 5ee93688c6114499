"""Who may trigger or command the bot: write, maintain or admin on the repository.

Asked of GitHub's collaborator permission API (never ``author_association``), from the starter:
the answer decides *whether* anything starts, so it is needed before the webhook answers. It is
one GET, bounded by ``LOOKUP_TIMEOUT``, cached for ``CACHE_SECONDS`` per (repo, login) so a
burst of events from one person costs one call. A lookup that fails is not guessed: the
webhook answers 503 and the delivery can be redelivered.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from urllib.parse import quote

import httpx

from infra.settings import Settings

LOOKUP_TIMEOUT = 3.0
CACHE_SECONDS = 60.0
CACHE_SIZE = 2_048
WRITERS = frozenset({"admin", "maintain", "write"})
ROLES = ("admin", "maintain", "write", "triage", "read", "none")


class PermissionLookupError(Exception):
    """GitHub did not say what the person may do (unreachable, timed out, bad credentials)."""


def bot_token(settings: Settings) -> str:
    """The credential the bot reads GitHub with (token, App installation, or local forge)."""
    if settings.github_token.get_secret_value():
        return settings.github_token.get_secret_value()
    from activities.github_client import app_installation_auth, forge_bot_token

    if settings.github_app_id:
        auth = app_installation_auth(settings)
        return str(auth.token)  # type: ignore[attr-defined]
    return forge_bot_token(settings)


async def pull_state(settings: Settings, repo: str, number: int) -> dict[str, object]:
    """Pull request ``number`` as GitHub answers it now ({} when it does not say)."""
    try:
        token = await asyncio.to_thread(bot_token, settings)
        owner, _, name = repo.partition("/")
        url = f"{settings.github_base_url}/repos/{quote(owner)}/{quote(name)}/pulls/{number}"
        async with httpx.AsyncClient(timeout=LOOKUP_TIMEOUT) as http:
            answer = await http.get(url, headers={"Authorization": f"token {token}",
                                                  "Accept": "application/vnd.github+json"})
        if answer.status_code != 200:
            return {}
        data = answer.json()
        return data if isinstance(data, dict) else {}
    except Exception:  # noqa: BLE001 - nothing known: callers decide without it
        return {}


async def pull_head_sha(settings: Settings, repo: str, number: int) -> str:
    """The head commit of pull request ``number`` now ("" when GitHub does not say): what a
    ``/approve`` comment on that pull request approves."""
    head = (await pull_state(settings, repo, number)).get("head")
    return str(head.get("sha") or "") if isinstance(head, dict) else ""


class PermissionChecker:
    """Cached, time-bounded collaborator permission lookups for one starter process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cache: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def may_write(self, repo: str, login: str) -> bool:
        return await self.role(repo, login) in WRITERS

    async def role(self, repo: str, login: str) -> str:
        key = (repo.lower(), login.lower())
        cached = self._cached(key)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one lookup for a burst of events by the same person
            cached = self._cached(key)
            if cached is None:
                cached = await self._lookup(repo, login)
                self._cache[key] = (time.monotonic() + CACHE_SECONDS, cached)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        self._locks.pop(key, None)
        return cached

    def _cached(self, key: tuple[str, str]) -> str | None:
        hit = self._cache.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        self._cache.move_to_end(key)
        return hit[1]

    async def _lookup(self, repo: str, login: str) -> str:
        try:
            token = await asyncio.to_thread(bot_token, self._settings)
        except Exception as exc:  # noqa: BLE001 - GitHubNotConfigured and friends
            raise PermissionLookupError(f"no GitHub credentials: {exc}") from None
        owner, _, name = repo.partition("/")
        url = (f"{self._settings.github_base_url}/repos/{quote(owner)}/{quote(name)}"
               f"/collaborators/{quote(login)}/permission")
        headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
        try:
            async with httpx.AsyncClient(timeout=LOOKUP_TIMEOUT) as http:
                answer = await http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise PermissionLookupError(
                f"GitHub did not answer the permission lookup ({type(exc).__name__})"
            ) from None
        if answer.status_code == 404:
            return "none"  # not a collaborator
        if answer.status_code != 200:
            raise PermissionLookupError(
                f"GitHub answered the permission lookup with HTTP {answer.status_code}"
            )
        try:
            data = answer.json()
        except ValueError:
            raise PermissionLookupError("GitHub's permission answer is not JSON") from None
        role = data.get("role_name") if isinstance(data, dict) else None
        if role not in ROLES:  # custom roles: the coarse permission decides
            role = data.get("permission") if isinstance(data, dict) else None
        return role if role in ROLES else "none"

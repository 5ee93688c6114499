"""The forge for tests: ``running_forge`` starts one on a free loopback port and yields a
``ForgeHandle`` (its API URL, the demo repository, every user's token, PyGithub clients,
webhook deliveries and fault injection)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from forge.server import ForgeServer
from forge.state import DEMO_OWNER, DEMO_REPO, ForgeConfig

if TYPE_CHECKING:
    import github


@dataclass
class ForgeHandle:
    """A running forge as tests see it."""

    api_url: str  # e.g. "http://127.0.0.1:54321/api/v3" (PyGithub base_url)
    owner: str  # "demo"
    repo: str  # "integrations"
    tokens: dict[str, str]  # username -> token ("ccb-bot", "alice", "bob", "carol")

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def root_url(self) -> str:
        return self.api_url.removesuffix("/api/v3")

    def github(self, user: str = "ccb-bot") -> github.Github:
        """A PyGithub client acting as ``user``, with its own retrying off."""
        from github import Auth, Github

        # No pacing either: the forge has no secondary rate limits to respect.
        return Github(base_url=self.api_url, auth=Auth.Token(self.tokens[user]), retry=None,
                      timeout=30, seconds_between_requests=None, seconds_between_writes=None)

    def deliveries(self) -> list[dict[str, Any]]:
        """Webhook deliveries made so far (queued ones are waited for first): each has
        ``event``, ``action``, ``delivery_id``/``guid``, ``status_code``, ``error``."""
        with httpx.Client(timeout=30, trust_env=False) as client:
            answer = client.get(f"{self.root_url}/_forge/deliveries",
                                params={"wait": "1", "payload": "1"})
            answer.raise_for_status()
            return list(answer.json())

    def add_fault(self, method: str, path_regex: str, status: int, *,
                  headers: dict[str, str] | None = None, body: dict[str, Any] | None = None,
                  times: int = 1) -> None:
        """Make the next ``times`` requests whose method and path (``re.search`` on e.g.
        ``/api/v3/repos/demo/integrations/pulls/1/merge``) match answer ``status``."""
        with httpx.Client(timeout=10, trust_env=False) as client:
            answer = client.post(f"{self.root_url}/_forge/faults", json={
                "method": method, "path_regex": path_regex, "status": status,
                "headers": headers or {}, "body": body, "times": times})
            answer.raise_for_status()


@contextmanager
def running_forge(data_dir: Path, *, webhook_url: str | None = None, webhook_secret: str = "",
                  faults: bool = True) -> Iterator[ForgeHandle]:
    """Start the forge on 127.0.0.1 on a free port (uvicorn in a background thread), yield,
    stop."""
    server = ForgeServer(ForgeConfig(data_dir=Path(data_dir), webhook_url=webhook_url,
                                     webhook_secret=webhook_secret, faults_enabled=faults))
    server.start()
    try:
        tokens = {login: token for token, login in server.forge.tokens.items()}
        yield ForgeHandle(api_url=f"{server.base_url}/api/v3", owner=DEMO_OWNER,
                          repo=DEMO_REPO, tokens=tokens)
    finally:
        server.stop()

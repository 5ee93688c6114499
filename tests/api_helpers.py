"""The REST API under test: the starter's real app with a read and an operate token, called
over ASGI (httpx), and a registry with one integration in it."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI

from infra.settings import Settings, get_settings
from models.events import EventType
from registry.deployments import record_deployment
from registry.store import Registry

READ_TOKEN = "read-token-0123456789abcdef"
OPERATE_TOKEN = "operate-token-0123456789abcdef"
TOKENS = json.dumps({"dashboard": {"token": READ_TOKEN, "role": "read"},
                     "ops-bot": {"token": OPERATE_TOKEN, "role": "operate"}})
READ = {"Authorization": f"Bearer {READ_TOKEN}"}
OPERATE = {"Authorization": f"Bearer {OPERATE_TOKEN}"}


def api_app(**env: str) -> FastAPI:
    """The starter app as `python -m starter.app` builds it, from the settings now."""
    from starter.app import create_app

    get_settings.cache_clear()
    settings: Settings = get_settings()
    return create_app(settings.model_copy(update=env) if env else settings)


def api_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def seed(registry: Registry, slug: str = "acme-weather") -> None:
    """One integration that went ACTIVE: transitions, a version, a live deployment, events."""
    registry.record_request(slug=slug, name="Acme Weather", integration_type="api-client",
                            request={}, repo="demo/integrations", issue_number=1,
                            actor="alice", workflow_id="create-demo-integrations-1",
                            key=f"{slug}-requested")
    for i, state in enumerate(["ANALYZING", "GENERATING", "TESTING", "REVIEWING", "APPROVED",
                               "DEPLOYING", "ACTIVE"]):
        registry.transition(slug, state, actor="ccb-bot", reason=f"step {i}",
                            workflow_id="create-demo-integrations-1", key=f"{slug}-t{i}")
    registry.add_version(slug, "1.0.0", commit_sha="a" * 40, pr_number=2)
    record_deployment(registry, key=f"{slug}-d1", slug=slug, version="1.0.0",
                      environment="development", color="blue", status="live",
                      image=f"{slug}:1.0.0-aaaaaaa", endpoint="127.0.0.1:9999")
    for i in range(5):
        registry.add_event(f"{slug}-e{i}", EventType.CODE_GENERATED, slug=slug,
                           payload={"n": i})

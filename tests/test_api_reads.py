"""Issue 14, item 1: the REST API's read routes with both roles, its refusals (401, 403, 404,
422) each with a sentence, the tokens' configuration, and the committed OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.deployment import Environment
from models.events import EventType
from models.states import IntegrationState
from registry.store import Registry
from starter.api import OPENAPI_PATH, openapi_text
from tests.api_helpers import OPERATE, READ, TOKENS, api_app, api_client, seed

READ_ROUTES = ["/api/v1/integrations", "/api/v1/integrations/acme-weather",
               "/api/v1/integrations/acme-weather/versions",
               "/api/v1/integrations/acme-weather/transitions",
               "/api/v1/integrations/acme-weather/usage", "/api/v1/transitions",
               "/api/v1/deployments", "/api/v1/events", "/api/v1/usage"]
ACTION_ROUTES = [("/api/v1/requests/1/approve", {"head_sha": "abcdef1"}),
                 ("/api/v1/requests/1/request-changes", {"text": "more tests"}),
                 ("/api/v1/requests/1/retry", None), ("/api/v1/requests/1/cancel", None),
                 ("/api/v1/integrations/acme-weather/deploy", {}),
                 ("/api/v1/integrations/acme-weather/rollback", {}),
                 ("/api/v1/integrations/acme-weather/promote", {"environment": "staging"}),
                 ("/api/v1/integrations/acme-weather/pause", {"reason": "maintenance"}),
                 ("/api/v1/integrations/acme-weather/resume", None),
                 ("/api/v1/integrations/acme-weather/deprecate", {})]


@pytest.fixture
async def api(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[
        httpx.AsyncClient]:
    monkeypatch.setenv("CCB_API_TOKENS", TOKENS)
    seed(registry)
    async with api_client(api_app()) as client:
        yield client


@pytest.mark.parametrize("path", READ_ROUTES)
async def test_every_read_route_answers_both_roles_and_refuses_no_token(
        api: httpx.AsyncClient, path: str) -> None:
    for headers in (READ, OPERATE):
        answer = await api.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
    bare = await api.get(path)
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in bare.json()["detail"]
    wrong = await api.get(path, headers={"Authorization": "Bearer not-a-token-of-ours"})
    assert wrong.status_code == 401 and "not one of CCB_API_TOKENS" in wrong.json()["detail"]


@pytest.mark.parametrize(("path", "body"), ACTION_ROUTES)
async def test_a_read_token_may_not_act(api: httpx.AsyncClient, path: str,
                                        body: dict | None) -> None:
    answer = await api.post(path, json=body, headers=READ)
    assert answer.status_code == 403
    assert answer.json()["detail"] == ("token 'dashboard' has the role read; this action needs "
                                       "a token with the role operate")
    assert (await api.post(path, json=body)).status_code == 401


async def test_what_the_reads_show(api: httpx.AsyncClient) -> None:
    one = (await api.get("/api/v1/integrations/acme-weather", headers=READ)).json()
    assert one["state"] == "ACTIVE" and one["live"] == {"development": "1.0.0"}
    versions = (await api.get("/api/v1/integrations/acme-weather/versions", headers=READ)).json()
    assert [v["version"] for v in versions["versions"]] == ["1.0.0"]
    moves = (await api.get("/api/v1/integrations/acme-weather/transitions",
                           headers=READ)).json()["transitions"]
    assert (moves[0]["to_state"], moves[-1]["to_state"]) == ("REQUESTED", "ACTIVE")
    deployed = (await api.get("/api/v1/deployments?environment=development",
                              headers=READ)).json()["deployments"]
    assert [(d["integration_slug"], d["status"]) for d in deployed] == [("acme-weather", "live")]
    usage = (await api.get("/api/v1/integrations/acme-weather/usage", headers=READ)).json()
    assert usage["cost_usd"] == 0 and usage["workflow_ids"] == ["create-demo-integrations-1"]


async def test_the_list_filters_by_state_and_environment(api: httpx.AsyncClient) -> None:
    async def slugs(query: str) -> list[str]:
        answer = await api.get(f"/api/v1/integrations?{query}", headers=READ)
        return [i["slug"] for i in answer.json()["integrations"]]

    assert await slugs("state=ACTIVE") == ["acme-weather"]
    assert await slugs("state=FAILED") == []
    assert await slugs("environment=development") == ["acme-weather"]
    assert await slugs("environment=production&state=ACTIVE") == []


async def test_events_page_with_a_cursor_and_filter(api: httpx.AsyncClient) -> None:
    seen: list[str] = []
    url = "/api/v1/events?type=code.generated&slug=acme-weather&limit=2"
    cursor = None
    for _ in range(5):
        page = (await api.get(url + (f"&cursor={cursor}" if cursor else ""),
                              headers=READ)).json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"acme-weather-e{i}" for i in range(5)]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    future = await api.get("/api/v1/events", params={"since": later}, headers=READ)
    assert future.json() == {"events": [], "next_cursor": None}


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/api/v1/integrations/no-such-thing", 404, "no integration 'no-such-thing'"),
    ("/api/v1/events?slug=no-such-thing", 404, "GET /api/v1/integrations lists them"),
    ("/api/v1/integrations?state=SLEEPING", 422, "state: Input should be"),
    ("/api/v1/events?limit=0", 422, "limit: Input should be greater than or equal to 1"),
    ("/api/v1/events?limit=501", 422, "limit"),
    ("/api/v1/events?cursor=garbage", 422, "the cursor is not one this API gave out"),
    ("/api/v1/events?since=yesterday", 422, "since:"),
])
async def test_each_refusal_says_what_is_wrong(api: httpx.AsyncClient, path: str, status: int,
                                               words: str) -> None:
    answer = await api.get(path, headers=READ)
    assert answer.status_code == status
    assert words in answer.json()["detail"]


@pytest.mark.parametrize(("path", "body", "words"), [
    ("/api/v1/requests/1/approve", {}, "head_sha: Field required"),
    ("/api/v1/requests/1/approve", {"head_sha": "xyz"}, "head_sha: String should match"),
    ("/api/v1/requests/0/cancel", None, "issue: Input should be greater than or equal to 1"),
    ("/api/v1/requests/1/request-changes", {"text": ""}, "text: String should have at least"),
    ("/api/v1/integrations/acme-weather/deploy", {"environment": "moon"}, "environment:"),
    ("/api/v1/integrations/acme-weather/deploy", {"extra": 1}, "extra: Extra inputs"),
    ("/api/v1/integrations/acme-weather/promote", {}, "environment: Field required"),
    ("/api/v1/integrations/acme-weather/promote", {"environment": "staging",
                                                   "commit_sha": "xyz"}, "commit_sha:"),
])
async def test_an_invalid_action_body_is_a_422_sentence(api: httpx.AsyncClient, path: str,
                                                        body: dict | None, words: str) -> None:
    answer = await api.post(path, json=body, headers=OPERATE)
    assert answer.status_code == 422
    assert words in answer.json()["detail"] and answer.json()["detail"].startswith("invalid")


async def test_refused_deploy_and_rollback_say_why(api: httpx.AsyncClient) -> None:
    rollback = await api.post("/api/v1/integrations/acme-weather/rollback", json={},
                              headers=OPERATE)
    assert rollback.status_code == 409
    assert rollback.json()["detail"] == ("acme-weather has no earlier version in development "
                                         "to go back to (live: 1.0.0)")
    deploy = await api.post("/api/v1/integrations/acme-weather/deploy",
                            json={"version": "9.9.9"}, headers=OPERATE)
    assert deploy.status_code == 409
    assert deploy.json()["detail"] == "acme-weather has no version 9.9.9; recorded: 1.0.0"
    unknown = await api.post("/api/v1/integrations/nope-nope/rollback", headers=OPERATE)
    assert unknown.status_code == 404


async def test_refused_promotions_say_why_and_are_audited(api: httpx.AsyncClient,
                                                         registry: Registry) -> None:
    """Nothing is live in staging, so production is refused before any workflow starts; an
    unknown version and another commit are refused with the version's facts."""
    url = "/api/v1/integrations/acme-weather/promote"
    skipped = await api.post(url, json={"environment": "production"}, headers=OPERATE)
    assert skipped.status_code == 409
    assert skipped.json()["detail"] == (
        "acme-weather 1.0.0 must be live in staging before it goes to production (nothing is "
        "live there): promote it to staging first")
    other = await api.post(url, json={"environment": "staging", "commit_sha": "bbbbbbb"},
                           headers=OPERATE)
    assert other.status_code == 409
    assert other.json()["detail"] == ("bbbbbbb is not the commit 1.0.0 merged at: promote "
                                      "aaaaaaa (approvals are bound to the commit)")
    first = await api.post(url, json={"environment": "development"}, headers=OPERATE)
    assert first.status_code == 409 and "is the first environment" in first.json()["detail"]
    unknown = await api.post(url, json={"environment": "staging", "version": "9.9.9"},
                             headers=OPERATE)
    assert unknown.json()["detail"] == "acme-weather has no version 9.9.9; recorded: 1.0.0"
    audited = [e.payload for e in registry.events("acme-weather")
               if e.type == EventType.OPERATOR_ACTION and e.payload["action"] == "promote"]
    assert [a["status"] for a in audited] == ["rejected"] * 4


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=st.none() | st.sampled_from(list(IntegrationState)),
       environment=st.none() | st.sampled_from(list(Environment)),
       event_type=st.none() | st.sampled_from(list(EventType)),
       limit=st.integers(min_value=-5, max_value=700),
       since=st.none() | st.datetimes(timezones=st.none() | st.just(UTC)))
async def test_any_filter_is_answered_200_or_422_never_5xx(
        api: httpx.AsyncClient, state: IntegrationState | None,
        environment: Environment | None, event_type: EventType | None, limit: int,
        since: datetime | None) -> None:
    listed = await api.get("/api/v1/integrations", headers=READ, params={
        k: v for k, v in {"state": state, "environment": environment}.items() if v})
    assert listed.status_code == 200
    assert all((state is None or i["state"] == state)
               and (environment is None or environment in i["live"])
               for i in listed.json()["integrations"])
    params = {"limit": limit, **({"type": event_type} if event_type else {}),
              **({"since": since.isoformat()} if since else {})}
    events = await api.get("/api/v1/events", headers=READ, params=params)
    assert events.status_code == (200 if 1 <= limit <= 500 else 422), events.text
    if events.status_code == 200:
        got = events.json()["events"]
        assert len(got) <= limit
        assert all(event_type is None or e["type"] == event_type for e in got)


async def test_no_tokens_configured_means_closed_with_how_to_configure(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCB_API_TOKENS", raising=False)
    async with api_client(api_app()) as client:
        answer = await client.get("/api/v1/integrations")
    assert answer.status_code == 401
    assert "no tokens configured: set CCB_API_TOKENS" in answer.json()["detail"]


@pytest.mark.parametrize(("tokens", "words"), [
    ("not json", "the API tokens are not valid"),
    (json.dumps({"x": {"token": "short", "role": "read"}}), "at least 16 characters"),
    (json.dumps({"x": {"token": "long-enough-token-here", "role": "admin"}}), "not valid"),
])
async def test_bad_token_configuration_is_said(registry: Registry,
                                               monkeypatch: pytest.MonkeyPatch,
                                               tokens: str, words: str) -> None:
    monkeypatch.setenv("CCB_API_TOKENS", tokens)
    async with api_client(api_app()) as client:
        answer = await client.get("/api/v1/integrations", headers=READ)
    assert answer.status_code == 401 and words in answer.json()["detail"]
    assert "long-enough-token-here" not in answer.text


async def test_tokens_from_a_file(registry: Registry, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(TOKENS)
    monkeypatch.delenv("CCB_API_TOKENS", raising=False)
    monkeypatch.setenv("CCB_API_TOKENS_FILE", str(path))
    async with api_client(api_app()) as client:
        assert (await client.get("/api/v1/integrations", headers=READ)).status_code == 200


async def test_the_committed_openapi_document_is_what_the_app_serves(
        api: httpx.AsyncClient) -> None:
    served = await api.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.text == OPENAPI_PATH.read_text(), (
        "starter/api/openapi.json is stale: run `python -m starter.api.openapi` and commit it")
    assert served.text == openapi_text(api_app())
    assert "bearer" in served.text.lower()


async def test_usage_sums_the_model_calls_of_the_integrations_workflows(
        api: httpx.AsyncClient) -> None:
    from activities.usage import record_call
    from models.codegen import TokenUsage

    for i, (step, key) in enumerate([("analyze", "create-demo-integrations-1"),
                                     ("generate", "create-demo-integrations-1"),
                                     ("generate", "create-demo-integrations-1"),
                                     ("generate", "someone-else")]):
        record_call(call_key=f"call-{i}", integration_key=key, step=step, model="claude-x",
                    request_id=f"req-{i}", usage=TokenUsage(input_tokens=100, output_tokens=10,
                                                            cost_usd=0.25))
    mine = (await api.get("/api/v1/integrations/acme-weather/usage", headers=READ)).json()
    assert (mine["input_tokens"], mine["output_tokens"], mine["cost_usd"]) == (300, 30, 0.75)
    assert [(line["step"], line["calls"]) for line in mine["by_step"]] == [("analyze", 1),
                                                                           ("generate", 2)]
    fleet = (await api.get("/api/v1/usage", headers=READ)).json()
    assert fleet["cost_usd"] == 1.0 and fleet["slug"] is None


async def test_an_action_while_temporal_is_down_is_a_503_sentence(
        api: httpx.AsyncClient, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("CCB_TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
    async with api_client(api_app()) as client:
        answer = await client.post("/api/v1/requests/1/cancel", headers=OPERATE)
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith(f"cannot reach Temporal at 127.0.0.1:{port}")

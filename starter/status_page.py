"""The status page at ``/``: the fleet at a glance, server-rendered (no front-end build).

One row per integration: its state, the live version in each environment with its health
(asked of the instance now, briefly), the last deployment, what its model calls cost, and
links to its issue, its pull request and its workflows in the Temporal Web UI. The page
refreshes itself every 30 s and reads on a phone (one column of cards below 700 px).
Every value is escaped: names and versions come from people's requests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func
from sqlmodel import select

from activities.deploy.probes import check_health
from infra.settings import Settings
from models.deployment import DeploymentInfo, Environment
from registry.deployments import deployments, live_deployment
from registry.store import Registry, open_registry
from registry.usage import LlmCall

REFRESH_SECONDS = 30


@dataclass
class Row:
    slug: str
    name: str
    state: str
    version: str
    live: dict[str, DeploymentInfo] = field(default_factory=dict)
    health: dict[str, str] = field(default_factory=dict)
    last: DeploymentInfo | None = None
    spend_usd: float = 0.0
    issue_url: str = ""
    pr_url: str = ""
    workflow_url: str = ""


def html_base(settings: Settings) -> str:
    """Where people read issues: the forge's pages, or github.com for the public API."""
    base = settings.github_base_url
    if base == "https://api.github.com":
        return "https://github.com"
    return base.removesuffix("/api/v3")


def rows(registry: Registry, settings: Settings) -> list[Row]:
    out = []
    base = html_base(settings)
    for integration in registry.list_integrations():
        repo = integration.repo or settings.github_repo
        versions = registry.versions(integration.slug)
        pr = next((v.pr_number for v in reversed(versions) if v.pr_number), None)
        row = Row(slug=integration.slug, name=integration.name, state=integration.state,
                  version=integration.current_version,
                  issue_url=(f"{base}/{repo}/issues/{integration.issue_number}"
                             if integration.issue_number else ""),
                  pr_url=f"{base}/{repo}/pull/{pr}" if pr else "",
                  workflow_url=(f"{settings.ui_url}/namespaces/{settings.temporal_namespace}"
                                "/workflows?query=" + quote(
                                    f'CcbIntegrationSlug="{integration.slug}"')))
        for environment in Environment:
            live = live_deployment(registry, integration.slug, environment)
            if live is not None:
                row.live[environment] = live
        history = deployments(registry, integration.slug)
        row.last = history[-1] if history else None
        if integration.workflow_id:
            with registry.session() as session:
                spent = session.exec(select(func.coalesce(func.sum(LlmCall.cost_usd), 0.0))
                                     .where(LlmCall.integration_key == integration.workflow_id)
                                     ).one()
            row.spend_usd = float(spent or 0.0)
        out.append(row)
    return out


async def probe_all(found: list[Row]) -> None:
    """Each live instance's readiness, asked concurrently (a dead one costs one timeout)."""
    async def one(row: Row, environment: str, live: DeploymentInfo) -> None:
        port = int(live.endpoint.rpartition(":")[2] or 0)
        problem = await asyncio.to_thread(check_health, port, "/health/ready") if port else (
            "no endpoint recorded")
        row.health[environment] = "healthy" if not problem else f"unhealthy: {problem}"

    await asyncio.gather(*(one(row, env, live) for row in found
                           for env, live in row.live.items()))


CSS = """
body{font-family:system-ui,sans-serif;margin:1rem;color:#1b1f24;background:#f6f8fa}
h1{font-size:1.3rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:.45rem .6rem;border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top}
.ACTIVE{color:#1a7f37;font-weight:600}.FAILED,.unhealthy{color:#cf222e;font-weight:600}
.healthy{color:#1a7f37}small{color:#57606a}
@media (max-width:700px){table,thead,tbody,tr,td{display:block}thead{display:none}
tr{margin:0 0 .8rem;border:1px solid #d0d7de;border-radius:6px}
td{border:none;padding:.25rem .6rem}td::before{content:attr(data-label) ": ";font-weight:600}}
"""


def render(found: list[Row], settings: Settings) -> str:
    def link(url: str, text: str) -> str:
        return f'<a href="{escape(url)}">{escape(text)}</a>' if url else "—"

    body = []
    for row in found:
        envs = []
        for environment, live in row.live.items():
            health = row.health.get(environment, "not asked")
            kind = "healthy" if health == "healthy" else "unhealthy"
            envs.append(f"{escape(environment)}: {escape(live.version)} ({escape(live.color)}) "
                        f'<span class="{kind}">{escape(health)}</span>')
        last = (f"{escape(row.last.version)} to {escape(row.last.environment)}: "
                f"{escape(row.last.status)}<br><small>"
                f"{row.last.updated_at:%Y-%m-%d %H:%M} UTC</small>" if row.last else "—")
        body.append(
            f'<tr id="{escape(row.slug)}"><td data-label="Integration"><b>{escape(row.name)}'
            f"</b><br><small>{escape(row.slug)}</small></td>"
            f'<td data-label="State" class="{escape(row.state)}">{escape(row.state)}</td>'
            f'<td data-label="Version">{escape(row.version or "—")}</td>'
            f'<td data-label="Live">{"<br>".join(envs) or "not deployed"}</td>'
            f'<td data-label="Last deployment">{last}</td>'
            f'<td data-label="Spend">${row.spend_usd:.2f}</td>'
            f'<td data-label="Links">{link(row.issue_url, "issue")} · '
            f'{link(row.pr_url, "pull request")} · {link(row.workflow_url, "workflows")}</td>'
            "</tr>")
    ui = f"{settings.ui_url}/namespaces/{settings.temporal_namespace}/workflows"
    rows_html = "\n".join(body) or '<tr><td colspan="7">No integrations yet.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>ccb — integrations</title><style>{CSS}</style></head>
<body><h1>Integrations ({len(found)})</h1>
<p><small>Refreshes every {REFRESH_SECONDS} s · repository {escape(settings.github_repo)} ·
<a href="{escape(ui)}">Temporal Web UI</a></small></p>
<table><thead><tr><th>Integration</th><th>State</th><th>Version</th><th>Live</th>
<th>Last deployment</th><th>Spend</th><th>Links</th></tr></thead>
<tbody>
{rows_html}
</tbody></table></body></html>"""


def status_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    opened: list[Registry] = []

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def status_page(request: Request) -> HTMLResponse:
        if not opened:
            opened.append(open_registry(settings.registry_url))
        registry = opened[0]
        found = await asyncio.to_thread(rows, registry, settings)
        await probe_all(found)
        return HTMLResponse(render(found, settings))

    return router

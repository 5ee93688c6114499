"""The deployment's view of the environment's HAProxy: which proxy, what a colour carries,
its response counters, and putting the registry's routes back after a proxy restart."""

from __future__ import annotations

import csv
import io

from activities.traffic import haproxy_process, switch
from activities.traffic.runtime_api import RuntimeApi, RuntimeApiError
from infra.settings import get_settings
from models.deployment import Color
from models.traffic import DEFAULT_PROXY_PORTS, DesiredRoute, ProxySpec, Route, ServerAdminState


def proxy_of(environment: str) -> ProxySpec:
    """The environment's proxy: port from settings (``CCB_PROXY_PORTS``) or the default."""
    settings = get_settings()
    port = settings.proxy_ports.get(environment, DEFAULT_PROXY_PORTS.get(environment, 0))
    base = switch.proxy_for(environment, settings.data_dir.resolve())
    return base.model_copy(update={"port": port})


def routes_or_none(proxy: ProxySpec, slug: str) -> dict[Color, Route] | None:
    """Both colours of ``slug`` as routed now; None when the proxy or the slug's backend is
    not there."""
    if not haproxy_process.is_running(proxy):
        return None
    try:
        return {route.color: route for route in switch.routes(proxy, slug)}
    except switch.SwitchError:
        return None


def carries_traffic(route: Route | None) -> bool:
    return route is not None and route.state != ServerAdminState.MAINT


def response_counts(proxy: ProxySpec, slug: str, color: Color) -> tuple[int, int]:
    """(responses, errors) HAProxy counted for ``color`` of ``slug`` since it started:
    errors are 5xx answers plus failed connections and responses."""
    slot = switch.ensure_backend(proxy, slug).backend
    reply = RuntimeApi(proxy.socket_path).command(f"show stat {slot} 4 -1")
    for row in csv.DictReader(io.StringIO(reply.lstrip("# "))):
        if row.get("pxname") == slot and row.get("svname") == Color(color).value:
            def num(key: str, row: dict[str, str] = row) -> int:
                return int(row.get(key) or 0)

            total = sum(num(f"hrsp_{k}") for k in ("1xx", "2xx", "3xx", "4xx", "5xx", "other"))
            errors = num("hrsp_5xx") + num("eresp") + num("econ")
            return total + num("eresp") + num("econ"), errors
    return 0, 0


def traffic_counters(environment: str, slug: str) -> tuple[int, int]:
    """(requests, 5xx answers) the environment's proxy routed to ``slug``; (-1, -1) when the
    proxy or the slug's backend is not there (the monitor then judges by its probes alone)."""
    proxy = proxy_of(environment)
    try:
        if haproxy_process.is_running(proxy):
            counters = switch.backend_counters(proxy, slug)
            if counters is not None:
                return counters
    except (OSError, RuntimeApiError):
        pass
    return -1, -1


def restore_from(environment: str, desired: list[DesiredRoute]) -> bool:
    """Start the proxy if needed and bring the live routes back; True if anything differed."""
    proxy = proxy_of(environment)
    wrong = not haproxy_process.is_running(proxy)
    if not wrong:
        for want in desired:
            have = routes_or_none(proxy, want.slug)
            route = have.get(want.color) if have else None
            if route is None or (route.addr, route.port, route.weight, route.state) != (
                    want.addr, want.port, want.weight, want.state):
                wrong = True
                break
    if wrong:
        switch.restore_routes(proxy, desired)
    return wrong

"""The blue-green switch the deployment workflow's activities call.

Every operation reads HAProxy's state first and only changes what differs, so repeating one
after a crash (before or after it acted) converges to the same routes. Traffic moves only
through the runtime API (addresses, weights, states, map entries), never by a reload.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from activities.traffic import haproxy_process
from activities.traffic.haproxy_config import slot_name
from activities.traffic.runtime_api import RuntimeApi, RuntimeApiError
from infra.settings import get_settings
from models.deployment import Color
from models.request import SLUG_PATTERN
from models.traffic import (
    DEFAULT_PROXY_PORTS,
    FULL_WEIGHT,
    BackendRef,
    DesiredRoute,
    DrainResult,
    ProxySpec,
    Route,
    ServerAdminState,
    ServerStatus,
)

DRAIN_POLL_S = 0.1


class SwitchError(RuntimeError):
    """A switch operation cannot be done as asked; the message says why and what to do."""


def other(color: Color) -> Color:
    return Color.GREEN if color == Color.BLUE else Color.BLUE


def _api(proxy: ProxySpec) -> RuntimeApi:
    return RuntimeApi(proxy.socket_path)


# -- the proxy and the integration's backend -----------------------------------------------------

def proxy_for(environment: str, data_dir: Path | None = None) -> ProxySpec:
    """The proxy of a named environment: its default port, files under ``<data_dir>/proxy``."""
    if environment not in DEFAULT_PROXY_PORTS:
        raise SwitchError(f"unknown environment {environment!r}: use one of "
                          f"{', '.join(DEFAULT_PROXY_PORTS)}")
    base = data_dir if data_dir is not None else get_settings().data_dir
    return ProxySpec(environment=environment, port=DEFAULT_PROXY_PORTS[environment],
                     data_dir=base / "proxy")


def ensure_proxy(proxy: ProxySpec) -> int:
    """Start the environment's HAProxy unless it runs; its pid. Never reloads a running one."""
    return haproxy_process.start(proxy)


def _read_map_file(proxy: ProxySpec) -> dict[str, str]:
    try:
        text = proxy.map_path.read_text()
    except FileNotFoundError:
        return {}
    entries = {}
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) == 2:
            entries[parts[0]] = parts[1]
    return entries


def _write_map_file(proxy: ProxySpec, entries: dict[str, str]) -> None:
    tmp = proxy.map_path.with_suffix(".map.new")
    tmp.write_text("".join(f"{slug} {slot}\n" for slug, slot in sorted(entries.items())))
    os.replace(tmp, proxy.map_path)


def ensure_backend(proxy: ProxySpec, slug: str) -> BackendRef:
    """Give ``slug`` a backend slot and route its Host header there; no reload, no restart.

    Idempotent: an existing assignment (in HAProxy's memory or in the map file) is kept. The
    file is written before the runtime entry, so a crash in between is repaired by a repeat,
    and a restarted HAProxy loads the file.
    """
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise SwitchError(f"{slug!r} is not an integration slug (lowercase letters, digits, '-')")
    api = _api(proxy)
    with haproxy_process.proxy_lock(proxy):
        live = api.show_map(proxy.map_path)
        on_file = _read_map_file(proxy)
        slot = live.get(slug) or on_file.get(slug)
        if slot is None:
            taken = set(live.values()) | set(on_file.values())
            free = [slot_name(i) for i in range(proxy.slots) if slot_name(i) not in taken]
            if not free:
                raise SwitchError(
                    f"all {proxy.slots} backend slots of the {proxy.environment} proxy are "
                    "taken; raise ProxySpec.slots and restart that proxy in a quiet moment"
                )
            slot = free[0]
        if not api.backend_exists(slot):
            raise SwitchError(
                f"{slug} is mapped to {slot}, which the running {proxy.environment} proxy does "
                "not declare; raise ProxySpec.slots and restart that proxy"
            )
        if on_file.get(slug) != slot:
            _write_map_file(proxy, {**on_file, slug: slot})
        if live.get(slug) != slot:
            if slug in live:
                api.del_map(proxy.map_path, slug)
            api.add_map(proxy.map_path, slug, slot)
    return BackendRef(slug=slug, environment=proxy.environment, backend=slot,
                      url=proxy.url, host_header=slug)


def release_backend(proxy: ProxySpec, slug: str) -> bool:
    """Free ``slug``'s slot once neither colour takes traffic; False if it had none."""
    api = _api(proxy)
    slot = _slot_if_any(proxy, slug)
    if slot is None:
        return False
    busy = [s.name for s in api.server_states(slot)
            if s.admin_state != ServerAdminState.MAINT or s.current_sessions]
    if busy:
        raise SwitchError(f"{slug} still routes traffic to {', '.join(busy)}; drain it first")
    with haproxy_process.proxy_lock(proxy):
        on_file = _read_map_file(proxy)
        if slug in on_file:
            del on_file[slug]
            _write_map_file(proxy, on_file)
        if slug in api.show_map(proxy.map_path):
            api.del_map(proxy.map_path, slug)
    return True


def backend_counters(proxy: ProxySpec, slug: str) -> tuple[int, int] | None:
    """(requests, 5xx answers) the proxy has routed to ``slug``, or None when it has no slot."""
    slot = _slot_if_any(proxy, slug)
    return None if slot is None else _api(proxy).backend_counters(slot)


def _slot_if_any(proxy: ProxySpec, slug: str) -> str | None:
    return _api(proxy).show_map(proxy.map_path).get(slug)


def _slot_of(proxy: ProxySpec, slug: str) -> str:
    slot = _slot_if_any(proxy, slug)
    if slot is None:
        raise SwitchError(
            f"{slug} has no backend in the {proxy.environment} proxy; call ensure_backend first"
        )
    return slot


def _servers(proxy: ProxySpec, slot: str) -> dict[Color, ServerStatus]:
    servers = {s.name: s for s in _api(proxy).server_states(slot)}
    try:
        return {color: servers[color.value] for color in Color}
    except KeyError as exc:
        raise SwitchError(f"backend {slot} lacks the server {exc}; its config is not ours") from exc


def _route(slug: str, server: ServerStatus) -> Route:
    return Route(slug=slug, color=Color(server.name), addr=server.addr, port=server.port,
                 weight=server.weight, state=server.admin_state, status=server.status,
                 current_sessions=server.current_sessions)


# -- reading --------------------------------------------------------------------------------------

def routes(proxy: ProxySpec, slug: str) -> list[Route]:
    """Both colours of ``slug`` as HAProxy routes them now (blue first)."""
    slot = _slot_of(proxy, slug)
    return [_route(slug, server) for server in _servers(proxy, slot).values()]


# -- moving traffic -----------------------------------------------------------------------------

def route_to(proxy: ProxySpec, slug: str, color: Color, addr: str, port: int) -> Route:
    """Make ``color`` of ``slug`` a ready server at ``addr:port``.

    It takes no traffic while the other colour carries some (weight 0; ``shift`` moves it),
    and all of it when it is the only one (a first deployment). Idempotent; refuses to
    re-point a colour that is still serving another address (drain it first).
    """
    color = Color(color)
    slot = _slot_of(proxy, slug)
    servers = _servers(proxy, slot)
    mine, theirs = servers[color], servers[other(color)]
    same_addr = (mine.addr, mine.port) == (addr, port)
    if mine.admin_state != ServerAdminState.MAINT and not same_addr:
        raise SwitchError(
            f"{slug}/{color} still routes to {mine.addr}:{mine.port} ({mine.status}); "
            f"drain it before pointing it at {addr}:{port}"
        )
    if same_addr and mine.admin_state == ServerAdminState.READY:
        return _route(slug, mine)
    api = _api(proxy)
    others_serve = theirs.admin_state == ServerAdminState.READY and theirs.weight > 0
    if not same_addr:
        api.set_addr(slot, color.value, addr, port)
    api.set_weight(slot, color.value, 0 if others_serve else FULL_WEIGHT)
    api.set_state(slot, color.value, ServerAdminState.READY)
    return _route(slug, _servers(proxy, slot)[color])


def shift(proxy: ProxySpec, slug: str, to_color: Color, percent: int) -> list[Route]:
    """Weights so that ``percent`` of new connections go to ``to_color``, the rest to the other.

    The weight that rises is set before the one that falls, so the total never drops to
    zero, and with consistent hashing a connection only ever moves towards the rising colour.
    """
    if not 0 <= percent <= FULL_WEIGHT:
        raise SwitchError(f"percent must be between 0 and 100, got {percent}")
    to_color = Color(to_color)
    slot = _slot_of(proxy, slug)
    servers = _servers(proxy, slot)
    mine, theirs = servers[to_color], servers[other(to_color)]
    if mine.admin_state != ServerAdminState.READY:
        raise SwitchError(f"{slug}/{to_color} is {mine.status}: route_to it before shifting")
    if percent and mine.status.startswith("DOWN"):
        raise SwitchError(
            f"HAProxy's health check finds {slug}/{to_color} at {mine.addr}:{mine.port} down "
            f"({mine.status}); make that version answer before shifting traffic to it"
        )
    rest = FULL_WEIGHT - percent
    theirs_ready = theirs.admin_state == ServerAdminState.READY
    if rest and not theirs_ready:
        raise SwitchError(
            f"{slug}/{other(to_color)} is {theirs.status} and cannot take {rest}% of traffic; "
            f"route_to it first or shift 100% to {to_color}"
        )
    if percent == 0 and not theirs_ready:
        raise SwitchError(f"shifting 0% to {to_color} would leave {slug} without traffic")
    api = _api(proxy)
    changes = [(mine, percent)] + ([(theirs, rest)] if theirs_ready else [])
    changes.sort(key=lambda change: change[1] <= change[0].weight)  # rising weights first
    for server, weight in changes:
        if server.weight != weight:
            api.set_weight(slot, server.name, weight)
    return routes(proxy, slug)


def drain(proxy: ProxySpec, slug: str, color: Color, timeout_s: float,
          force: bool = False) -> DrainResult:
    """Stop new requests to ``color``, wait (bounded) for its in-flight ones, then maint.

    Refuses when the other colour takes no traffic (that would be an outage) unless
    ``force``. Idempotent: a colour already in maintenance is reported as drained.
    """
    color = Color(color)
    slot = _slot_of(proxy, slug)
    servers = _servers(proxy, slot)
    mine, theirs = servers[color], servers[other(color)]
    started = time.monotonic()
    if mine.admin_state == ServerAdminState.MAINT and not mine.current_sessions:
        return DrainResult(slug=slug, color=color, drained=True, remaining_sessions=0,
                           waited_s=0.0, final_state=ServerAdminState.MAINT)
    if not force and not (theirs.admin_state == ServerAdminState.READY and theirs.weight > 0):
        raise SwitchError(
            f"draining {slug}/{color} would leave no colour taking traffic "
            f"({other(color)} is {theirs.status}, weight {theirs.weight}); shift first"
        )
    api = _api(proxy)
    if mine.admin_state == ServerAdminState.READY:
        api.set_state(slot, color.value, ServerAdminState.DRAIN)
    deadline = started + timeout_s
    current = mine
    while True:
        current = _servers(proxy, slot)[color]
        if (current.current_sessions == 0 and current.queued == 0) or (
            time.monotonic() >= deadline
        ):
            break
        time.sleep(DRAIN_POLL_S)
    api.set_state(slot, color.value, ServerAdminState.MAINT)
    remaining = current.current_sessions + current.queued
    return DrainResult(slug=slug, color=color, drained=remaining == 0,
                       remaining_sessions=remaining, waited_s=time.monotonic() - started,
                       final_state=ServerAdminState.MAINT)


def restore_routes(proxy: ProxySpec, desired: list[DesiredRoute]) -> list[Route]:
    """Bring HAProxy back to ``desired`` (the registry's view), e.g. after a proxy restart.

    Starts the proxy if needed, re-creates backends, addresses, weights and states. Colours
    that take traffic are set up before any is taken down. Colours not listed are left alone.
    """
    ensure_proxy(proxy)
    api = _api(proxy)
    ordered = sorted(desired, key=lambda d: d.state != ServerAdminState.READY)
    slots = {d.slug: ensure_backend(proxy, d.slug).backend for d in ordered}
    for want in ordered:
        slot = slots[want.slug]
        have = _servers(proxy, slot)[want.color]
        if (have.addr, have.port) != (want.addr, want.port):
            if have.admin_state != ServerAdminState.MAINT:
                api.set_state(slot, want.color.value, ServerAdminState.MAINT)
            api.set_addr(slot, want.color.value, want.addr, want.port)
        if have.weight != want.weight:
            api.set_weight(slot, want.color.value, want.weight)
        if have.admin_state != want.state:
            api.set_state(slot, want.color.value, want.state)
    return [route for slug in dict.fromkeys(d.slug for d in desired)
            for route in routes(proxy, slug)]


__all__ = [
    "RuntimeApiError",
    "SwitchError",
    "backend_counters",
    "drain",
    "ensure_backend",
    "ensure_proxy",
    "proxy_for",
    "release_backend",
    "restore_routes",
    "route_to",
    "routes",
    "shift",
]

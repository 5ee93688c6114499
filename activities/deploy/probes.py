"""HTTP probes of one instance on its loopback port: health and smoke checks."""

from __future__ import annotations

import http.client
import json

PROBE_TIMEOUT_S = 3.0


def probe(port: int, path: str, timeout_s: float = PROBE_TIMEOUT_S
          ) -> tuple[int, dict[str, str], str]:
    """GET ``path`` on 127.0.0.1:``port``: (status, lowercase headers, body); status 0 and the
    error's words as body when nothing answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", path, headers={"Connection": "close", "User-Agent": "ccb-probe"})
        response = conn.getresponse()
        body = response.read(65536).decode(errors="replace")
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, body
    except (OSError, http.client.HTTPException) as exc:
        return 0, {}, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def check_health(port: int, path: str) -> str:
    """'' when ``path`` answers 2xx, else what was wrong."""
    status, _, body = probe(port, path)
    if 200 <= status < 300:
        return ""
    if status == 0:
        return f"{path} did not answer ({body})"
    return f"{path} answered {status}: {body[:200]}"


def smoke_problems(port: int, version: str, capabilities: list[str]) -> list[str]:
    """The smoke checks of a fresh version; an empty list means it passed.

    Liveness and readiness answer 2xx, every answer names the version being deployed in
    ``X-Version``, and the service's OpenAPI document has a route for each operation the
    manifest lists (``/operations/<name>``). Operations are not called: they would reach the
    external service.
    """
    problems = []
    for path in ("/health/live", "/health/ready"):
        status, headers, body = probe(port, path)
        if not 200 <= status < 300:
            problems.append(f"{path} answered {status or 'nothing'}: {body[:120]}")
        elif headers.get("x-version") != version:
            problems.append(f"{path} says X-Version {headers.get('x-version')!r}, "
                            f"expected {version!r}")
    if capabilities:
        status, _, body = probe(port, "/openapi.json")
        try:
            paths = json.loads(body).get("paths", {}) if status == 200 else {}
        except ValueError:
            paths = {}
        if status != 200:
            problems.append(f"/openapi.json answered {status or 'nothing'}")
        for name in capabilities:
            if not any(p.rstrip("/").endswith(f"/operations/{name}") for p in paths):
                problems.append(f"operation {name!r} of the manifest has no route "
                                f"/operations/{name}")
    return problems

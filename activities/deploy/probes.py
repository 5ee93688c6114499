"""HTTP probes of one instance on its loopback port: health and smoke checks."""

from __future__ import annotations

import http.client
import json

from models.manifest import LiveCheck

PROBE_TIMEOUT_S = 3.0


def probe(port: int, path: str, timeout_s: float = PROBE_TIMEOUT_S, *, method: str = "GET",
          body: bytes | None = None) -> tuple[int, dict[str, str], str]:
    """``method`` ``path`` on 127.0.0.1:``port``: (status, lowercase headers, body); status 0
    and the error's words as body when nothing answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    headers = {"Connection": "close", "User-Agent": "ccb-probe"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        body = response.read(65536).decode(errors="replace")
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, body
    except (OSError, ValueError, http.client.HTTPException) as exc:
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
    manifest lists (``/operations/<name>``, or an operation whose id is the name). Operations
    are not called: they would reach the external service.
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
        served = _operation_ids(paths)
        for name in capabilities:
            if name not in served and not any(
                    p.rstrip("/").endswith(f"/operations/{name}") for p in paths):
                problems.append(f"operation {name!r} of the manifest has no route "
                                f"/operations/{name} and no operation of that id")
    return problems


def _operation_ids(paths: object) -> set[str]:
    """The ``operationId`` of every operation in an OpenAPI ``paths`` object (a webhook
    receiver's routes are the sender's paths, each with its capability as its id)."""
    if not isinstance(paths, dict):
        return set()
    return {str(op["operationId"]) for item in paths.values() if isinstance(item, dict)
            for op in item.values() if isinstance(op, dict) and "operationId" in op}


LIVE_CHECK_TIMEOUT_S = 2.0


def live_check_problem(port: int, check: LiveCheck, version: str) -> str:
    """'' when the instance answers ``check`` as it expects, else what was wrong."""
    body = None if check.body is None else json.dumps(check.body).encode()
    status, headers, text = probe(port, check.path, LIVE_CHECK_TIMEOUT_S, method=check.method,
                                  body=body)
    where = f"{check.method} {check.path}"
    if status == 0:
        return f"{where} did not answer ({text[:120]})"
    if status not in check.expect_status:
        wanted = " or ".join(str(code) for code in check.expect_status)
        return f"{where} answered {status}, expected {wanted}: {text[:120]}"
    if check.expect_version_header and headers.get("x-version") != version:
        return f"{where} says X-Version {headers.get('x-version')!r}, expected {version!r}"
    if check.expect_json_keys:
        try:
            data = json.loads(text)
        except ValueError:
            return f"{where} did not answer JSON: {text[:120]}"
        missing = [k for k in check.expect_json_keys
                   if not isinstance(data, dict) or k not in data]
        if missing:
            return f"{where} answered without {', '.join(missing)}"
    return ""


def live_check_problems(port: int, checks: list[LiveCheck], version: str) -> list[str]:
    """The integration's generated live checks against its instance: one line per failed one,
    naming the check."""
    return [f"{check.name}: {problem}" for check in checks
            if (problem := live_check_problem(port, check, version))]

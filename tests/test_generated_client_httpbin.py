"""Issue 10, item 3: a generated client against a real HTTP service run locally: httpbin
(the well-known echo service, installed from PyPI, served on 127.0.0.1 by werkzeug).

The client is generated from requests as people write them (query parameters named and
typed on the endpoint line, a JSON body, a credential) and run in a subprocess with a clean
environment, configured only the documented way (``<PREFIX>_BASE_URL`` and the credential
variable). httpbin's answers show what really went over the wire; its ``/status/<code>``
shows the mapping of 401 / 404 / 429 / 5xx to the client's documented errors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import httpbin
import pytest
from werkzeug.serving import make_server

from activities.codegen.offline.layout import Layout
from activities.codegen.offline.operations import operations
from activities.codegen.offline_generator import analyze, generate
from models.codegen import AnalyzeInput, GenerateInput
from rules.issue_form import parse_issue_form
from tests.codegen_samples import write_files
from tests.figures import figure
from tests.request_space import render_form

ENDPOINTS = "\n".join([
    "GET /anything/{item}?page:int&verbose:bool&q - look an item up",
    "POST /anything/orders?dry-run:bool - place an order",
    "GET /status/{code} - answer with that status",
    "GET /bearer - check the token",
    "GET /headers - the headers received",
])


@pytest.fixture(scope="module")
def httpbin_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, httpbin.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def _generated(auth: str, tmp_path: Path) -> tuple[Layout, Path]:
    body = render_form({"Service name": "Echo Bin ✓", "Integration type": "api-client",
                        "Base URL": "https://httpbin.example/api", "Authentication": auth,
                        "Endpoints": ENDPOINTS})
    request = parse_issue_form(body).request
    assert request is not None
    spec = analyze(AnalyzeInput(request=request, integration_key="httpbin")).spec
    files = generate(GenerateInput(request=request, spec=spec, integration_key="httpbin")).files
    write_files(files, tmp_path)
    lay = Layout(request, "0.1.0", operations(request))
    return lay, tmp_path / "integrations" / request.slug


DRIVER = textwrap.dedent("""
    import json
    import sys

    from {pkg} import {client}, ApiStatusError

    out = {{}}
    with {client}() as client:
        item = client.get_anything("widget 1", page=2, verbose=True, q="ä b",
                                   params={{"lang": "de", "strict": False}})
        out["item"] = {{k: item[k] for k in ("args", "method", "url", "headers")}}
        order = client.post_anything_orders({{"sku": "A-1", "qty": 2}}, dry_run=False)
        out["order"] = {{k: order[k] for k in ("args", "json", "method", "headers")}}
        out["headers"] = client.get_headers()["headers"]
        try:
            out["bearer"] = client.get_bearer()
        except ApiStatusError as exc:
            out["bearer"] = [type(exc).__name__, exc.status_code]
        errors = {{}}
        for code in ("401", "403", "404", "429", "500", "503", "418"):
            try:
                client.get_status(code)
                errors[code] = None
            except ApiStatusError as exc:
                errors[code] = [type(exc).__name__, exc.status_code]
        out["errors"] = errors
    json.dump(out, sys.stdout)
""")


def _run(lay: Layout, root: Path, base_url: str) -> dict[str, object]:
    driver = root / "drive.py"
    driver.write_text(DRIVER.format(pkg=lay.pkg, client=lay.client_class), encoding="utf-8")
    env = {"PATH": os.defpath, "PYTHONPATH": str(root), "LANG": "C.UTF-8", "HOME": str(root),
           lay.base_url_env: base_url}
    if lay.credential_env:
        env[lay.credential_env] = "test-token-123"
    done = subprocess.run([sys.executable, str(driver)], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_generated_client_speaks_to_a_real_http_service(
    httpbin_url: str, tmp_path: Path
) -> None:
    lay, root = _generated("bearer", tmp_path)
    assert [op.name for op in lay.ops] == ["get_anything", "post_anything_orders", "get_status",
                                           "get_bearer", "get_headers"]
    out = _run(lay, root, f"{httpbin_url}/")
    item = out["item"]
    assert item["method"] == "GET"
    assert item["url"].startswith(f"{httpbin_url}/anything/widget%201?")
    assert item["args"] == {"page": "2", "verbose": "true", "q": "ä b", "lang": "de",
                            "strict": "false"}
    assert item["headers"]["Authorization"] == "Bearer test-token-123"
    assert item["headers"]["Accept"] == "application/json"
    order = out["order"]
    assert order["method"] == "POST" and order["json"] == {"sku": "A-1", "qty": 2}
    assert order["args"] == {"dry-run": "false"}
    assert order["headers"]["Content-Type"] == "application/json"
    assert out["bearer"] == {"authenticated": True, "token": "test-token-123"}
    assert out["errors"] == {
        "401": ["AuthenticationError", 401], "403": ["AuthenticationError", 403],
        "404": ["NotFoundError", 404], "429": ["RateLimitError", 429],
        "500": ["ServerError", 500], "503": ["ServerError", 503],
        "418": ["BadRequestError", 418],
    }
    figure(f"generated client against httpbin: query {item['args']}, body {order['json']}, "
           f"errors {out['errors']}")


def test_an_api_key_travels_in_its_header_and_a_missing_token_is_a_401(
    httpbin_url: str, tmp_path: Path
) -> None:
    lay, root = _generated("api-key", tmp_path)
    out = _run(lay, root, httpbin_url)
    assert out["headers"]["X-Api-Key"] == "test-token-123"
    assert "Authorization" not in out["headers"]
    assert out["bearer"] == ["AuthenticationError", 401]  # httpbin wants a bearer token

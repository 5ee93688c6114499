"""Issue 15, item 1 (webhook receivers): the offline generator writes a receiver that
verifies each delivery's signature (the scheme read from the request), refuses replays and
records each delivery once, with tests that prove it; deployed, it does the same behind the
proxy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.client import Client

from activities.code_checks import check_code
from activities.codegen.offline_generator import analyze, generate
from models.codegen import AnalyzeInput, GenerateInput
from models.request import Endpoint, IntegrationRequest, SignatureEncoding
from rules.credentials import integration_prefix
from rules.webhook_signature import (
    DEFAULT_DELIVERY_HEADER,
    DEFAULT_SIGNATURE_HEADER,
    DEFAULT_TOLERANCE_SECONDS,
    MAX_TOLERANCE_SECONDS,
    signature_scheme,
)
from tests.codegen_samples import run_package_tests, write_files


def receiver_request(slug: str, requirements: str,
                     signature: SignatureEncoding | None = None) -> IntegrationRequest:
    return IntegrationRequest(
        service_name=slug.title(), slug=slug, integration_type="webhook-receiver",
        base_url="https://shop.example/admin", auth="none", requirements=requirements,
        signature=signature,
        endpoints=[Endpoint(method="POST", path="/webhooks/orders", description="orders"),
                   Endpoint(method="POST", path="/webhooks/{topic}", description="any topic"),
                   Endpoint(method="POST", path="/health/live", description="a clash")])


SHOPIFY = receiver_request(
    "shop-orders", "Verify X-Shopify-Hmac-Sha256 on every webhook; deliveries are "
    "identified by X-Shopify-Webhook-Id and may be sent twice.")
GITHUB = receiver_request("gh-events", "GitHub signs with X-Hub-Signature-256; "
                          "X-GitHub-Delivery names each delivery.")
STAMPED = receiver_request(
    "acme-hooks", "Check X-Acme-Signature (hex) over timestamp and body; X-Acme-Timestamp "
    "holds the Unix time; reject anything older than 2 minutes.")


def test_the_scheme_is_read_from_the_request_text_and_the_form() -> None:
    shopify, github, stamped = (signature_scheme(r) for r in (SHOPIFY, GITHUB, STAMPED))
    assert (shopify.header, shopify.encoding, shopify.delivery_header) == (
        "X-Shopify-Hmac-Sha256", SignatureEncoding.BASE64, "X-Shopify-Webhook-Id")
    assert shopify.timestamp_header == ""
    assert (github.header, github.encoding, github.delivery_header) == (
        "X-Hub-Signature-256", SignatureEncoding.PREFIXED_HEX, "X-GitHub-Delivery")
    assert (stamped.header, stamped.encoding, stamped.timestamp_header,
            stamped.tolerance_seconds) == ("X-Acme-Signature", SignatureEncoding.HEX,
                                           "X-Acme-Timestamp", 120)
    chosen = receiver_request("chosen", "X-Hub-Signature-256", SignatureEncoding.BASE64)
    assert signature_scheme(chosen).encoding == SignatureEncoding.BASE64  # the form wins
    plain = signature_scheme(receiver_request("plain", "nothing said"))
    assert (plain.header, plain.encoding, plain.delivery_header, plain.tolerance_seconds) == (
        DEFAULT_SIGNATURE_HEADER, SignatureEncoding.PREFIXED_HEX, DEFAULT_DELIVERY_HEADER,
        DEFAULT_TOLERANCE_SECONDS)


HEADER_TOKEN = st.from_regex(r"\A[A-Za-z][A-Za-z0-9]{0,8}(-[A-Za-z0-9]{1,8}){1,3}\Z")


@given(before=st.text(max_size=200), token=HEADER_TOKEN, after=st.text(max_size=200))
def test_any_text_gives_plain_header_names_and_a_bounded_window(
        before: str, token: str, after: str) -> None:
    """Whatever the text holds, a header name is a plain token (it is written into code as
    a literal, and must be a valid header), and the window stays within bounds."""
    for text in (f"{before} {token}-Signature {after}", before + after):
        scheme = signature_scheme(receiver_request("any", text))
        for name in (scheme.header, scheme.timestamp_header, scheme.delivery_header):
            assert name == "" or (len(name) <= 64 and all(c.isascii() and (c.isalnum()
                                                          or c == "-") for c in name)), name
        assert scheme.header
        assert 1 <= scheme.tolerance_seconds <= MAX_TOLERANCE_SECONDS


def _generated(request: IntegrationRequest) -> dict[str, str]:
    spec = analyze(AnalyzeInput(request=request, integration_key="types")).spec
    return generate(GenerateInput(request=request, spec=spec, integration_key="types")).files


# A client the generated package did not write: signs with the test's own HMAC.
OUTSIDE_CLIENT = """
import base64, hashlib, hmac, json, sys, time
from fastapi.testclient import TestClient
from {pkg}.deliveries import DeliveryStore
from {pkg}.service import create_app
scheme = json.loads(sys.argv[1])
app = create_app(secret="outside-key", store=DeliveryStore(__import__("pathlib").Path(sys.argv[2])))
client = TestClient(app)
body = b'{{"id": 1, "note": "from outside"}}'
stamp = str(int(time.time()))
content = (stamp.encode() + b"." + body) if scheme["timestamp"] else body
digest = hmac.new(b"outside-key", content, hashlib.sha256).digest()
signature = {{"hex": digest.hex(), "sha256=hex": "sha256=" + digest.hex(),
             "base64": base64.b64encode(digest).decode()}}[scheme["encoding"]]
headers = {{scheme["header"]: signature, scheme["delivery"]: "outside-1"}}
if scheme["timestamp"]:
    headers[scheme["timestamp"]] = stamp
answers = [client.post("/webhooks/orders", content=body).status_code,
           client.post("/webhooks/orders", content=body, headers=headers).status_code,
           client.post("/webhooks/orders", content=body, headers=headers).status_code,
           client.post("/webhooks/refunds", content=body,
                       headers={{**headers, scheme["delivery"]: "outside-2"}}).status_code,
           client.post("/receive/health/live", content=body,
                       headers={{**headers, scheme["delivery"]: "outside-3"}}).status_code]
print(json.dumps({{"answers": answers, "count": client.get("/events").json()["count"]}}))
"""


@pytest.mark.parametrize("request_", [SHOPIFY, GITHUB, STAMPED], ids=lambda r: r.slug)
def test_each_scheme_becomes_a_receiver_that_passes_its_tests_and_an_outside_sender(
        request_: IntegrationRequest, tmp_path: Path) -> None:
    files = _generated(request_)
    assert [f for f in check_code(files, request_.slug) if f.severity == "error"] == []
    write_files(files, tmp_path)
    root = tmp_path / "integrations" / request_.slug
    run, coverage = run_package_tests(root)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert coverage >= 80
    scheme = signature_scheme(request_)
    pkg = request_.slug.replace("-", "_")
    outside = subprocess.run(
        [sys.executable, "-c", OUTSIDE_CLIENT.format(pkg=pkg),
         json.dumps({"header": scheme.header, "encoding": scheme.encoding.value,
                     "timestamp": scheme.timestamp_header, "delivery": scheme.delivery_header}),
         str(tmp_path / "outside.sqlite3")],
        cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert outside.returncode == 0, outside.stderr[-3000:]
    result = json.loads(outside.stdout.strip().splitlines()[-1])
    # unsigned 401; signed 202; the same delivery again 200 (duplicate); another topic
    # 202; the receiver whose path clashed with the service's health moved under /receive.
    assert result == {"answers": [401, 202, 200, 202, 202], "count": 3}
    manifest = json.loads(files[f"integrations/{request_.slug}/manifest.json"])
    prefix = integration_prefix(pkg.upper())  # GH_... is GitHub's: INTEGRATION_GH_...
    assert manifest["configuration"]["environment"] == {
        "webhook_secret": f"{prefix}_WEBHOOK_SECRET"}
    paths = _openapi(root, pkg)["paths"]
    assert isinstance(paths, dict)
    served = {op["operationId"] for item in paths.values() for op in item.values()}
    assert set(manifest["capabilities"]) <= served  # the deployment's smoke check finds them
    assert {c["path"]: c["expect_status"] for c in manifest["live_checks"]
            if c["method"] == "POST"} == {"/webhooks/orders": [401], "/webhooks/p-1": [401],
                                          "/receive/health/live": [401]}


def _openapi(root: Path, pkg: str) -> dict[str, object]:
    script = f"import json; from {pkg}.service import app; print(json.dumps(app.openapi()))"
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                         text=True, timeout=60, check=True)
    return dict(json.loads(out.stdout))


# -- deployed --------------------------------------------------------------------------------

def _post(port: int, host: str, path: str, body: bytes, headers: dict[str, str]
          ) -> tuple[int, str]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Host": host, **headers})
        answer = conn.getresponse()
        return answer.status, answer.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.mark.slow
async def test_a_deployed_receiver_refuses_unsigned_accepts_signed_and_records_once(
        client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from activities.deploy.traffic_steps import proxy_of
    from infra.secrets import secret_store
    from infra.settings import get_settings
    from models.deploy import DeployInput, DeployResult, deploy_workflow_id
    from registry.store import open_registry
    from tests.deploy_helpers import deploy_environment, deploy_worker, quick_tuning, register
    from tests.traffic_helpers import get

    slug = f"shop-{uuid.uuid4().hex[:6]}"
    request = SHOPIFY.model_copy(update={"slug": slug, "service_name": "Shop"})
    files = _generated(request)
    secret_name = f"{slug.replace('-', '_').upper()}_WEBHOOK_SECRET"
    with deploy_environment(monkeypatch):
        register(open_registry(get_settings().registry_url), slug)
        secret_store().set(slug, secret_name, "deployed-shared-key")
        inp = DeployInput(slug=slug, version="0.1.0", files=files, tuning=quick_tuning(),
                          start_monitor=False)
        async with deploy_worker(client, task_queue):
            result = await client.execute_workflow(
                "DeployWorkflow", inp, id=deploy_workflow_id(inp.environment, slug, "0.1.0"),
                task_queue=task_queue, result_type=DeployResult)
        assert result.status == "live", result
        port = proxy_of("development").port
        body = b'{"id": 820982911946154508, "topic": "orders/create"}'
        digest = hmac.new(b"deployed-shared-key", body, hashlib.sha256).digest()
        signed = {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
                  "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}
        unsigned = _post(port, slug, "/webhooks/orders", body, {})
        first = _post(port, slug, "/webhooks/orders", body, signed)
        again = _post(port, slug, "/webhooks/orders", body, signed)
        status, _, events = get(port, slug, "/events")
    assert unsigned[0] == 401 and "X-Shopify-Hmac-Sha256" in unsigned[1]
    assert first[0] == 202, first
    assert again[0] == 200 and json.loads(again[1])["status"] == "duplicate"
    assert status == 200 and json.loads(events)["count"] == 1  # one effect


def test_the_plan_and_the_review_fit_the_receiver() -> None:
    """The analysis plans what the receiver renderer writes; the offline review approves it."""
    from activities.codegen.offline_generator import review
    from models.codegen import ReviewInput

    for request in (SHOPIFY, GITHUB, STAMPED):
        spec = analyze(AnalyzeInput(request=request, integration_key="types")).spec
        scheme = signature_scheme(request)
        assert scheme.header in spec.summary and "webhook-receiver" in spec.summary
        files = _generated(request)
        planned = {m.path for m in spec.modules if not m.path.endswith("/")}
        assert planned <= set(files)
        verdict = review(ReviewInput(request=request, files=files, findings=[],
                                     integration_key="types"))
        assert verdict.approve, verdict.comments


ODD_PATHS = ["/{2fa}/item-{model_id}/forecast/%20space", "/a%2Fb", "/x.y/{id}.json", "/é/ü",
             "/a+b", "/(x)/[y]", "/q%3Fz", "/t~!$&'*,;=:@"]


def test_receiver_routes_match_paths_as_written(tmp_path: Path) -> None:
    """Routes match the decoded path, so a path written with "%20" (CI drew one) or any
    other character the form accepts is reachable; each route's own tests prove it."""
    request = IntegrationRequest(
        service_name="Odd", slug="odd-paths", integration_type="webhook-receiver",
        base_url="https://odd.example", auth="none",
        endpoints=[Endpoint(method="POST", path=p) for p in ODD_PATHS])
    files = _generated(request)
    write_files(files, tmp_path)
    run, coverage = run_package_tests(tmp_path / "integrations" / "odd-paths")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert coverage >= 80

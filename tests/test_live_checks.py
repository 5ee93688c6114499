"""The generated live checks (a manifest's ``live_checks``): what a manifest may declare, and
how a check is run against an instance. Manifests are model output or a person's PR, so any
JSON is tried; the checks run against a small server on loopback that answers as told."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from activities.deploy.probes import live_check_problem, live_check_problems
from models.manifest import LIVE_CHECK_LIMIT, READ_METHODS, IntegrationManifest, LiveCheck
from tests.codegen_samples import SAMPLES, generated

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
CHECKISH = st.fixed_dictionaries({}, optional={
    "name": st.text(max_size=130),
    "method": st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE", "get"]),
    "path": st.one_of(st.text(max_size=40), st.text(max_size=40).map(lambda t: "/" + t),
                      st.sampled_from(["//evil.example/x", "http://h/", "/a b", "/ok"])),
    "body": JSON,
    "expect_status": st.lists(st.integers(min_value=-5, max_value=700), max_size=6),
    "expect_json_keys": st.lists(st.text(max_size=12), max_size=4),
    "expect_version_header": st.booleans(),
    "surprise": JSON,
})


@given(raw=CHECKISH)
def test_any_declared_check_is_refused_plainly_or_is_safe_to_run(raw: dict[str, Any]) -> None:
    """Whatever a manifest says: a ValidationError, or a check that stays on the instance
    (one leading '/', printable ASCII) and sends a body only to expect a refusal."""
    try:
        check = LiveCheck.model_validate(raw)
    except ValidationError:
        return
    assert check.path.startswith("/") and not check.path.startswith("//")
    assert all("!" <= ch <= "~" for ch in check.path)
    assert all(100 <= code <= 599 for code in check.expect_status)
    if check.method not in READ_METHODS:
        assert all(400 <= code <= 499 for code in check.expect_status)


def test_a_manifest_with_too_many_checks_is_refused() -> None:
    checks = [{"name": f"c{i}", "path": f"/p{i}"} for i in range(LIVE_CHECK_LIMIT + 1)]
    with pytest.raises(ValidationError, match="at most 20 items"):
        IntegrationManifest(name="n", slug="s", version="1.0.0", live_checks=checks)


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_the_offline_generator_declares_checks_that_parse(sample: str) -> None:
    files = generated(sample).files
    [text] = [v for k, v in files.items() if k.endswith("/manifest.json")]
    manifest = IntegrationManifest.model_validate(json.loads(text))
    paths = [c.path for c in manifest.live_checks]
    assert paths[:3] == ["/health/live", "/health/ready", "/openapi.json"]
    refusals = [c for c in manifest.live_checks if c.method == "POST"]
    assert refusals and all(400 <= s < 500 for c in refusals for s in c.expect_status)
    if SAMPLES[sample].integration_type == "webhook-receiver":  # each route refuses unsigned
        assert len(refusals) == len(manifest.capabilities)
        assert all(c.expect_status == [401] and c.body == {} for c in refusals)
        return
    assert [p for p in paths if p.startswith("/operations/")] == [
        f"/operations/{name}" for name in manifest.capabilities][:LIVE_CHECK_LIMIT - 4]
    assert all(c.expect_status == [422] and c.body == [] for c in refusals)
    if SAMPLES[sample].integration_type == "sync-job":
        assert "/sync" in paths and "/sync/state" in paths


# -- running checks against an instance ------------------------------------------------------

class _Told(BaseHTTPRequestHandler):
    """Answers every request with the status, headers and body the test set."""

    answer: dict[str, Any] = {}
    seen: list[tuple[str, str, bytes]] = []

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.seen.append((self.command, self.path, self.rfile.read(length)))
        body = self.answer.get("body", b"")
        self.send_response(self.answer.get("status", 200))
        for key, value in self.answer.get("headers", {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _reply

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def told() -> Iterator[tuple[int, type[_Told]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Told)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Told
    server.shutdown()
    server.server_close()


def test_each_way_a_check_can_fail_is_named(told: tuple[int, type[_Told]]) -> None:
    port, handler = told
    check = LiveCheck(name="health", path="/health/live", expect_json_keys=["version"],
                      expect_version_header=True)
    handler.answer = {"status": 200, "headers": {"X-Version": "1.0.0"},
                      "body": b'{"version": "1.0.0"}'}
    assert live_check_problem(port, check, "1.0.0") == ""
    handler.answer = {"status": 503, "body": b"down"}
    assert live_check_problem(port, check, "1.0.0") == (
        "GET /health/live answered 503, expected 200: down")
    handler.answer = {"status": 200, "headers": {"X-Version": "0.9.0"}, "body": b"{}"}
    assert live_check_problem(port, check, "1.0.0") == (
        "GET /health/live says X-Version '0.9.0', expected '1.0.0'")
    handler.answer = {"status": 200, "headers": {"X-Version": "1.0.0"}, "body": b"<html>"}
    assert live_check_problem(port, check, "1.0.0") == (
        "GET /health/live did not answer JSON: <html>")
    handler.answer = {"status": 200, "headers": {"X-Version": "1.0.0"}, "body": b"[1]"}
    assert live_check_problem(port, check, "1.0.0") == (
        "GET /health/live answered without version")
    refuse = LiveCheck(name="op refuses", method="POST", path="/operations/x", body=[],
                       expect_status=[422])
    handler.answer = {"status": 422, "body": b"{}"}
    handler.seen.clear()
    assert live_check_problems(port, [check, refuse], "1.0.0") == [
        "health: GET /health/live answered 422, expected 200: {}"]
    assert handler.seen[-1] == ("POST", "/operations/x", b"[]")


def test_nothing_answering_is_a_failed_check_not_an_error() -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert "did not answer" in live_check_problem(port, LiveCheck(name="x", path="/"), "1")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=CHECKISH, status=st.integers(min_value=200, max_value=599),
       body=st.binary(max_size=200), version=st.text(max_size=10))
def test_any_valid_check_against_any_answer_gives_a_verdict(
        told: tuple[int, type[_Told]], raw: dict[str, Any], status: int, body: bytes,
        version: str) -> None:
    """Hostile answers (any status, any bytes) and any accepted check: a verdict, no error."""
    try:
        check = LiveCheck.model_validate(raw)
    except ValidationError:
        return
    port, handler = told
    handler.answer = {"status": status, "body": body}
    verdict = live_check_problem(port, check, version)
    assert isinstance(verdict, str)
    if status not in check.expect_status:
        assert verdict

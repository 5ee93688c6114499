"""Issue 10, item 1: for every request the issue form accepts, the key-less generator's output
passes the code checks and its own tests in the sandbox.

The checks and the sandbox run are the workflow's own activities (``check_generated_code``,
``run_generated_tests``: ruff, mypy, bandit, the policy and layout rules, then pytest with
coverage in the Docker sandbox), called on a bounded number of drawn requests
(``CCB_REQUEST_SPACE_EXAMPLES``, 20 by default) plus the shapes that once failed. A failing
example is printed with its issue body; shrinking is off (each example takes seconds).
"""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, Phase, example, given, note, settings

from activities.codegen.offline_generator import analyze, generate
from activities.verify import check_generated_code, run_generated_tests
from models.codegen import AnalyzeInput, GenerateInput
from models.verify import COVERAGE_GATE, CheckRequest
from models.verify import TestRequest as RunTests
from rules.issue_form import parse_issue_form
from tests.figures import figure
from tests.request_space import render_form, request_bodies

EXAMPLES = int(os.environ.get("CCB_REQUEST_SPACE_EXAMPLES", "20"))
RUNS: list[tuple[str, float]] = []


def _body(name: str, auth: str, endpoints: str, base_url: str = "https://api.example.com/v1",
          kind: str = "api-client") -> str:
    return render_form({"Service name": name, "Integration type": kind, "Base URL": base_url,
                        "Authentication": auth, "Endpoints": endpoints})


WEATHER_GETS = _body("Open Meteo", "none", "GET /forecast - forecast for a latitude/longitude\n"
                     "GET /elevation - elevation of a place", "https://api.open-meteo.example/v1")
WEATHER_QUERY = _body("Open Meteo", "none",
                      "GET /forecast?latitude:float&longitude:float&hourly - forecast\n"
                      "GET /elevation?latitude:float&longitude:float")
CYRILLIC = _body("Яндекс Трекер 🚀", "bearer", "GET /v2/issues/{issue-id}\nPOST /v2/issues/",
                 "https://api.tracker.example:8443/api/")
CHINESE = _body("微信支付", "api-key", "POST /pay/transactions\nGET /pay/orders/{out.trade.no}",
                kind="webhook-receiver")
DIGIT = _body("3scale", "oauth2", "DELETE /admin/api/services/{id}.json\n"
              "PUT /admin/api/services/{id}.json\nPATCH /users/{id}/photos.json/",
              kind="sync-job")
# CI drew it: an operation name too long for the method's one-line docstring.
LONG_OPERATION = _body("𧛃İ陠", "none",
                       "GET /{payload}/{file.name}/{x}?params:float&units=2&cursor={cursor}"
                       "&hourly:bool\nGET /search/{query}.tar.gz/key=value?format=a%20b"
                       "&cursor={cursor}\nGET /?units=2 - 写入数据 🚀",
                       "https://xn--80aswg.example:8443/open.data/v1.2")
# Parameter names at their 40-character limit: every line that names them must still fit.
A, B, C = "a" * 40, "b" * 40, "c" * 40
LONG_PARAMETERS = _body("Long Names", "none",
                        f"GET /{{{A}}}/{{{B}}}/{{{C}}}\nDELETE /{{{A}}}/{{{B}}}/{{{C}}}\n"
                        f"PATCH /x_{A}/{{{B}}}/{{{C}}}?{A}:float&{B}:bool\n"
                        f"POST /{A}/{B}/{C}/{{{A}}}\nPOST /{A}/{B}/{C}/{{{A}}}/")
# The same names through the other two shapes (a sync job's source has all three; the
# receiver's routes are the paths), and CI's drawn sync job with a long service name.
LONG_SYNC = LONG_PARAMETERS.replace("api-client", "sync-job")
LONG_RECEIVER = LONG_PARAMETERS.replace("api-client", "webhook-receiver")
LONG_NAMED_SYNC = _body("t\U00011c76\u00ef\u00e7\U00020653P\U00027eb8\u015b Яндекс (beta) ? Acme",
                        "bearer", "GET /v2/items?page_token\nPOST /v2/items/{item-id}/archive",
                        "https://xn--80aswg.example:8443/api/v2/", kind="sync-job")
EXPLICIT = 10


@settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(body=request_bodies())
@example(body=WEATHER_GETS)
@example(body=WEATHER_QUERY)
@example(body=CYRILLIC)
@example(body=CHINESE)
@example(body=DIGIT)
@example(body=LONG_OPERATION)
@example(body=LONG_PARAMETERS)
@example(body=LONG_SYNC)
@example(body=LONG_RECEIVER)
@example(body=LONG_NAMED_SYNC)
def test_every_accepted_request_passes_the_checks_and_its_tests_in_the_sandbox(
    body: str,
) -> None:
    parsed = parse_issue_form(body)
    note(f"issue body:\n{body}")
    if parsed.request is None:  # the form refuses it: not part of the accepted space
        note(f"refused: {parsed.problems}")
        assert parsed.problems
        return
    request = parsed.request
    started = time.perf_counter()
    spec = analyze(AnalyzeInput(request=request, integration_key="space")).spec
    files = generate(GenerateInput(request=request, spec=spec, integration_key="space")).files
    findings = check_generated_code(CheckRequest(slug=request.slug, files=files))
    assert findings == [], f"checks found problems in {request.slug}: {findings}"  # warnings too
    report = run_generated_tests(RunTests(slug=request.slug, files=files))
    assert report.passed, (f"tests failed for {request.slug}: {report.reason} "
                           f"{[f.message for f in report.findings]}\n{report.output_tail}")
    assert report.isolation.startswith("docker"), report.isolation
    assert report.coverage_percent is not None and report.coverage_percent >= COVERAGE_GATE
    RUNS.append((request.slug, time.perf_counter() - started))


def test_the_request_space_was_explored() -> None:
    """Prints what the property test covered (it runs first: pytest keeps file order)."""
    slugs = [slug for slug, _ in RUNS]
    figure(f"request space: {len(RUNS)} accepted requests generated, checked and tested in "
           f"the sandbox (up to {EXAMPLES} drawn + {EXPLICIT} explicit), "
           f"{sum(s for _, s in RUNS):.0f} s in all; slugs: {', '.join(slugs)}")
    assert len(RUNS) >= EXPLICIT  # at least the explicit examples
    assert {"open-meteo", "yandeks-treker", "weixinzhifu", "three-scale"} <= set(slugs)

"""Sample requests for the offline generator and the code checks, and helpers to run the
generated package's own tests in a subprocess (a temporary directory on the host, for the
tests of the generator only; the real sandbox is elsewhere)."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

from activities.codegen.offline_generator import analyze, generate
from models.codegen import AnalyzeInput, GeneratedCode, GenerateInput
from models.request import Endpoint, IntegrationRequest

KEY = "test-offline"

WEATHER = IntegrationRequest(
    service_name="Acme Weather", slug="acme-weather", integration_type="api-client",
    base_url="https://api.acme-weather.example/v1", auth="api-key",
    endpoints=[
        Endpoint(method="GET", path="/forecast/{city}", description="the forecast for a city"),
        Endpoint(method="GET", path="/alerts", description="active weather alerts"),
        Endpoint(method="POST", path="/subscriptions",
                 description="subscribe to alerts for a region"),
    ],
    requirements="Cache forecasts for 5 minutes. Time out after 10 seconds.",
    example_usage='client.forecast("Berlin")',
)

# Every HTTP method, colliding names, a bearer token, a webhook receiver.
USERS = IntegrationRequest(
    service_name="Users & Teams", slug="users-teams", integration_type="webhook-receiver",
    base_url="https://users.example/api", auth="bearer",
    endpoints=[
        Endpoint(method="GET", path="/users", description="list users"),
        Endpoint(method="GET", path="/users/{id}", description="one user"),
        Endpoint(method="PUT", path="/users/{id}", description="replace a user"),
        Endpoint(method="PATCH", path="/users/{user-id}/settings/{Key}", description=""),
        Endpoint(method="DELETE", path="/users/{id}", description="delete a user"),
        Endpoint(method="HEAD", path="/status", description="is it up"),
        Endpoint(method="OPTIONS", path="/", description="what is allowed"),
    ],
    requirements="Timeout: 20 seconds.",
)

# No authentication, a slug that would shadow the standard library, a query string.
OPEN_DATA = IntegrationRequest(
    service_name="JSON", slug="json", integration_type="sync-job",
    base_url="https://data.example", auth="none",
    endpoints=[
        Endpoint(method="GET", path="/search?format=json", description="search"),
        Endpoint(method="POST", path="/v1/{class}/{model_id}/import", description="import"),
    ],
)

INJECTION = '"""; import os; os.system("x") #'
HOSTILE = IntegrationRequest(
    service_name=f'Evil {INJECTION}',
    slug="evil-service", integration_type="api-client",
    base_url="https://evil.example/'''\"\"\"",
    auth="oauth2",
    endpoints=[
        Endpoint(method="GET", path="/things/{id}",
                 description=f"{INJECTION}\nimport subprocess\n\r\u2028eval('1')\u202e\x00"),
        Endpoint(method="POST", path="/x/{__import__('os').system('x')}/'''\"\"\"\\",
                 description="\n".join([INJECTION] * 3)),
    ],
    requirements=f"```\n{INJECTION}\n```\n<img src=x onerror=alert(1)>\nTime out after 5s",
    example_usage=f"````\n{INJECTION}\n",
)

SAMPLES = {"weather": WEATHER, "users": USERS, "open-data": OPEN_DATA, "hostile": HOSTILE}


@cache
def generated(name: str, version: str = "0.1.0") -> GeneratedCode:
    """The offline generator's first attempt for a sample (cached: it is deterministic)."""
    request = SAMPLES[name]
    spec = analyze(AnalyzeInput(request=request, integration_key=KEY)).spec
    return generate(GenerateInput(request=request, spec=spec, version=version,
                                  integration_key=KEY))


def write_files(files: dict[str, str], root: Path) -> None:
    """Write repository-relative ``files`` under ``root``."""
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def run_package_tests(directory: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """``coverage run -m pytest`` then ``coverage report`` in ``directory``.

    Returns the pytest run and the total coverage in percent (-1 if no report).
    """
    options = ["-p", "no:cacheprovider", "-p", "no:asyncio", "-q"]
    tests = subprocess.run(
        [sys.executable, "-m", "coverage", "run", "-m", "pytest", *options],
        cwd=directory, capture_output=True, text=True, timeout=300, check=False)
    report = subprocess.run([sys.executable, "-m", "coverage", "report"], cwd=directory,
                            capture_output=True, text=True, timeout=60, check=False)
    match = re.search(r"^TOTAL\s.*?(\d+)%\s*$", report.stdout, re.MULTILINE)
    print(report.stdout)
    return tests, int(match[1]) if match else -1

"""Scripted Messages-API answers for the creation workflow run on the Claude backend."""

from __future__ import annotations

from typing import Any

from activities.codegen.offline_generator import analyze, generate
from models.codegen import AnalyzeInput, GenerateInput
from models.manifest import TechnicalSpec
from models.request import IntegrationRequest
from rules.issue_form import parse_issue_form
from tests.creation_helpers import SAMPLE_BODY

SLUG = "acme-weather"
ROOT = f"integrations/{SLUG}"


def sample_request() -> IntegrationRequest:
    parsed = parse_issue_form(SAMPLE_BODY)
    assert parsed.request is not None, parsed.problems
    return parsed.request


def spec_answer() -> dict[str, Any]:
    """What "Claude" answers to the analysis: the offline generator's spec for the request."""
    spec: TechnicalSpec = analyze(AnalyzeInput(request=sample_request(),
                                               integration_key="script")).spec
    return spec.model_dump(mode="json")


def good_files() -> dict[str, str]:
    """Files that pass the checks and the sandbox: the offline generator's, same request."""
    request = sample_request()
    spec = analyze(AnalyzeInput(request=request, integration_key="script")).spec
    return generate(GenerateInput(request=request, spec=spec, integration_key="script")).files


def files_answer(files: dict[str, str], summary: str = "the integration") -> dict[str, Any]:
    return {"files": [{"path": p, "content": c} for p, c in sorted(files.items())],
            "summary": summary}


SEEDED = {
    f"{ROOT}/acme_weather/seed_eval.py": 'def run(text: str) -> object:\n    return eval(text)\n',
    f"{ROOT}/acme_weather/seed_subprocess.py": (
        "import subprocess\n\n\ndef run() -> None:\n    subprocess.run(['ls'], check=True)\n"),
    f"{ROOT}/acme_weather/seed_ctypes.py": "import ctypes\n\nLIB = ctypes.CDLL(None)\n",
    f"{ROOT}/acme_weather/seed_syntax.py": "def broken(:\n    return 1\n",
}


def bad_files() -> dict[str, str]:
    """Good files plus one seeded problem per file: eval, subprocess, ctypes, a syntax error."""
    return {**good_files(), **SEEDED}


REVIEW_ANSWER = {"summary": "Reads well; the client covers every endpoint.", "comments": [],
                 "approve": True}

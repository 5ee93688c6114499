"""Issue 15, item 1, through Claude: each integration type's section of the analysis,
code-writing and review prompts reaches the Messages API (the local server records the
request), no other type's does, and the files the model answers with (scripted: what a
good answer for that type holds) pass the checks and their tests in the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.codegen.claude_activities import claude_analyze, claude_generate, claude_review
from activities.codegen.offline_generator import analyze, generate
from activities.codegen.prompt_types import TYPE_SECTIONS
from activities.codegen.prompts import DATA_RULES
from activities.verify import check_generated_code, run_generated_tests
from infra.settings import get_settings
from models.codegen import AnalyzeInput, Backend, GenerateInput, ReviewInput
from models.request import IntegrationRequest
from models.verify import COVERAGE_GATE, CheckRequest
from models.verify import TestRequest as RunTests
from tests.codegen_samples import WEATHER
from tests.messages_api_server import MessagesApiServer
from tests.test_generation_types import SHOPIFY
from tests.test_sync_schedule import LEDGER

API_KEY = "sk-ant-test-types-NEVER-LOG-ME"


@pytest.fixture
def api(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesApiServer]:
    with MessagesApiServer(api_key=API_KEY) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        monkeypatch.setenv("CCB_ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("CCB_CLAUDE_TIMEOUT_SECONDS", "20")
        monkeypatch.delenv("CCB_TOKEN_BUDGET", raising=False)
        get_settings.cache_clear()
        yield server
        get_settings.cache_clear()


def _system(body: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in body["system"])


@pytest.mark.parametrize("request_", [WEATHER, SHOPIFY, LEDGER],
                         ids=lambda r: r.integration_type.value)
def test_each_type_sends_its_own_prompt_section_and_its_answer_passes_the_sandbox(
        api: MessagesApiServer, request_: IntegrationRequest) -> None:
    key = f"types-{request_.slug}"
    good_spec = analyze(AnalyzeInput(request=request_, integration_key=key)).spec
    good_files = generate(GenerateInput(request=request_, spec=good_spec,
                                        integration_key=key)).files
    api.reply_tool_use(good_spec.model_dump(mode="json"))
    api.reply_tool_use({"files": [{"path": p, "content": c} for p, c in good_files.items()],
                        "summary": f"the {request_.integration_type.value} shape"})
    api.reply_tool_use({"summary": "fits the type", "comments": [], "approve": True})
    env = ActivityEnvironment()

    spec = env.run(claude_analyze, AnalyzeInput(request=request_, integration_key=key)).spec
    code = env.run(claude_generate, GenerateInput(request=request_, spec=spec,
                                                  integration_key=key))
    review = env.run(claude_review, ReviewInput(request=request_, files=code.files,
                                                findings=[], integration_key=key))

    assert code.backend == Backend.CLAUDE and review.approve
    mine = TYPE_SECTIONS[request_.integration_type]
    others = [s for kind, s in TYPE_SECTIONS.items() if kind != request_.integration_type]
    assert len(api.bodies) == 3
    for body in api.bodies:  # analyze, generate, review: each with this type's section only
        system = _system(body)
        assert mine in system and not any(other in system for other in others)
        assert system.endswith(DATA_RULES)  # the data rules come last, after the section
    findings = check_generated_code(CheckRequest(slug=request_.slug, files=code.files))
    assert [f for f in findings if f.severity == "error"] == [], findings
    report = run_generated_tests(RunTests(slug=request_.slug, files=code.files))
    assert report.passed, f"{report.reason}\n{report.output_tail}"
    assert report.isolation.startswith("docker"), report.isolation
    assert report.coverage_percent is not None and report.coverage_percent >= COVERAGE_GATE

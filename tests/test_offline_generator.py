"""Issue 5, item 2: the key-less generator writes a complete, checked, tested integration from
the request's fields, deterministically, safely, and says that no AI was used."""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import tokenize
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities.checks.policy import policy_findings
from activities.code_checks import check_code
from activities.codegen.offline_generator import (
    NO_AI_NOTICE,
    OfflineBackend,
    analyze,
    comment,
    generate,
    operations,
    py_literal,
    review,
)
from models.codegen import (
    AnalyzeInput,
    Backend,
    Finding,
    GenerateInput,
    ReviewInput,
)
from models.manifest import IntegrationManifest
from tests.codegen_samples import (
    HOSTILE,
    INJECTION,
    KEY,
    OPEN_DATA,
    SAMPLES,
    USERS,
    WEATHER,
    generated,
    run_package_tests,
    write_files,
)

ROOT = "integrations/acme-weather"
SPEC = analyze(AnalyzeInput(request=WEATHER, integration_key=KEY)).spec


def _generate(**changes: object) -> dict[str, str]:
    inp = GenerateInput(request=WEATHER, spec=SPEC, integration_key=KEY)
    return generate(inp.model_copy(update=changes)).files


# -- the files ----------------------------------------------------------------------------------

def test_the_integration_has_every_file() -> None:
    assert sorted(generated("weather").files) == [
        f"{ROOT}/Dockerfile", f"{ROOT}/README.md", f"{ROOT}/acme_weather/__init__.py",
        f"{ROOT}/acme_weather/client.py", f"{ROOT}/acme_weather/errors.py",
        f"{ROOT}/acme_weather/service.py", f"{ROOT}/manifest.json", f"{ROOT}/pyproject.toml",
        f"{ROOT}/tests/conftest.py", f"{ROOT}/tests/test_client.py",
        f"{ROOT}/tests/test_service.py",
    ]


def test_manifest_is_an_integration_manifest_with_the_requested_version() -> None:
    files = generated("weather", version="1.4.2").files
    data = json.loads(files[f"{ROOT}/manifest.json"])
    manifest = IntegrationManifest.model_validate(data)
    assert (manifest.name, manifest.slug, manifest.version) == ("Acme Weather", "acme-weather",
                                                                "1.4.2")
    assert manifest.capabilities == ["get_forecast", "get_alerts", "post_subscriptions"]
    assert set(manifest.dependencies) == {"httpx", "fastapi", "uvicorn"}
    assert manifest.health_check.path == "/health/ready"
    assert manifest.health_check.interval_seconds > 0 and manifest.health_check.timeout_seconds > 0
    assert data["configuration"]["environment"]["credential"] == "ACME_WEATHER_API_KEY"
    client = files[f"{ROOT}/acme_weather/client.py"]
    assert 'CREDENTIAL_ENV = "ACME_WEATHER_API_KEY"' in client
    pyproject = tomllib.loads(files[f"{ROOT}/pyproject.toml"])
    assert pyproject["project"]["version"] == "1.4.2"


def test_a_bad_version_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a semantic version"):
        _generate(version="one")


def test_client_methods_are_named_from_method_and_path() -> None:
    client = ast.parse(generated("weather").files[f"{ROOT}/acme_weather/client.py"])
    cls = next(n for n in client.body if isinstance(n, ast.ClassDef))
    assert cls.name == "AcmeWeatherClient"
    methods = {n.name: [a.arg for a in n.args.args] for n in cls.body
               if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}
    assert methods == {"close": ["self"], "get_forecast": ["self", "city"],
                       "get_alerts": ["self"], "post_subscriptions": ["self", "payload"]}


def test_colliding_and_odd_names_stay_readable_and_unique() -> None:
    assert [op.name for op in operations(USERS)] == [
        "get_users", "get_users_by_id", "put_users", "patch_users_settings", "delete_users",
        "head_status", "options_root"]
    assert [op.params for op in operations(USERS)][3] == ["user_id", "key"]
    assert [op.params for op in operations(OPEN_DATA)] == [[], ["class_", "param_model_id"]]
    assert generated("open-data").files["integrations/json/json_integration/__init__.py"]


def test_dockerfile_uses_the_base_image_and_a_non_root_user() -> None:
    dockerfile = generated("weather").files[f"{ROOT}/Dockerfile"]
    lines = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "FROM ccb-base:latest"
    assert "USER 65534" in lines and "EXPOSE 8000" in lines
    assert "/health/live" in dockerfile and "curl" not in dockerfile
    assert lines[-1].startswith('CMD ["uvicorn", "acme_weather.service:app"')


def test_service_answers_the_version_header_and_has_no_api_call_in_readiness() -> None:
    service = generated("weather").files[f"{ROOT}/acme_weather/service.py"]
    assert 'response.headers["X-Version"] = version' in service
    for name in ("get_forecast", "get_alerts", "post_subscriptions"):
        assert f'@app.post("/operations/{name}"' in service
    ready = service[service.index('"/health/ready"'):service.index("return JSONResponse({\"st")]
    assert "factory" not in ready


def test_every_artefact_says_no_ai_was_used() -> None:
    code = generated("weather")
    assert code.backend == Backend.OFFLINE
    assert NO_AI_NOTICE in code.summary
    for name in ("README.md", "Dockerfile", "manifest.json", "acme_weather/client.py",
                 "acme_weather/service.py", "tests/test_client.py"):
        assert NO_AI_NOTICE in code.files[f"{ROOT}/{name}"], name
    assert NO_AI_NOTICE in SPEC.summary
    assert "no AI model was used" in review(ReviewInput(
        request=WEATHER, files=code.files, integration_key=KEY)).summary


def test_generation_is_deterministic() -> None:
    first = generate(GenerateInput(request=HOSTILE, spec=SPEC, integration_key=KEY,
                                   reviewer_comments=["add caching"], attempt=2))
    second = generate(GenerateInput(request=HOSTILE, spec=SPEC, integration_key=KEY,
                                    reviewer_comments=["add caching"], attempt=2))
    assert first.model_dump_json().encode() == second.model_dump_json().encode()
    assert analyze(AnalyzeInput(request=USERS, integration_key=KEY)) == analyze(
        AnalyzeInput(request=USERS, integration_key="other"))


# -- untrusted text -----------------------------------------------------------------------------

def _without_strings_and_comments(source: str) -> str:
    """The source's code tokens only (string literals and comments left out)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    skipped = {tokenize.STRING, tokenize.COMMENT}  # (3.11: an f-string is one STRING)
    return " ".join(tok.string for tok in tokens if tok.type not in skipped)


def _calls(tree: ast.AST) -> set[str]:
    return {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}


def test_hostile_text_cannot_become_code() -> None:
    files = generated("hostile").files
    python = {path: text for path, text in files.items() if path.endswith(".py")}
    assert len(python) == 7
    for path, text in python.items():
        tree = ast.parse(text)  # it parses...
        assert not {"os.system", "eval", "__import__", "subprocess.run"} & _calls(tree), path
        assert policy_findings(path, text) == [], path  # ...and nothing forbidden is in it
        assert not any(isinstance(n, ast.Import) and n.names[0].name in {"os", "subprocess"}
                       for n in ast.walk(tree) if not path.endswith("client.py")), path
    client = python["integrations/evil-service/evil_service/client.py"]
    tree = ast.parse(client)
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert HOSTILE.service_name in strings  # kept as data, exactly
    assert INJECTION in HOSTILE.service_name
    assert "/x/" in strings and "/'''\"\"\"\\" in strings
    for text in python.values():
        code_only = _without_strings_and_comments(text)
        for danger in ("os.system", "subprocess", "eval(", "__import__"):
            assert danger not in code_only
    assert check_code(files, HOSTILE.slug) == [] or all(
        f.severity == "warning" for f in check_code(files, HOSTILE.slug))


def test_hostile_text_in_docs_is_fenced_or_escaped() -> None:
    readme = generated("hostile").files["integrations/evil-service/README.md"]
    requirements = readme.split("## Requirements (from the request)\n\n")[1]
    assert requirements.startswith("````text\n")  # longer than the text's own ``` fence
    inside = requirements.split("\n````\n")[0]
    assert "<img src=x>" in inside and "onerror" not in readme  # hidden attribute removed
    assert "`````text\n````" in readme  # example usage: its ```` needs a five-tick fence
    assert "os\\.system\\(" in readme.splitlines()[0]  # heading: Markdown escaped
    files = generated("hostile").files
    pyproject = tomllib.loads(files["integrations/evil-service/pyproject.toml"])
    assert pyproject["project"]["description"].startswith("Evil")


@given(st.text(max_size=300))
def test_literals_round_trip_and_comments_stay_one_line(text: str) -> None:
    literal = py_literal(text, 4, 20)
    assert ast.literal_eval(literal) == text
    line = comment(text, 4)
    assert line.count("\n") <= 1
    assert ast.parse(line + "x = 1\n").body[0].lineno == (2 if line else 1)


# -- findings, reviewer comments and previous files ---------------------------------------------

def test_reviewer_comments_make_a_visible_second_commit() -> None:
    first = _generate()
    second = _generate(reviewer_comments=["Please cache forecasts for 5 minutes\n# hi"],
                       attempt=2, previous_files=first)
    assert first != second
    changes = second[f"{ROOT}/CHANGES.md"]
    assert "## Attempt 2" in changes and "Please cache forecasts" in changes
    assert "Revised in attempt 2" in second[f"{ROOT}/acme_weather/client.py"]
    third = _generate(reviewer_comments=["Also log requests"], attempt=3, previous_files=second)
    assert "## Attempt 2" in third[f"{ROOT}/CHANGES.md"]  # history kept
    assert "## Attempt 3" in third[f"{ROOT}/CHANGES.md"]


def test_a_flagged_extra_file_is_not_written_again_and_others_are_kept() -> None:
    previous = {**_generate(), f"{ROOT}/acme_weather/bad.py": "eval('1')\n",
                f"{ROOT}/docs/notes.md": "kept\n", "scripts/outside.sh": "rm -rf /\n"}
    finding = Finding(tool="policy", path=f"{ROOT}/acme_weather/bad.py", line=1,
                      code="forbidden-call", message="eval is not allowed")
    files = _generate(findings=[finding], previous_files=previous, attempt=2)
    assert f"{ROOT}/acme_weather/bad.py" not in files
    assert files[f"{ROOT}/docs/notes.md"] == "kept\n"
    assert "scripts/outside.sh" not in files
    assert "bad.py" in files[f"{ROOT}/CHANGES.md"]


def test_findings_on_its_own_files_give_the_same_files_back() -> None:
    """It writes its files from the request alone, so it cannot fix findings in them: the
    next round equals this one, which is how the workflow knows to stop (issue 10, item 4)."""
    first = _generate()
    finding = Finding(tool="pytest", path=f"{ROOT}/acme_weather/client.py", line=3,
                      code="failed", message="test_x failed")
    again = _generate(findings=[finding], attempt=2, previous_files=first)
    assert again == first
    commented = _generate(reviewer_comments=["Log requests"], attempt=1, previous_files=first)
    assert commented != first
    repeated = _generate(reviewer_comments=["Log requests"], findings=[finding], attempt=2,
                         previous_files=commented)
    assert repeated == commented  # a comment already recorded is not new work


# -- review -------------------------------------------------------------------------------------

def test_review_approves_the_generated_package() -> None:
    result = review(ReviewInput(request=WEATHER, files=generated("weather").files,
                                integration_key=KEY))
    assert result.approve and result.comments == [] and result.backend == Backend.OFFLINE


def test_review_comments_on_real_lines() -> None:
    bad = ('"""Module."""\nimport httpx\n\n\ndef fetch():\n    try:\n'
           '        return httpx.get("http://127.0.0.1:9")\n    except:\n        return None\n')
    files = {f"{ROOT}/acme_weather/bad.py": bad, f"{ROOT}/README.md": "# x\n"}
    finding = Finding(tool="ruff", path=f"{ROOT}/acme_weather/bad.py", line=99, code="E722",
                      message="bare except")
    result = review(ReviewInput(request=WEATHER, files=files, findings=[finding],
                                integration_key=KEY))
    lines = {(c.line, c.body.split()[0]) for c in result.comments}
    assert (5, "`fetch`") in lines  # no docstring
    assert (7, "`httpx.get`") in lines  # no timeout
    assert (8, "Bare") in lines  # bare except
    assert (9, "ruff") in lines  # the finding, clamped to the file's last line
    assert all(1 <= c.line <= 9 for c in result.comments)
    assert not result.approve and "no tests/" in result.summary


def test_offline_backend_has_the_claude_backend_interface() -> None:
    backend = OfflineBackend()
    assert backend.analyze(AnalyzeInput(request=WEATHER, integration_key=KEY)).spec == SPEC
    assert backend.generate(GenerateInput(request=WEATHER, spec=SPEC, integration_key=KEY)
                            ).files == generated("weather").files


def test_spec_lists_modules_api_endpoints_errors_and_tests() -> None:
    assert [m.path.split("/")[-1] for m in SPEC.modules] == ["client.py", "errors.py",
                                                             "service.py", ""]
    signatures = [f.signature for f in SPEC.public_api]
    assert "get_forecast(city: str, *, params: QueryParams | None = None) -> Any" in signatures
    assert ("post_subscriptions(payload: dict[str, Any], *, params: QueryParams | None = None)"
            " -> Any") in signatures
    assert SPEC.endpoints == WEATHER.endpoints
    assert SPEC.error_handling and SPEC.test_plan
    assert "10 s" in SPEC.error_handling[0]  # "Time out after 10 seconds" from the request


# -- the generated package's own tests ----------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_generated_package_passes_its_own_tests_with_coverage(
        name: str, tmp_path: Path) -> None:
    code = generated(name)
    assert [f for f in check_code(code.files, SAMPLES[name].slug) if f.severity == "error"] == []
    write_files(code.files, tmp_path)
    run, coverage = run_package_tests(tmp_path / "integrations" / SAMPLES[name].slug)
    print(f"\n{name}: {run.stdout.strip().splitlines()[-1]}; coverage {coverage}%")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert coverage >= 80


def test_output_is_byte_identical_across_processes() -> None:
    script = ("import hashlib; from tests.codegen_samples import generated; "
              "print(hashlib.sha256(generated('hostile').model_dump_json().encode()).hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       check=True, cwd=Path(__file__).parent.parent,
                       env={"PYTHONHASHSEED": seed, "PATH": os.defpath}).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1 and next(iter(digests)).strip()


def test_every_integration_type_has_a_renderer_that_writes_the_paths_it_owns() -> None:
    """The ``type -> renderer`` table covers every type the form offers, and what a renderer
    writes is exactly what it says it owns (so carried-over files are told apart)."""
    from activities.codegen.offline.layout import Layout
    from activities.codegen.offline.operations import operations
    from activities.codegen.offline.renderers import RENDERERS
    from models.request import IntegrationType

    assert set(RENDERERS) == set(IntegrationType)
    for kind, renderer in RENDERERS.items():
        request = WEATHER.model_copy(update={"integration_type": kind})
        lay = Layout(request, "0.1.0", operations(request))
        assert sorted(renderer.render(lay)) == sorted(renderer.paths(lay)), kind

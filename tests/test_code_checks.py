"""Issue 5, item 3: the code checks catch seeded bad code, pass the generated package, and the
bounded fix loop converges when it can and stops at its bound when it cannot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from activities.checks.layout import CheckLimits
from activities.code_checks import check_code, fix_loop, run_checks
from activities.codegen.offline_generator import analyze
from models.codegen import AnalyzeInput, Backend, Finding, GeneratedCode, GenerateInput
from tests.codegen_samples import KEY, SAMPLES, WEATHER, generated

CASES_DIR = Path(__file__).parent / "code_check_cases"
CASES = json.loads((CASES_DIR / "cases.json").read_text())["cases"]
ROOT = f"integrations/{WEATHER.slug}"
SPEC = analyze(AnalyzeInput(request=WEATHER, integration_key=KEY)).spec


def _seeded(case: dict) -> tuple[dict[str, str], str]:
    """The clean generated package with the case's file added (or replaced)."""
    files = dict(generated("weather").files)
    path = case["path"] if case.get("from_repo_root") else f"{ROOT}/{case['path']}"
    content = (CASES_DIR / case["source"]).read_text()
    if "size" in case:
        content = ("# padding\n" * (case["size"] // 10 + 1))[: case["size"]]
    files[path] = content
    return files, path


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_seeded_bad_code_is_caught(case: dict) -> None:
    files, path = _seeded(case)
    findings = check_code(files, WEATHER.slug)
    expect = case["expect"]
    matching = [f for f in findings if f.tool == expect["tool"] and f.code == expect["code"]
                and f.path == path and f.line == expect["line"]]
    assert matching, f"expected {expect} at {path}, got {[f.model_dump() for f in findings]}"
    assert all(f.severity == "error" for f in matching)
    assert all(f.message for f in matching)
    # The rest of the package stays clean: only the seeded file (or its rule) is reported.
    assert {f.path for f in findings if f.severity == "error"} <= {path, ""}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_generated_packages_pass_every_check(name: str) -> None:
    report = run_checks(generated(name).files, SAMPLES[name].slug)
    print(f"\n{name}: {report.files_checked} files, {len(report.findings)} findings, "
          f"seconds {report.seconds}")
    assert report.errors == []
    assert report.ok
    assert set(report.seconds) >= {"policy", "ruff", "mypy", "bandit", "total"}


def test_checks_never_run_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    files = dict(generated("weather").files)
    files[f"{ROOT}/acme_weather/side_effect.py"] = (
        '"""Writes a file when imported."""\n\n'
        f"open({str(marker)!r}, 'w').write('ran')\n")
    findings = check_code(files, WEATHER.slug)
    assert not marker.exists()  # read by ast, ruff, mypy and bandit; never imported
    assert [f.code for f in findings if f.severity == "error"] == ["B108"]  # bandit: /tmp


def test_too_many_files_and_too_many_bytes() -> None:
    files = dict(generated("weather").files)
    limits = CheckLimits(max_files=5, max_total_bytes=10_000)
    codes = {f.code for f in check_code(files, WEATHER.slug, limits)}
    assert {"too-many-files", "total-too-large"} <= codes


def test_a_package_without_dockerfile_or_manifest() -> None:
    files = {p: c for p, c in generated("weather").files.items()
             if not p.endswith(("Dockerfile", "manifest.json"))}
    codes = {f.code for f in check_code(files, WEATHER.slug)}
    assert {"dockerfile-missing", "manifest-missing"} <= codes


def test_fix_loop_converges_on_a_seeded_eval() -> None:
    previous = generated("weather").files  # the previous attempt: the clean package...
    seeded = {**previous, f"{ROOT}/acme_weather/helpers.py":  # ...plus a hand-added bad file
              '"""Helpers."""\n\n\ndef parse(text: str) -> object:\n'
              '    """Parse."""\n    return eval(text)\n'}
    result = fix_loop(WEATHER, SPEC, integration_key=KEY, max_rounds=3, previous_files=seeded)
    print(f"\nconverging loop: errors per round {result.errors_per_round}, "
          f"rounds {result.rounds}, converged {result.converged}")
    assert result.converged
    assert result.rounds == 2
    assert result.errors_per_round[0] > 0 and result.errors_per_round[-1] == 0
    assert f"{ROOT}/acme_weather/helpers.py" not in result.files
    assert "helpers.py" in result.files[f"{ROOT}/CHANGES.md"]
    assert check_code(result.files, WEATHER.slug) == []


def test_fix_loop_stops_after_one_round_when_the_generator_cannot_fix_its_code() -> None:
    tiny = CheckLimits(max_file_bytes=2_000)  # the generated client is always larger

    def strict(files: dict[str, str], slug: str) -> list[Finding]:
        return check_code(files, slug, tiny)

    result = fix_loop(WEATHER, SPEC, integration_key=KEY, max_rounds=3, checker=strict)
    print(f"\nstalled loop: errors per round {result.errors_per_round}, "
          f"rounds {result.rounds}, converged {result.converged}, stalled {result.stalled}")
    assert not result.converged and result.stalled
    assert result.rounds == 1 and len(result.errors_per_round) == 1
    assert {f.code for f in result.findings} == {"file-too-large"}


def test_fix_loop_stops_at_its_bound_when_each_round_differs_but_none_converges() -> None:
    def restless(inp: GenerateInput) -> GeneratedCode:
        return GeneratedCode(files={f"{ROOT}/x.py": f"x = {inp.attempt}\n"},
                             backend=Backend.OFFLINE, summary="")

    def never_clean(files: dict[str, str], slug: str) -> list[Finding]:
        return [Finding(tool="policy", path=f"{ROOT}/x.py", message="still wrong")]

    result = fix_loop(WEATHER, SPEC, integration_key=KEY, max_rounds=3, generator=restless,
                      checker=never_clean)
    assert (result.rounds, result.converged, result.stalled) == (3, False, False)
    assert result.errors_per_round == [1, 1, 1]


def test_fix_loop_rejects_a_bound_below_one() -> None:
    with pytest.raises(ValueError, match="max_rounds"):
        fix_loop(WEATHER, SPEC, integration_key=KEY, max_rounds=0)



def test_mypy_naming_an_earlier_copy_of_a_module_maps_to_this_integrations_file() -> None:
    """mypy's shared cache can report an identical module at the temp dir an earlier check
    used; the finding still names the repository path (seen after many checks on one host)."""
    from activities.checks.tools import _mypy_path

    root = Path("/tmp/ccb-checks-now/integrations/acme-weather")
    assert _mypy_path(str(root / "acme_weather/retries.py"), root, "acme-weather") == (
        "integrations/acme-weather/acme_weather/retries.py")
    earlier = "/tmp/ccb-checks-y3l7_7di/integrations/acme-weather/acme_weather/retries.py"
    assert _mypy_path(earlier, root, "acme-weather") == (
        "integrations/acme-weather/acme_weather/retries.py")
    assert _mypy_path("acme_weather/x.py", root, "acme-weather") == (
        "integrations/acme-weather/acme_weather/x.py")

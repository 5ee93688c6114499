"""Pure parts of updates and reviews: the API comparison, semver bumps, offline changes, rules."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from activities.codegen.offline_update import generate_update, renames
from activities.compat import compare_apis, only_adds_optional_parameters, public_api
from activities.review_checks import error_handling_findings, rule_findings
from models.bump import Bump
from models.request import Endpoint, IntegrationRequest
from models.review import HumanReviewInput, ReviewOptions
from models.update import UpdateGenerateInput
from models.update_request import UpdateRequest
from models.verify import TestReport as Report
from rules.migration_plan import migration_plan
from rules.review_rules import human_review_decision
from rules.semver import bump_version, strongest
from tests.request_space import paths, requests
from tests.update_helpers import ROOT, SLUG, base_files, sample_request
from workflows.review import added_lines

OLD = base_files()


def updated(kind: str, change: str, endpoints: list[Endpoint] | None = None) -> dict[str, str]:
    update = UpdateRequest(slug=SLUG, kind=kind, change=change,  # type: ignore[arg-type]
                           endpoints=endpoints or [])
    return generate_update(UpdateGenerateInput(
        request=sample_request().model_dump(mode="json"), update=update, version="0.1.0",
        previous_files=OLD)).files


@pytest.mark.parametrize("version, bump, expected", [
    ("0.1.0", Bump.PATCH, "0.1.1"), ("0.1.3", Bump.MINOR, "0.2.0"),
    ("1.4.2", Bump.MAJOR, "2.0.0"), ("2.0.0-rc1", Bump.PATCH, "2.0.1"),
])
def test_semver_bumps(version: str, bump: Bump, expected: str) -> None:
    assert bump_version(version, bump) == expected


def test_a_bad_version_says_what_was_expected() -> None:
    with pytest.raises(ValueError, match=r"not a semantic version like 1\.2\.3"):
        bump_version("one", Bump.PATCH)
    assert strongest(Bump.PATCH, Bump.MINOR) == Bump.MINOR


def test_the_public_api_lists_functions_methods_capabilities_and_operations() -> None:
    api = public_api(SLUG, OLD)
    assert "method acme_weather.client.AcmeWeatherClient.get_alerts" in api
    assert "capability get_forecast" in api
    assert "operation POST /operations/post_subscriptions" in api
    assert not any("tests" in key for key in api)


def test_an_added_endpoint_is_an_addition() -> None:
    report = compare_apis(SLUG, OLD, updated("feature", "hourly", [Endpoint(
        method="GET", path="/forecast/{city}/hourly", description="hourly")]))
    assert not report.breaking and report.detected_bump == Bump.MINOR
    assert "acme_weather.client.AcmeWeatherClient.get_forecast_hourly" in [
        m.name for m in report.added]


def test_a_rename_is_breaking_with_a_migration_plan() -> None:
    assert renames("Please rename `get_alerts` to `list_alerts`.") == [
        ("get_alerts", "list_alerts")]
    report = compare_apis(SLUG, OLD, updated("breaking", "rename get_alerts to list_alerts"))
    assert report.breaking and report.detected_bump == Bump.MAJOR
    plan = migration_plan(SLUG, "0.1.0", "1.0.0", report, "rename")
    assert "`acme_weather.client.AcmeWeatherClient.get_alerts` is now" in plan
    assert "ccb rollback acme-weather" in plan


def test_a_fix_keeps_the_api_even_when_a_default_changes() -> None:
    new = updated("fix", "Use a timeout of 20 seconds.")
    assert new[f"{ROOT}/acme_weather/client.py"] != OLD[f"{ROOT}/acme_weather/client.py"]
    report = compare_apis(SLUG, OLD, new)
    assert (report.removed, report.changed, report.added) == ([], [], [])
    assert report.detected_bump == Bump.PATCH


def test_a_changed_signature_is_breaking() -> None:
    path = f"{ROOT}/acme_weather/client.py"
    new = dict(OLD)
    new[path] = OLD[path].replace("def get_forecast(self, city: str, *,",
                                  "def get_forecast(self, city: str, days: int, *,")
    assert new[path] != OLD[path]
    [(old, changed)] = compare_apis(SLUG, OLD, new).changed
    assert old.signature == "(city, *, params=?)"
    assert changed.signature == "(city, days, *, params=?)"


@pytest.mark.parametrize(("old", "new", "compatible"), [
    ("(city)", "(city, *, params=?)", True),
    ("(city)", "(city, days=?)", True),
    ("(city, *, days=?)", "(city, *, days=?, hourly=?, params=?)", True),
    ("(city, *, days)", "(city, *, days=?)", True),
    ("(city)", "(city, days)", False),
    ("(city)", "(town)", False),
    ("(city, *, days=?)", "(city, *, days)", False),
    ("(city, *, days=?)", "(city, *, params=?)", False),
    ("(city, **kw)", "(city, *, x=?)", False),
    ("(city, *, x)", "(city, *, x, y)", False),
])
def test_only_optional_additions_keep_a_signature_compatible(
    old: str, new: str, compatible: bool
) -> None:
    assert only_adds_optional_parameters(old, new) is compatible


def test_a_new_optional_query_parameter_is_a_minor_change() -> None:
    path = f"{ROOT}/acme_weather/client.py"
    new = dict(OLD)
    new[path] = OLD[path].replace("def get_forecast(self, city: str, *,",
                                  "def get_forecast(self, city: str, *, days: int | None = None,")
    report = compare_apis(SLUG, OLD, new)
    assert not report.breaking and report.detected_bump == Bump.MINOR
    [(old, extended)] = report.extended
    assert old.signature == "(city, *, params=?)"
    assert extended.signature == "(city, *, days=?, params=?)"


def test_error_handling_rules() -> None:
    text = ("import httpx\n\n\ndef f(u):\n    try:\n        return httpx.get(u)\n"
            "    except:\n        return None\n\n\ndef g(u):\n    return httpx.get(u, timeout=5)\n")
    found = {(f.code, f.line) for f in error_handling_findings("x.py", text)}
    assert found == {("http-timeout", 6), ("bare-except", 7)}
    assert [f for f in rule_findings(SLUG, OLD) if f.severity == "error"] == []


def test_the_human_review_rules() -> None:
    good = Report(passed=True, tests=3, coverage_percent=90.0)
    base = {"changed_paths": [f"{ROOT}/README.md"], "changed_lines": 3, "slugs": [SLUG],
            "report": good}
    assert not human_review_decision(HumanReviewInput(**base)).required  # type: ignore[arg-type]
    cases = {
        "breaks the public API": {"options": ReviewOptions(breaking=True)},
        "coverage gate failed": {"report": Report(passed=True, coverage_percent=50.0)},
        "outside the integration": {"changed_paths": ["setup.py"]},
        "changed lines": {"changed_lines": 5000},
    }
    for reason, change in cases.items():
        decision = human_review_decision(HumanReviewInput(**{**base, **change}))  # type: ignore[arg-type]
        assert decision.required and reason in "; ".join(decision.reasons), reason


def test_added_lines_of_a_patch() -> None:
    patch = "@@ -1,2 +1,3 @@\n a\n-b\n+c\n+d\n@@ -10 +11,2 @@\n x\n+y\n"
    assert added_lines(patch) == {2, 3, 12}


@settings(max_examples=40, deadline=None)
@given(requests(), st.lists(st.tuples(st.sampled_from(["GET", "POST", "DELETE"]), paths()),
                            max_size=1), st.integers(0, 19), st.booleans())
def test_an_added_endpoint_never_renames_one_people_already_call(
        request: IntegrationRequest, added: list[tuple[str, str]], pick: int,
        collide: bool) -> None:
    """Found by a new user: adding ``GET /{start}..{end}`` next to ``GET /{date}`` renamed
    ``get_root`` to ``get_root_by_date``, a breaking change nobody asked for. Two updates in a
    row keep every name the live version has."""
    from activities.codegen.offline_generator import analyze, generate
    from models.codegen import AnalyzeInput, GenerateInput

    have = {(e.method, e.path.split("?")[0]) for e in request.endpoints}
    if collide:  # the same method and words as an existing one, one more parameter
        like = request.endpoints[pick % len(request.endpoints)]
        added = [(like.method, like.path.split("?")[0].rstrip("/") + "/{extra_key}"), *added]
    new = [Endpoint(method=m, path=p, description="added") for m, p in added
           if (m, p.split("?")[0]) not in have]
    assume(new and len(request.endpoints) + len(new) <= 20)
    spec = analyze(AnalyzeInput(request=request, integration_key="v1")).spec
    files = generate(GenerateInput(request=request, spec=spec, integration_key="v1")).files
    manifest = f"integrations/{request.slug}/manifest.json"
    before = json.loads(files[manifest])["capabilities"]
    current, names = request.model_dump(mode="json"), before
    for version, endpoint in zip(("0.2.0", "0.3.0"), (new[:1], new[1:] or new[:1]), strict=True):
        done = generate_update(UpdateGenerateInput(
            request=current, update=UpdateRequest(slug=request.slug, kind="feature",
                                                  change="add an endpoint", endpoints=endpoint),
            version=version, previous_files=files))
        files, current = done.files, done.request
        after = json.loads(files[manifest])["capabilities"]
        assert after[:len(names)] == names, (names, after)  # every old name, in its place
        names = after

"""Issue 10, item 2: a slug for any name (transliterated, pronounceable, starting with a
letter), the display name kept as written, and a Slug field when nothing can be derived."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.codegen.offline_generator import analyze, generate
from models.codegen import AnalyzeInput, GenerateInput
from rules.issue_form import SLUG, parse_issue_form
from rules.naming import SLUG_PATTERN, class_prefix, package_name, slug_for
from rules.untrusted_text import clean_untrusted
from tests.request_space import render_form, service_names


def _body(name: str, slug: str = "") -> str:
    values = {"Service name": name, "Integration type": "api-client",
              "Base URL": "https://api.example.com", "Authentication": "none",
              "Endpoints": "GET /things"}
    if slug:
        values[SLUG] = slug
    return render_form(values)


@pytest.mark.parametrize(("name", "slug"), [
    ("Яндекс Трекер 🚀", "yandeks-treker"),
    ("微信支付", "weixinzhifu"),
    ("3scale", "three-scale"),
    ("1Password", "one-password"),
    ("Acme Weather API!", "acme-weather-api"),
    ("Zürich Öffnungszeiten", "zurich-offnungszeiten"),
    ("東京メトロ", "dongjingmetoro"),
    ("Ελληνικά", "ellinika"),
    ("🚀🔥", "rocket-fire"),  # only emoji: their names
    ("X", "x-service"),  # one letter is too short for a slug on its own
])
def test_names_in_any_script_get_a_pronounceable_slug(name: str, slug: str) -> None:
    assert slug_for(name) == slug
    parsed = parse_issue_form(_body(name))
    assert parsed.ok, parsed.problems
    assert parsed.request is not None
    assert parsed.request.slug == slug and parsed.request.service_name == name


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120))
def test_any_text_gives_a_valid_slug_or_none(name: str) -> None:
    slug = slug_for(name)
    assert slug == "" or re.fullmatch(SLUG_PATTERN, slug)
    assert slug_for(name) == slug  # deterministic
    if slug:
        assert package_name(slug).isidentifier() and class_prefix(slug).isidentifier()


@settings(max_examples=300, deadline=None)
@given(service_names())
def test_the_display_name_stays_as_written_and_only_the_slug_is_ascii(name: str) -> None:
    parsed = parse_issue_form(_body(name))
    if parsed.request is None:
        [problem] = parsed.problems
        assert problem.field == "Service name" and "add a `### Slug` field" in problem.message
        fixed = parse_issue_form(_body(name, slug="my-service"))
        assert fixed.ok and fixed.request is not None and fixed.request.slug == "my-service"
        return
    request = parsed.request
    # As written, less what a reader cannot see (variation selectors, joiners: the cleaning
    # of untrusted text removes those hidden channels everywhere).
    assert request.service_name == " ".join(clean_untrusted(name).split())
    assert request.slug.isascii() and re.fullmatch(SLUG_PATTERN, request.slug)


def test_people_read_the_name_as_written_in_every_artefact() -> None:
    request = parse_issue_form(_body("Яндекс Трекер 🚀")).request
    assert request is not None
    spec = analyze(AnalyzeInput(request=request, integration_key="k")).spec
    files = generate(GenerateInput(request=request, spec=spec, integration_key="k")).files
    root = "integrations/yandeks-treker"
    assert files[f"{root}/README.md"].startswith("# Яндекс Трекер 🚀 integration")
    assert '"name": "Яндекс Трекер 🚀"' in files[f"{root}/manifest.json"]
    assert 'SERVICE_NAME = "Яндекс Трекер 🚀"' in files[f"{root}/yandeks_treker/client.py"]
    assert "class YandeksTrekerClient" in files[f"{root}/yandeks_treker/client.py"]
    assert "Яндекс Трекер 🚀" in spec.summary


def test_nothing_derivable_asks_for_a_slug_field() -> None:
    parsed = parse_issue_form(_body("™ ??? !!!"))
    [problem] = parsed.problems
    assert problem.field == "Service name"
    assert "add a `### Slug` field" in problem.message
    assert parse_issue_form(_body("™ ??? !!!", slug="trademark-api")).ok


@pytest.mark.parametrize("slug", ["3scale", "-x", "a", "UPPER_case", "x" * 41, "ends-"])
def test_a_slug_field_that_is_not_usable_is_named(slug: str) -> None:
    parsed = parse_issue_form(_body("Acme", slug=slug))
    assert [p.field for p in parsed.problems] == [SLUG], parsed.problems
    assert "not a usable slug" in parsed.problems[0].message


def test_a_given_slug_wins_over_the_derived_one() -> None:
    parsed = parse_issue_form(_body("Acme Weather", slug="`weather-two`"))
    assert parsed.request is not None and parsed.request.slug == "weather-two"
    assert parsed.request.service_name == "Acme Weather"

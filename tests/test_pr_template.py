"""The bot's PR body in the shape of the repository's pull-request template (issue 15 item
3): every heading in the template's order, checklist items kept and ticked only when true,
the Closes line and the issue marker kept, and the template's text made inert."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from models.codegen import Backend, TokenUsage
from models.manifest import TechnicalSpec
from models.request import Endpoint
from models.verify import TestReport
from rules.inert import inert
from rules.pr_template import EXTRA_HEADING, NOTHING, Facts, fill
from tests.claude_scripts import sample_request
from workflows.names import issue_marker, issue_named_in
from workflows.request_texts import creation_body

TITLE = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)),
                min_size=1, max_size=40).map(str.strip).filter(
    lambda t: bool(t) and not t.endswith("#"))
ITEM = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)),
               min_size=1, max_size=30).map(str.strip).filter(bool)
HTMLISH = st.sampled_from(["<img src=x onerror=alert(1)>", "@org/team review", "`code` tick",
                           "Fixes #12", "<!-- hidden -->", "**bold** _it_", "<details>"])


@st.composite
def templates(draw: st.DrawFn) -> tuple[str, list[tuple[int, str]]]:
    """A template of headings (levels 1-4, any title) with checklist lines and prose."""
    headings = draw(st.lists(st.tuples(st.integers(1, 4), st.one_of(TITLE, HTMLISH)),
                             min_size=1, max_size=8))
    lines: list[str] = []
    for level, title in headings:
        lines.append("#" * level + " " + title)
        lines += [f"- [ ] {item}" for item in draw(st.lists(ITEM, max_size=3))]
        lines.append(draw(st.sampled_from(["", "Describe your change.", "<!-- say why -->"])))
    return "\n".join(lines), headings


def _body(template: str) -> str:
    body = fill(template, head=[f"Closes #7. {issue_marker(7)}"], facts=Facts(tests_pass=True),
                sections={"summary": ["the summary"], "tests": ["3 passed"]},
                tail=["Workflow: `wf`"])
    assert body is not None
    return body


@given(templates())
def test_every_heading_in_order_the_closes_line_and_nothing_uninerted(
        drawn: tuple[str, list[tuple[int, str]]]) -> None:
    template, headings = drawn
    body = _body(template)
    lines = body.split("\n")
    assert lines[0] == f"Closes #7. {issue_marker(7)}" and issue_named_in(body) == 7
    at = 0
    for level, title in headings:
        expected = "#" * level + " " + inert(title)
        assert expected in lines[at:], (expected, body)
        at = lines.index(expected, at) + 1
        if inert(title) != title:  # the raw heading never reaches the body
            assert "#" * level + " " + title not in lines
    assert "<img" not in body and "<!--" not in body.replace(issue_marker(7), "")
    assert lines[-1] == "Workflow: `wf`"


def test_sections_match_headings_and_checklists_are_ticked_only_when_true() -> None:
    template = ("## What does this change?\n<!-- describe -->\n## How was it tested?\n"
                "- [ ] Tests pass locally\n- [ ] I tested it manually\n- [ ] Changelog updated\n"
                "## Screenshots\n### Checklist\n- [x] Docs updated\n- [ ] Signed the CLA\n")
    body = _body(template)
    assert body.index("## What does this change?") < body.index("the summary") \
        < body.index("## How was it tested?") < body.index("3 passed") \
        < body.index("## Screenshots")
    assert "- [x] Tests pass locally" in body
    assert "- [ ] I tested it manually" in body and "- [ ] Changelog updated" in body
    assert "- [ ] Docs updated" in body  # ticked in the template, not known to the bot
    assert "- [ ] Signed the CLA" in body
    assert f"## Screenshots\n{NOTHING}" in body and "describe" not in body
    assert EXTRA_HEADING not in body  # every bot section found its heading
    assert fill("no headings here\n- [ ] x", head=[], sections={}, facts=Facts(),
                tail=[]) is None


def test_creation_body_follows_a_template_and_is_unchanged_without_one() -> None:
    request = sample_request()
    spec = TechnicalSpec(summary="Weather by city.", endpoints=[
        Endpoint(method="GET", path="/weather", description="the weather")])
    report = TestReport(passed=True, tests=3, coverage_percent=95)
    common = {"issue": 4, "request": request, "spec": spec, "backend": Backend.CLAUDE,
              "findings": 0, "report": report, "usage": TokenUsage(), "workflow_id": "wf-1"}
    plain = creation_body(**common)  # type: ignore[arg-type]
    assert plain == creation_body(**common, template="just prose")  # type: ignore[arg-type]
    assert plain.startswith(f"Closes #4. {issue_marker(4)}") and "## Spec" in plain
    shaped = creation_body(**common, has_readme=True,  # type: ignore[arg-type]
                           template="## Summary\n## Testing\n- [ ] Tests added\n"
                                    "- [ ] README updated\n## Security\n")
    assert shaped.startswith(f"Closes #4. {issue_marker(4)}") and issue_named_in(shaped) == 4
    order = ["## Summary", "Weather by city.", "## Testing", report.summary, "- [x] Tests added",
             "- [x] README updated", "## Security", "0 findings (none blocking).",
             EXTRA_HEADING, "`GET /weather`", "Workflow: `wf-1`"]
    assert [shaped.index(part) for part in order] == sorted(shaped.index(p) for p in order)

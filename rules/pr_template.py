"""The bot's pull-request body in the shape of the repository's pull-request template.

The template's headings, in its order and at its levels, each filled with the bot's section
whose words match (a "Testing" heading gets the test report); a heading the bot has nothing
for says so. The template's checklist items are kept, and ticked only when the bot knows
them to be true (``Facts``); its prose (instructions to the author) is left out. Whatever the
bot has that no heading asked for follows under "Details from the bot". The template is
repository text: its headings and items are made inert (``rules/inert.py``). Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rules.inert import inert

EXTRA_HEADING = "## Details from the bot"
NOTHING = "Not applicable: the bot has nothing to report for this section."

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_CLOSING = re.compile(r"(?:^|[ \t]+)#+$")
_ITEM = re.compile(r"^\s*[-*+][ \t]+\[([ xX])\][ \t]+(.*\S)\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_WORD = re.compile(r"[a-z]+")
# Items about what only a person knows or does: never ticked by the bot.
UNKNOWABLE = frozenset({"manual", "manually", "screenshot", "screenshots", "changelog", "sign",
                        "signed", "breaking", "migration", "reviewed", "approved", "deployed"})

# The bot's sections and the words of a heading that asks for each (first match wins).
SECTION_WORDS: dict[str, tuple[str, ...]] = {
    "summary": ("summary", "description", "describe", "what", "why", "overview", "context",
                "motivation", "purpose", "about", "background"),
    "tests": ("test", "tests", "testing", "tested", "verification", "verify", "qa"),
    "checks": ("check", "checks", "lint", "linting", "security", "quality", "scan"),
    "changes": ("change", "changes", "changed", "spec", "endpoints", "implementation",
                "details", "scope", "api"),
    "issue": ("issue", "issues", "related", "ticket", "closes", "fixes", "references",
              "links"),
    "usage": ("usage", "cost", "costs", "tokens"),
    "notes": ("notes", "note", "remarks", "comments", "additional", "reviewers"),
}


@dataclass(frozen=True)
class Facts:
    """What the bot can truthfully tick in a checklist."""

    tests_pass: bool = False
    checks_pass: bool = False
    docs_written: bool = False  # a README in the generated files


@dataclass
class Heading:
    level: int
    title: str
    items: list[tuple[bool, str]] = field(default_factory=list)  # (ticked in template, text)


def parse(template: str) -> tuple[list[tuple[bool, str]], list[Heading]]:
    """(checklist items before the first heading, the headings with their items). Lines in
    fenced code are not headings; a heading without a title is not one."""
    preamble: list[tuple[bool, str]] = []
    headings: list[Heading] = []
    fence = ""
    for line in template.split("\n"):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            continue
        if opened:
            fence = opened.group(1)
            continue
        match = _HEADING.match(line)
        title = _CLOSING.sub("", match.group(2) or "").strip() if match else ""
        if match and title:
            headings.append(Heading(len(match.group(1)), title))
            continue
        item = _ITEM.match(line)
        if item:
            (headings[-1].items if headings else preamble).append(
                (item.group(1) != " ", item.group(2)))
    return preamble, headings


def section_for(title: str, taken: set[str]) -> str | None:
    """The bot's section a heading asks for, by its words; None when none matches."""
    words = set(_WORD.findall(title.lower()))
    for name, wanted in SECTION_WORDS.items():
        if name not in taken and words & set(wanted):
            return name
    return None


def tickable(text: str, facts: Facts) -> bool:
    """Whether the bot knows a checklist item to be true (anything it cannot tell stays
    unticked: a person ticks it)."""
    words = set(_WORD.findall(text.lower()))
    if words & UNKNOWABLE:
        return False
    if words & {"test", "tests", "tested", "pytest"}:
        return facts.tests_pass
    if words & {"lint", "linted", "ruff", "mypy", "bandit", "checks", "typed"}:
        return facts.checks_pass
    if words & {"docs", "documentation", "readme", "documented"}:
        return facts.docs_written
    return False


def _items(items: list[tuple[bool, str]], facts: Facts) -> list[str]:
    return [f"- [{'x' if tickable(text, facts) else ' '}] {inert(text)}" for _, text in items]


def fill(template: str, *, head: list[str], sections: dict[str, list[str]], facts: Facts,
         tail: list[str]) -> str | None:
    """The body: ``head`` (the bot's Closes line and marker, its one-line intro), the
    template's headings filled from ``sections`` (name -> lines, already inert), the bot's
    sections no heading took under ``EXTRA_HEADING``, then ``tail``. None when the template
    has no heading (the bot's own body is used then)."""
    preamble, headings = parse(template)
    if not headings:
        return None
    lines = [*head, ""]
    if preamble:
        lines += [*_items(preamble, facts), ""]
    taken: set[str] = set()
    for heading in headings:
        name = section_for(heading.title, taken)
        content = sections.get(name, []) if name else []
        if name and content:
            taken.add(name)
        body = [*content, *_items(heading.items, facts)]
        lines += ["#" * heading.level + " " + inert(heading.title), *(body or [NOTHING]), ""]
    left = [name for name in sections if name not in taken and sections[name]]
    if left:
        lines += [EXTRA_HEADING, ""]
        for name in left:
            lines += [f"### {name.capitalize()}", *sections[name], ""]
    return "\n".join([*lines, *tail])

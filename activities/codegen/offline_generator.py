"""The offline generator: analyze, generate and review from the request's fields, without AI.

It is the key-less twin of the Claude backend (same inputs, same results, ``Backend.OFFLINE``)
and it is pure: the same input gives byte-identical output. Everything it writes says that no
AI model was used. Its parts live in ``activities/codegen/offline/``: ``text`` (untrusted text
made safe), ``operations`` (endpoints as methods, path and query parameters), ``layout``
(names shared by every file), ``client``, ``service``, ``package_tests``, ``docs`` (the files),
``renderers`` (the ``integration type -> renderer`` table that picks which files a request
gets) and ``review`` (the rule-based reviewer).

Issue text is untrusted, and some of it ends up in code and docs. The rules that keep it inert:
identifiers (package, class, method and argument names) come only from a strict ``[a-z0-9_]``
mapping; other text enters Python code only as ``repr`` string literals or as comments made of
printable characters on one line; in Markdown it is escaped or fenced; in JSON/TOML it is
encoded by ``json.dumps``.

It cannot fix its own findings: given findings in files it writes itself, it writes the same
files again, so the workflow sees that a round changed nothing and stops. What it can act on
changes the files visibly: reviewer comments are recorded in ``CHANGES.md`` with a note in the
client's docstring, and a flagged file it does not write itself (carried over from
``previous_files``) is dropped.

It ignores the repository's guidance (``AnalyzeInput.guidance``): its output is fixed by the
request's fields, and a file it could not read as rules must not change it.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from activities.codegen.offline.docs import (
    _finding_text,
    render_changes,
)
from activities.codegen.offline.layout import NO_AI_NOTICE, Layout
from activities.codegen.offline.operations import operations
from activities.codegen.offline.renderers import renderer_for
from activities.codegen.offline.review import review
from activities.codegen.offline.text import (
    comment,
    markdown_code,
    markdown_inline,
    one_line,
    py_literal,
)
from models.codegen import (
    AnalyzeInput,
    AnalyzeResult,
    Backend,
    GeneratedCode,
    GenerateInput,
    ReviewInput,
    ReviewResult,
)

_ATTEMPT = re.compile(r"^## Attempt (\d+) ", re.MULTILINE)
__all__ = ["NO_AI_NOTICE", "OfflineBackend", "analyze", "comment", "generate", "one_line",
           "operations", "py_literal", "review"]


# -- the three steps -----------------------------------------------------------------------------

def analyze(inp: AnalyzeInput) -> AnalyzeResult:
    """Request -> technical spec, from the fields alone (each type's renderer plans its own)."""
    lay = Layout(inp.request, "0.1.0", operations(inp.request))
    return AnalyzeResult(spec=renderer_for(lay).spec(lay), backend=Backend.OFFLINE)


def _revision_note(changes: str) -> str:
    """The client's note of the latest revision recorded in ``CHANGES.md`` (none: none)."""
    attempts = _ATTEMPT.findall(changes)
    return f"\nRevised in attempt {attempts[-1]}; see CHANGES.md.\n" if attempts else ""


def _new_comments(inp: GenerateInput, previous_changes: str) -> list[str]:
    """Reviewer comments not yet recorded in ``CHANGES.md`` (a repeat changes nothing)."""
    return [text for text in inp.reviewer_comments
            if f"- {markdown_inline(text, 300)}\n" not in previous_changes]


def generate(inp: GenerateInput) -> GeneratedCode:
    """Request (+ findings, reviewer comments, previous files) -> the integration's files.

    Findings in the files it writes itself change nothing (it writes them from the request's
    fields alone); a new reviewer comment is recorded, and a flagged file carried over from
    ``previous_files`` is dropped: only those make a revision.
    """
    ops = operations(inp.request, inp.operation_names)
    unrevised = Layout(inp.request, inp.version, ops)
    root = unrevised.root
    changes_path = f"{root}/CHANGES.md"
    owned = set(renderer_for(unrevised).paths(unrevised))
    flagged = {f.path for f in inp.findings if f.severity == "error" and f.path}
    previous_changes = inp.previous_files.get(changes_path, "")
    comments = _new_comments(inp, previous_changes)
    carried: dict[str, str] = {}
    addressed: list[str] = []
    dropped: set[str] = set()
    for path, content in sorted(inp.previous_files.items()):
        inside = PurePosixPath(path).parts[:2] == ("integrations", inp.request.slug)
        if path in owned or path == changes_path or not inside:
            continue
        if path in flagged:
            dropped.add(path)
            addressed.append(f"not written again: {markdown_code(path)} "
                             f"({len([f for f in inp.findings if f.path == path])} finding(s))")
        else:
            carried[path] = content  # a file the generator does not own: kept as it was
    acted_on = bool(comments or addressed)
    changes = previous_changes
    if acted_on:
        open_items = [_finding_text(f) for f in inp.findings
                      if f.severity == "error" and f.path not in dropped]
        section = render_changes(inp.model_copy(update={"reviewer_comments": comments}),
                                 addressed, sorted(set(open_items)))
        history = previous_changes or f"# Changes\n\n{NO_AI_NOTICE}\n\n"
        changes = (history.rstrip("\n") + "\n\n" + section).rstrip("\n") + "\n"
    lay = Layout(inp.request, inp.version, ops, _revision_note(changes))
    files = {**renderer_for(lay).render(lay), **carried}
    if changes:
        files[changes_path] = changes
    summary = (f"{len(files)} files for {lay.service_name} under {root}/ "
               f"(version {inp.version}, attempt {inp.attempt}, {len(lay.ops)} operation(s)"
               + (f", {len(addressed)} flagged file(s) dropped" if addressed else "")
               + (f", {len(comments)} reviewer comment(s) recorded in CHANGES.md"
                  if comments else "")
               + (", nothing it can change for the findings" if inp.findings and not acted_on
                  else "")
               + f"). {NO_AI_NOTICE}")
    return GeneratedCode(files=dict(sorted(files.items())), backend=Backend.OFFLINE,
                         summary=summary)


class OfflineBackend:
    """The three steps behind the same interface as ``ClaudeBackend`` (no key, no cost)."""

    backend = Backend.OFFLINE

    def analyze(self, inp: AnalyzeInput, *, call_key: str | None = None) -> AnalyzeResult:
        """Request -> technical spec."""
        return analyze(inp)

    def generate(self, inp: GenerateInput, *, call_key: str | None = None) -> GeneratedCode:
        """Request + spec (+ findings, reviewer comments, previous files) -> files."""
        return generate(inp)

    def review(self, inp: ReviewInput, *, call_key: str | None = None) -> ReviewResult:
        """Files + automated findings -> summary, inline comments, approve or not."""
        return review(inp)

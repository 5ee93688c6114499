"""Reading a rendered issue-form body: size and encoding first, hidden content cleaned, then
the ``### <Field label>`` sections (headings inside fenced code are text). Never raises."""

from __future__ import annotations

import re

from models.request import FieldProblem
from rules.untrusted_text import clean_untrusted

BODY = "Issue body"
NO_RESPONSE = "_No response_"
MAX_BODY_BYTES = 64 * 1024
_HEADING = re.compile(r"^[ ]{0,3}###[ \t]+(.*?)[ \t]*#*[ \t]*$")
FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})")


def _decode_body(body: object) -> tuple[str, list[FieldProblem]]:
    """The body as text, or the reason it cannot be read. Size is checked before decoding."""
    if body is None:
        return "", []
    if isinstance(body, bytearray | memoryview):
        body = bytes(body)
    if not isinstance(body, str | bytes):
        return "", [FieldProblem(field=BODY, message="the issue body is not text")]
    too_big = FieldProblem(
        field=BODY,
        message=f"the issue body is larger than {MAX_BODY_BYTES // 1024} KiB "
        f"({MAX_BODY_BYTES} bytes); shorten it, keeping only the template's fields",
    )
    if isinstance(body, bytes):
        if len(body) > MAX_BODY_BYTES:
            return "", [too_big]
        try:
            return body.decode("utf-8"), []
        except UnicodeDecodeError:
            return "", [
                FieldProblem(
                    field=BODY,
                    message="the issue body is not valid UTF-8 text; "
                    "edit the issue and paste the text again",
                )
            ]
    if len(body) > MAX_BODY_BYTES or len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        return "", [too_big]
    return body, []


def _label_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def _split_sections(text: str, track_fences: bool) -> tuple[list[tuple[str, str]], bool]:
    """``(normalised heading, value)`` pairs in order; True if a code fence was left open.

    Headings inside fenced code are text, not sections (unless the fence never closes: then
    the caller splits again without fence tracking).
    """
    sections: list[tuple[str, list[str]]] = []
    fence: str | None = None
    for line in text.split("\n"):
        fence_match = FENCE.match(line) if track_fences else None
        if fence is not None:
            closes = fence_match is not None and fence_match.group(1).startswith(fence)
            if closes and not line.strip().strip(fence[0]):
                fence = None
        elif fence_match:
            fence = fence_match.group(1)
        elif heading := _HEADING.match(line):
            sections.append((_label_key(heading.group(1)), []))
            continue
        if sections:
            sections[-1][1].append(line)
    values = [(key, "\n".join(lines).strip()) for key, lines in sections]
    return values, fence is not None


def read_sections(
    body: object, labels: tuple[str, ...]
) -> tuple[dict[str, str], list[FieldProblem]]:
    """Known fields' cleaned values (``_No response_`` -> empty), and any body problems."""
    text, problems = _decode_body(body)
    if problems:
        return {}, problems
    text = clean_untrusted(text)
    pairs, fence_open = _split_sections(text, track_fences=True)
    if fence_open:
        pairs, _ = _split_sections(text, track_fences=False)
    by_key = {_label_key(label): label for label in labels}
    values: dict[str, str] = {}
    counts: dict[str, int] = {}
    for key, value in pairs:
        label = by_key.get(key)
        if label is None:
            continue  # unknown sections are ignored
        counts[label] = counts.get(label, 0) + 1
        values[label] = "" if value == NO_RESPONSE else value
    for label, count in counts.items():
        if count > 1:
            problems.append(
                FieldProblem(
                    field=label,
                    message=f"the section '### {label}' appears {count} times; keep exactly one",
                )
            )
    return values, problems

"""Untrusted text made safe for generated files: one-line text, Python literals, comments and
Markdown (escaped, code spans, fences). Nothing here lets issue text become code."""

from __future__ import annotations

import re
import unicodedata

from rules.untrusted_text import clean_untrusted

MAX_LINE = 99  # generated code stays within ruff's 100 columns


def one_line(text: str, limit: int = 200) -> str:
    """Visible, printable text on one line (newlines and controls gone), at most ``limit``."""
    flat = " ".join(clean_untrusted(text).split())
    flat = "".join(char for char in flat if char.isprintable())
    return flat if len(flat) <= limit else flat[: max(0, limit - 3)].rstrip() + "..."


def _width(text: str) -> int:
    """Columns ``text`` takes (wide East Asian characters take two, as ruff counts them)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _repr(text: str) -> str:
    """``repr(text)``, in double quotes when that needs no escaping."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = f'"{literal[1:-1]}"'
    return literal


def py_literal(text: str, indent: int, used: int) -> str:
    """``text`` as a Python string expression: one ``repr`` if it fits the line (``used``
    columns are taken before it), else a parenthesised run of short ``repr`` pieces."""
    single = _repr(text)
    if used + _width(single) <= MAX_LINE:
        return single
    pieces: list[str] = []
    current = ""
    for char in text:
        if current and _width(_repr(current + char)) > 60:
            pieces.append(_repr(current))
            current = ""
        current += char
    pieces.append(_repr(current))
    pad = " " * (indent + 4)
    return "(\n" + "".join(f"{pad}{piece}\n" for piece in pieces) + " " * indent + ")"


def comment(text: str, indent: int) -> str:
    """A one-line comment holding ``text`` (cleaned, cut to fit), or an empty string."""
    room = MAX_LINE - indent - 2
    body = one_line(text, limit=room)
    while body and _width(body) > room:
        body = body[:-4] + "..."
    return f"{' ' * indent}# {body}\n" if body else ""


def markdown_inline(text: str, limit: int = 200) -> str:
    """One line of untrusted text, with every Markdown/HTML special character escaped."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~&])", r"\\\1", one_line(text, limit))


def markdown_code(text: str, limit: int = 200) -> str:
    """One line of untrusted text as a Markdown code span (backticks removed from it)."""
    return "`" + one_line(text, limit).replace("`", "'") + "`"


def markdown_fenced(text: str, info: str = "text") -> str:
    """Untrusted text shown literally: a fence longer than any backtick run inside it."""
    cleaned = clean_untrusted(text).strip("\n") or "(none given)"
    longest = max((len(run) for run in re.findall(r"`+", cleaned)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{cleaned}\n{fence}\n"

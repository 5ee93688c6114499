"""Cleaning of untrusted issue text before it reaches a model or generated code.

Issue text is written by anyone. What a human sees on GitHub and what a model reads must be
the same text, so this removes every channel that carries text a human does not see:
invisible and control characters, bidi overrides and isolates, Unicode tag characters and
variation selectors (ASCII smuggling), markdown image alt text, link titles, HTML comments,
elements marked ``hidden`` and HTML attributes other than ``href``/``src``. Character
cleaning applies everywhere; the markdown/HTML rules skip fenced code blocks, which GitHub
shows literally. Every pattern is bounded, so a 64 KiB body is cleaned in linear time.
"""

from __future__ import annotations

import re
import unicodedata
from html.entities import html5

__all__ = ["clean_untrusted", "is_invisible_char"]

# Invisible characters that are not in the Cc/Cf/Cs/Co/Cn categories (those are all removed).
_INVISIBLE_EXTRA = frozenset(
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers: render as nothing
    "\u2800"  # braille blank
    "\u034f"  # combining grapheme joiner
)
_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))
_KEPT_CONTROLS = frozenset("\n\t")
_MAX_PASSES = 4  # removing one construct can reveal another; bounded fixpoint

_FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})")
_ENTITY = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,6})|([0-9]{1,7}));?")
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31};)")
_HTML_COMMENT = re.compile(r"<!--(?:.*?-->|.*\Z)", re.DOTALL)
_HIDDEN_ELEMENT = re.compile(
    r"<([a-zA-Z][a-zA-Z0-9-]{0,30})(?:\s[^<>]{0,2000}?)?\shidden(?=[\s=/>])[^<>]{0,2000}>"
    r"(?:.{0,20000}?</\1\s*>|.*\Z)",  # unclosed hidden element hides the rest
    re.DOTALL,
)
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]{0,30})(\s[^<>]{0,2000})?(/?)>")
_KEPT_ATTRIBUTE = re.compile(
    r"""\s(?:href|src)\s*=\s*(?:"[^"<>]{0,2000}"|'[^'<>]{0,2000}'|[^\s"'<>]{1,2000})""",
    re.IGNORECASE,
)
_IMAGE_ALT = re.compile(r"!\[[^\]\n]{0,2000}\]([(\[])")
_LINK_TITLE = re.compile(
    r"""(\]\(\s{0,20}(?:<[^<>\n]{0,2000}>|[^\s()]{0,2000}))"""
    r"""\s{1,20}(?:"[^"]{0,2000}"|'[^']{0,2000}'|\([^()]{0,2000}\))\s{0,20}\)"""
)
_REFERENCE_TITLE = re.compile(
    r"""(?m)^([ ]{0,3}\[[^\]\n]{1,999}\]:[ \t]{0,20}\S{1,2000})"""
    r"""[ \t]{1,20}(?:"[^"\n]{0,2000}"|'[^'\n]{0,2000}'|\([^()\n]{0,2000}\))[ \t]{0,20}$"""
)


def is_invisible_char(char: str) -> bool:
    """True for characters a reader does not see (kept: newline and tab)."""
    if char in _KEPT_CONTROLS:
        return False
    if char in _INVISIBLE_EXTRA:
        return True
    code = ord(char)
    if any(code in block for block in _VARIATION_SELECTORS):
        return True
    # Cc control, Cf format (zero-width, bidi, tags, soft hyphen), Cs lone surrogates,
    # Co private use, Cn unassigned.
    return unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"}


def _strip_chars(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return "".join(char for char in text if not is_invisible_char(char))


def _decode_entity(match: re.Match[str]) -> str:
    """Numeric entities: printable ASCII is decoded, invisible characters are dropped.

    Markup characters stay encoded, so an entity can never build a comment or a tag.
    """
    hex_digits, dec_digits = match.groups()
    code = int(hex_digits, 16) if hex_digits else int(dec_digits)
    if code > 0x10FFFF:
        return ""
    char = chr(code)
    if is_invisible_char(char):
        return ""
    if 0x20 <= code < 0x7F and char not in "<>&\"'":
        return char
    return match.group(0)


def _drop_invisible_named_entity(match: re.Match[str]) -> str:
    """``&zwnj;``, ``&shy;``, ``&lrm;``... render as nothing, so they become nothing."""
    value = html5.get(match.group(1))
    if value and all(is_invisible_char(char) for char in value):
        return ""
    return match.group(0)


def _keep_safe_attributes(match: re.Match[str]) -> str:
    name, attributes, self_closing = match.group(1), match.group(2) or "", match.group(3)
    kept = "".join(m.group(0) for m in _KEPT_ATTRIBUTE.finditer(attributes))
    return f"<{name}{kept}{self_closing}>"


def _clean_markup(text: str) -> str:
    """Markdown/HTML rules for prose (not fenced code, which GitHub shows literally)."""
    text = _TAG.sub(_keep_safe_attributes, text)
    text = _IMAGE_ALT.sub(r"![]\1", text)
    text = _LINK_TITLE.sub(r"\1)", text)
    return _REFERENCE_TITLE.sub(r"\1", text)


def _split_fenced(text: str) -> list[tuple[bool, str]]:
    """Split into (is_code, chunk) pieces at fenced code block boundaries."""
    pieces: list[tuple[bool, str]] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            if current:
                pieces.append((False, "\n".join(current)))
            current, fence = [line], match.group(1)
            continue
        current.append(line)
        closes = (
            fence is not None
            and match is not None
            and match.group(1)[0] == fence[0]
            and len(match.group(1)) >= len(fence)
            and not line.strip().strip(fence[0])
        )
        if closes:
            pieces.append((True, "\n".join(current)))
            current, fence = [], None
    if current or not pieces:
        pieces.append((fence is not None, "\n".join(current)))
    return pieces


def _clean_once(text: str) -> str:
    text = _ENTITY.sub(_decode_entity, text)
    text = _strip_chars(_NAMED_ENTITY.sub(_drop_invisible_named_entity, text))
    # Comments and hidden elements are removed across fences too: on GitHub a comment that
    # opens in prose swallows a fence inside it. Removing a visible one in code is harmless.
    text = _HIDDEN_ELEMENT.sub("", _HTML_COMMENT.sub("", text))
    pieces = _split_fenced(text)
    return "\n".join(chunk if code else _clean_markup(chunk) for code, chunk in pieces)


def clean_untrusted(text: str) -> str:
    """Remove hidden content from untrusted markdown; what is left is what a reader sees."""
    if not isinstance(text, str):
        return ""
    for _ in range(_MAX_PASSES):
        cleaned = _clean_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text

"""Untrusted text made inert where GitHub renders it: issue and pull-request bodies and
comments (Markdown), titles and commit messages (plain text).

A service name, a URL, a finding, a model's review or a reviewer's words may carry a
mention (``@org/team`` notifies a whole team), a closing keyword (``fixes #1`` closes an
issue when the text lands in a merged pull request or a commit), HTML (``<img src=...>``),
or backticks that break the code span they are put in. The bot's own ``Closes #N`` is
written by the bot, never through these functions.

The breaks are a zero-width space written as the entity ``&#8203;`` in Markdown (it renders
as nothing, and nothing GitHub links or notifies matches across it) and a visible, harmless
character in plain text.
"""

from __future__ import annotations

import html
import re

ZERO_WIDTH = "&#8203;"
_MARK, _TICK = "\ue000", "\ue001"  # placeholders (private use) until HTML is escaped
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")
# A closing keyword followed by what it would close: #N, owner/repo#N or an issue's URL.
_KEYWORD = re.compile(r"(?i)\b(close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?=\s*:?\s+(?:#|https?://|"
                      r"[\w.-]+/[\w.-]+#))")
_REFERENCE = re.compile(r"#(?=\d)")
_PLAIN_MENTION = _MENTION


def inert(text: str) -> str:
    """``text`` for Markdown, outside code spans: HTML escaped, mentions and closing keywords
    broken, backticks written as an entity (no code span can start). A bare ``#N`` stays a
    link: it notifies nobody and closes nothing (the bot's own notes name its pull requests
    that way)."""
    text = text.replace(_MARK, "").replace(_TICK, "").replace("`", _TICK)
    text = _MENTION.sub("@" + _MARK, text)
    text = _KEYWORD.sub(lambda m: m.group(1) + _MARK, text)
    text = html.escape(text, quote=False)
    return text.replace(_MARK, ZERO_WIDTH).replace(_TICK, "&#96;")


def code_span(text: str) -> str:
    """``text`` as one inline code span that nothing in it can end early: on one line, and
    fenced by more backticks than its longest run (padded when it starts or ends with one).
    Inside a code span GitHub renders no HTML and notifies no mention."""
    line = " ".join(text.split())
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if line.startswith("`") or line.endswith("`") or not line else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def inert_plain(text: str) -> str:
    """``text`` for a title or a commit message (not Markdown): one line, no angle brackets
    or backticks, mentions and issue references broken by a visible space, a closing
    keyword before what it would close followed by a dash."""
    line = " ".join(text.split()).replace("<", "[").replace(">", "]").replace("`", "'")
    line = _PLAIN_MENTION.sub("@ ", line)
    line = _REFERENCE.sub("# ", line)
    return _KEYWORD.sub(lambda m: m.group(1) + " -", line)

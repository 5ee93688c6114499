"""What may leave a sandboxed test run for a public issue or pull request: bounded text with
anything that looks like a secret or an environment dump taken out.

A test run's output is written by untrusted code; it may print tokens it was never given
(fakes, or real ones leaked some other way) or dump its environment. Failure text reaches
the progress comment and the generator's findings, so it is scrubbed first: known token
shapes, private-key blocks, ``NAME=value`` and ``'NAME': 'value'`` pairs whose name says
secret, and whole environment dumps are replaced by ``[scrubbed]``.
"""

from __future__ import annotations

import re

SCRUBBED = "[scrubbed]"
MAX_TEXT_CHARS = 1_000  # per failure message

_TOKEN_SHAPES = re.compile(
    r"(?:gh[pousr]_[A-Za-z0-9]{16,}"          # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|sk-ant-[A-Za-z0-9_-]{8,}"              # Anthropic
    r"|sk-[A-Za-z0-9_-]{20,}"                 # OpenAI-style keys
    r"|AKIA[0-9A-Z]{16}"                      # AWS access key ids
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"         # Slack
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWTs
    r"|glpat-[A-Za-z0-9_-]{16,})")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE "
                          r"KEY-----|\Z)", re.S)
_SECRET_NAME = (r"[A-Za-z0-9_]*(?:TOKEN|SECRET|PASSW(?:OR)?D|API_?KEY|PRIVATE|CREDENTIAL|AUTH)"  # noqa: S105
                r"[A-Za-z0-9_]*")
_ASSIGNED = re.compile(rf"(?i)\b({_SECRET_NAME})(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;}}]+)")
_QUOTED_PAIR = re.compile(rf"(?i)(['\"]{_SECRET_NAME}['\"]\s*:\s*)(\"[^\"]*\"|'[^']*')")
_AUTH_SCHEME = re.compile(r"(?i)\b(Bearer|Basic|Token|Digest)(\s+)[^\s,;]+")
# An environment dump: os.environ's repr, or a line holding several NAME=value pairs.
_ENVIRON_REPR = re.compile(r"environ\(\{.*?(?:\}\)|\Z)", re.S)  # closed, or cut off
# A dict that holds an environment variable by name (a dump of os.environ, closed or cut).
_ENV_DICT = re.compile(r"\{[^{}]*?['\"](?:PATH|HOME|HOSTNAME|PWD|LANG|SHELL|USER|TERM)['\"]"
                       r"\s*:[^}]*(?:\}|\Z)", re.S)
_ENV_PAIRS = re.compile(r"\b[A-Z][A-Z0-9_]{1,}=[^\s]*")
_ENV_KEYS = re.compile(r"['\"](?:PATH|HOME|HOSTNAME|LANG|PWD|SHELL|USER)['\"]\s*:")


def _environment_dump(line: str) -> bool:
    return len(_ENV_PAIRS.findall(line)) >= 3 or len(_ENV_KEYS.findall(line)) >= 2


def scrub(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` without secret-looking values or environment dumps, at most ``limit``
    characters (cut with a note)."""
    text = _PRIVATE_KEY.sub(SCRUBBED, text)
    text = _ENVIRON_REPR.sub(f"environ({SCRUBBED})", text)
    text = _ENV_DICT.sub("{" + SCRUBBED + " (an environment dump)}", text)
    lines = [SCRUBBED + " (an environment dump)" if _environment_dump(line) else line
             for line in text.splitlines()]
    text = "\n".join(lines)
    text = _TOKEN_SHAPES.sub(SCRUBBED, text)
    text = _AUTH_SCHEME.sub(lambda m: m.group(1) + m.group(2) + SCRUBBED, text)
    text = _QUOTED_PAIR.sub(lambda m: m.group(1) + repr(SCRUBBED), text)
    text = _ASSIGNED.sub(lambda m: m.group(1) + m.group(2) + SCRUBBED, text)
    if len(text) > limit:
        text = text[: limit - 20].rstrip() + " … (cut)"
    return text

"""Who owns a path by the repository's CODEOWNERS, as GitHub reads it: one rule per line
(``pattern owner...``), ``#`` comments, the *last* matching rule wins, patterns in
gitignore style (``*`` within a path segment, ``**`` across segments, a leading ``/`` or a
slash inside anchors to the root, a bare name matches at any depth, a directory matches
everything under it). Owners that are people (``@login``) are kept; teams (``@org/team``)
and e-mail addresses cannot be requested as reviewers by login and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_LINES = 2_000  # GitHub reads CODEOWNERS files up to 3 MB; ours are a few lines
LOGIN_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")  # a GitHub login
LOGIN = re.compile(r"^@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$")


@dataclass(frozen=True)
class OwnerRule:
    pattern: re.Pattern[str]
    owners: tuple[str, ...]  # logins, without "@"


def _regex(pattern: str) -> re.Pattern[str] | None:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    if not body:
        return None
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    # A directory matches all under it; DOTALL and fullmatch: a path may hold any character.
    return re.compile(f"{prefix}{''.join(out)}(?:/.*)?", re.DOTALL)


def parse_codeowners(text: str) -> list[OwnerRule]:
    """The rules of a CODEOWNERS file; lines that are not rules are skipped, never fatal."""
    rules = []
    for line in text.splitlines()[:MAX_LINES]:
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        regex = _regex(parts[0])
        if regex is None:
            continue
        owners = tuple(m[1] for o in parts[1:] if (m := LOGIN.match(o)))
        rules.append(OwnerRule(pattern=regex, owners=owners))
    return rules


def owners_for(rules: list[OwnerRule], paths: Iterable[str]) -> list[str]:
    """The people owning any of ``paths`` (each path's last matching rule), in order."""
    found: dict[str, None] = {}
    for path in paths:
        owners: tuple[str, ...] = ()
        for rule in rules:
            if rule.pattern.fullmatch(path.lstrip("/")):
                owners = rule.owners  # the last match wins, even with no owner
        for login in owners:
            found.setdefault(login, None)
    return list(found)

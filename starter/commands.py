"""Comment commands: ``/approve``, ``/request-changes <text>``, ``/retry``, ``/cancel``,
``/status``, ``/promote <environment> [commit]``, ``/pause [why]``, ``/resume``,
``/deprecate [why]``, ``/approve-plan [revision]``, ``/revise-plan <what to change>``,
``/budget +N``.

A command is the first non-empty line of a comment, starting with ``/``. Anything else in the
comment is ordinary discussion. Parsing never raises: a comment is a command, a command used
wrongly (with the usage to tell the user), or not a command at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from rules.inert import code_span

MAX_CHANGE_TEXT = 20_000


class CommandName(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request-changes"
    RETRY = "retry"
    CANCEL = "cancel"
    STATUS = "status"
    PROMOTE = "promote"
    PAUSE = "pause"
    RESUME = "resume"
    DEPRECATE = "deprecate"
    APPROVE_PLAN = "approve-plan"
    REVISE_PLAN = "revise-plan"
    BUDGET = "budget"


USAGE = (
    "Commands: `/approve`, `/request-changes <what to change>`, `/retry` (after a failure), "
    "`/cancel`, `/status`, `/promote <environment> [commit]`, `/pause [why]`, `/resume`, "
    "`/deprecate [why]`, `/approve-plan <revision>`, `/revise-plan <what to change>`, "
    "`/budget +N` (raise a request's dollar cap by N dollars)."
)
BUDGET_USAGE = ("say how many dollars to add: `/budget +N`, e.g. `/budget +2` or "
                "`/budget +2.50`")
_AMOUNT = re.compile(r"^\+?\$?(\d{1,6}(?:\.\d{1,2})?|\.\d{1,2})$", re.ASCII)


@dataclass(frozen=True)
class Command:
    name: CommandName
    text: str = ""


@dataclass(frozen=True)
class CommandMisuse:
    """A known command used wrongly: ``problem`` says what to do instead."""

    name: CommandName
    problem: str


def parse_command(comment: str | None) -> Command | CommandMisuse | None:
    """The command a comment carries, a misuse, or None for an ordinary comment."""
    if not comment:
        return None
    text = comment.strip()
    if not text.startswith("/"):
        return None
    first, _, rest = text.partition("\n")
    word, _, argument = first.strip().partition(" ")
    try:
        name = CommandName(word[1:].lower())
    except ValueError:
        return None  # another bot's command, or a path: not ours
    argument = (argument.strip() + ("\n" + rest if rest.strip() else "")).strip()
    if name is CommandName.REQUEST_CHANGES:
        if not argument:
            return CommandMisuse(name, "say what to change: `/request-changes <what to change>`")
        if len(argument) > MAX_CHANGE_TEXT:
            return CommandMisuse(
                name, f"the change request is longer than {MAX_CHANGE_TEXT} characters: shorten it"
            )
        return Command(name, argument)
    if name is CommandName.PROMOTE:
        return _promote(argument)
    if name in (CommandName.APPROVE_PLAN, CommandName.REVISE_PLAN):
        return _plan(name, argument)
    if name is CommandName.BUDGET:
        return _budget(argument)
    # /approve keeps its text as the approval's comment, /pause and /deprecate their reason
    # (its first line); the others ignore theirs.
    if name in (CommandName.PAUSE, CommandName.DEPRECATE):
        return Command(name, argument.split("\n", 1)[0][:300])
    return Command(name, argument if name is CommandName.APPROVE else "")


ENVIRONMENTS = ("development", "staging", "production")
_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")


def _promote(argument: str) -> Command | CommandMisuse:
    """``/promote <environment> [commit]``: the text keeps ``environment`` and the commit."""
    words = argument.split("\n", 1)[0].split()
    if not words:
        return CommandMisuse(CommandName.PROMOTE, "say where to: `/promote <environment>` "
                             f"({', '.join(ENVIRONMENTS)})")
    env = words[0].lower()
    if env not in ENVIRONMENTS:
        return CommandMisuse(CommandName.PROMOTE,
                             f"{code_span(words[0][:40])} is not an environment: `/promote "
                             f"<environment>` with one of {', '.join(ENVIRONMENTS)}")
    sha = words[1] if len(words) > 1 else ""
    if sha and not _SHA.match(sha):
        return CommandMisuse(CommandName.PROMOTE, f"{code_span(sha[:40])} is not a commit sha: "
                             "`/promote <environment> <7 to 40 hex digits>`")
    return Command(CommandName.PROMOTE, f"{env} {sha.lower()}".strip())


def _plan(name: CommandName, argument: str) -> Command | CommandMisuse:
    """``/approve-plan [revision]`` keeps the revision's number ("" when not named: the
    comment's own id binds it); ``/revise-plan`` needs the feedback."""
    if name is CommandName.REVISE_PLAN:
        if not argument:
            return CommandMisuse(name, "say what to change in the plan: `/revise-plan <what "
                                       "to change>` (e.g. `GET /path - what` adds an endpoint)")
        if len(argument) > MAX_CHANGE_TEXT:
            return CommandMisuse(name, f"the feedback is longer than {MAX_CHANGE_TEXT} "
                                       "characters: shorten it")
        return Command(name, argument)
    word = (argument.split() or [""])[0].lstrip("#")
    if not re.fullmatch(r"[0-9]{1,9}", word):
        return Command(name, "")  # "/approve-plan looks good": words, not a revision
    if not 0 < int(word) < 1000:
        return CommandMisuse(name, f"{code_span(word)} is not a plan revision: "
                                   "`/approve-plan <revision number>`, e.g. `/approve-plan 2`")
    return Command(name, str(int(word)))


def _budget(argument: str) -> Command | CommandMisuse:
    """``/budget +N`` (also ``N``, ``$N``, ``+$N``; up to 2 decimals): the text keeps the
    amount as ``2.50``. Whether it may raise the cap (the most one raise adds, a run that
    waits) is the workflow's to say."""
    line = argument.split("\n", 1)[0].strip()
    match = _AMOUNT.match(line)
    if match is None:
        shown = f"{code_span(line[:40])} is not an amount: " if line else ""
        return CommandMisuse(CommandName.BUDGET, shown + BUDGET_USAGE)
    amount = Decimal(match.group(1))
    if amount <= 0:
        return CommandMisuse(CommandName.BUDGET, "the raise must be more than $0: " + BUDGET_USAGE)
    return Command(CommandName.BUDGET, f"{amount:.2f}")


MAX_CHANGE_CHARS = 20_000  # ChangeRequest.text's bound, what generation is given
CUT_NOTE = "\n\n[The rest of this change request was cut: it was {n} characters long.]"


def bounded_change(text: str) -> str:
    """A reviewer's text within the change-request bound: cut, with a note saying so."""
    if len(text) <= MAX_CHANGE_CHARS:
        return text
    note = CUT_NOTE.format(n=len(text))
    return text[: MAX_CHANGE_CHARS - len(note)] + note


def named_head(text: str) -> str:
    """The commit ``/approve <sha>`` names (7 to 40 hex digits first in its text), or ""."""
    first = (text.split() or [""])[0].lower()
    return first if re.fullmatch(r"[0-9a-f]{7,40}", first) else ""

"""``MIGRATION.md`` for a breaking update: what broke, and what a caller does about it.

A function of the public-API comparison alone, so the update workflow writes it in its own
code (each round's plan goes on top of the earlier ones).
"""

from __future__ import annotations

from models.update import ApiMember, CompatReport


def migration_plan(slug: str, old_version: str, new_version: str, report: CompatReport,
                   change: str = "") -> str:
    """``MIGRATION.md``: what broke and what a caller does about it."""
    lines = [f"# Migrating {slug} from {old_version} to {new_version}", ""]
    if change:
        lines += ["Why: " + " ".join(change.split())[:500], ""]
    renamed = _renames(report)
    if renamed:
        lines += ["## Renamed", ""]
        lines += [f"- `{old.name}` is now `{new.name}`: replace the name in your calls."
                  for old, new in renamed]
        lines.append("")
    paired = {old.name for old, _ in renamed}
    gone = [m for m in report.removed if m.name not in paired]
    if gone:
        lines += ["## Removed", ""]
        lines += [f"- {m.kind} `{m.name}`: remove its uses or move to the replacement named "
                  "in the pull request." for m in gone]
        lines.append("")
    if report.changed:
        lines += ["## Changed signatures", ""]
        lines += [f"- `{old.name}`: `{old.signature}` -> `{new.signature}`: update the "
                  "arguments of your calls." for old, new in report.changed]
        lines.append("")
    lines += ["## Rolling back", "",
              f"`ccb rollback {slug}` puts {old_version} back behind the switch.", ""]
    return "\n".join(lines)


def _parent(name: str) -> str:
    """What holds a member: ``a.b.C.m`` -> ``a.b.C``, ``POST /operations/x`` -> its folder."""
    cut = max(name.rfind("."), name.rfind("/"))
    return name[:cut] if cut > 0 else ""


def _renames(report: CompatReport) -> list[tuple[ApiMember, ApiMember]]:
    """Removed and added members of the same kind and signature, paired in order."""
    added = list(report.added)
    pairs = []
    for old in report.removed:
        match = next((a for a in added if a.kind == old.kind and a.signature == old.signature
                      and _parent(a.name) == _parent(old.name)), None)
        if match is not None:
            added.remove(match)
            pairs.append((old, match))
    return pairs
